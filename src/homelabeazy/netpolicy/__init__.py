"""netpolicy."""
