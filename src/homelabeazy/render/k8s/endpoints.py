"""In-cluster addresses of the core services: computed here once, read by every consumer.

They follow from the release names the Applications set (`fullnameOverride` where a chart would
otherwise prefix the release), so a renamed release changes exactly one line.
"""

from __future__ import annotations

from homelabeazy.model import Homelab
from homelabeazy.model.catalog.efk import ELASTICSEARCH_HTTP_SERVICE

CLUSTER_DOMAIN = "cluster.local"


def service_dns(service: str, namespace: str) -> str:
    """`<service>.<namespace>.svc.cluster.local`."""
    return f"{service}.{namespace}.svc.{CLUSTER_DOMAIN}"


def service_svc_name(service: str, namespace: str) -> str:
    """`<service>.<namespace>.svc`: resolves through the pod's DNS search path, and is the form
    operators that issue their own certificates (ECK) put in them."""
    return f"{service}.{namespace}.svc"


def _namespace(homelab: Homelab, name: str) -> str:
    entry = homelab.service(name)
    if entry is None:
        raise ValueError(f"{name} is disabled; the config checks should have refused this")
    return entry.namespace


def openldap_url(homelab: Homelab) -> str:
    """LDAP URL Authelia binds to."""
    return f"ldap://{service_dns('openldap', _namespace(homelab, 'openldap'))}:389"


def vault_url(homelab: Homelab) -> str:
    """The active Vault member (the chart's `vault-active` Service follows the raft leader)."""
    return f"http://{service_dns('vault-active', _namespace(homelab, 'vault'))}:8200"


def authelia_authz_url(homelab: Homelab) -> str:
    """Authelia's forward-auth endpoint for Traefik."""
    return f"http://{service_dns('authelia', _namespace(homelab, 'authelia'))}/api/authz/forward-auth"


def elasticsearch_host(homelab: Homelab) -> str:
    """The ECK Elasticsearch HTTP Service, by a name its self-signed certificate carries (clients
    verify it, so `….svc.cluster.local` would fail the TLS handshake)."""
    return service_svc_name(ELASTICSEARCH_HTTP_SERVICE, _namespace(homelab, "efk"))
