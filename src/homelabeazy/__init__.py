"""homelabeazy: one validated homelab.yaml to a complete homelab-as-code repository."""

__version__ = "0.1.0"
