"""The convergence proof: the whole desired cluster state, built as ArgoCD would, checked

Checked as a cluster would check it.

`state` holds the plain data types (importable from anywhere, even the catalog, as it imports
nothing else of this package's siblings); the builder and the checks import render and ops lazily.
"""
