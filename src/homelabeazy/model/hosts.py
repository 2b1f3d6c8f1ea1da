"""Host names: one rule each, used by the checks and the model alike."""

from __future__ import annotations

API_PORT = 6443
"""The Kubernetes API's port on the VIP and on every server."""
HTTPS_PORT = 443
"""Traefik's websecure entry point, where every route is served."""
SSH_PORT = 22


def route_fqdn(host: str, domain: str) -> str | None:
    """A single label becomes `label.domain`; a dotted name must already end in the domain.

    Returns None when the name lies outside the domain (the check reports it).
    """
    if "." not in host:
        return f"{host}.{domain}"
    if host == domain or host.endswith("." + domain):
        return host
    return None


def record_fqdn(name: str, domain: str) -> str:
    """A declared record's name (`network.dns_records`): a label joins the domain, a dotted name is
    taken as written (it may lie outside the domain: a resolver answers any name it is given)."""
    return f"{name}.{domain}" if "." not in name else name


def in_domain(name: str, domain: str) -> bool:
    """Whether `name` is the domain or a name under it."""
    name, domain = name.lower().rstrip("."), domain.lower().rstrip(".")
    return name == domain or name.endswith("." + domain)


def api_host(domain: str) -> str:
    """The Kubernetes API's name (kube-vip's VIP answers it; the K3s certificate carries it)."""
    return f"k3s.{domain}"


def node_fqdn(name: str, domain: str) -> str:
    """A node VM's name in DNS (cloud-init sets it; the LAN records answer it)."""
    return f"{name}.{domain}"
