"""Route host names: one rule, used by the checks and the model alike."""

from __future__ import annotations


def route_fqdn(host: str, domain: str) -> str | None:
    """A single label becomes `label.domain`; a dotted name must already end in the domain.

    Returns None when the name lies outside the domain (the check reports it).
    """
    if "." not in host:
        return f"{host}.{domain}"
    if host == domain or host.endswith("." + domain):
        return host
    return None
