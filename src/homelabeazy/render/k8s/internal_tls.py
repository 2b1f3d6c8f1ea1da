"""TLS inside the cluster: certificates from the homelab's own CA, and that CA for the clients.

cert-manager keeps a private CA (render/k8s/services/cert_manager.py: a self-signed root and the
`homelab-ca` ClusterIssuer), whatever issues the routes' certificates. A server gets a Certificate
naming its Service, issued by that CA; a client in another namespace gets the CA certificate as a
Secret of its own namespace: the `ca.crt` of a Certificate the same CA issues there. cert-manager
writes the issuing CA into `ca.crt` of every certificate a CA issuer signs, so that key is the
trust anchor; the client mounts only that key, never the key pair beside it. (trust-manager would
distribute the CA without a key pair, but it is one more chart to run; this needs none.)
"""

from __future__ import annotations

from homelabeazy.render.k8s.endpoints import CLUSTER_DOMAIN
from homelabeazy.render.k8s.objects import CLUSTER_ISSUER_CA, Manifest, meta, obj

CA_KEY = "ca.crt"
"""The key of a cert-manager Secret holding the CA that signed its certificate."""
CA_TRUST = "homelab-ca-trust"
"""Certificate and Secret, in a client's namespace, that carry the CA certificate there."""
SERVER_DURATION = "17520h"
"""Two years: the chart of a server may read its certificate only when its pod starts."""
SERVER_RENEW_BEFORE = "8760h"
"""Renewed a year before it expires, so any restart within that year serves the new one
while the old one is still valid."""


def service_names(service: str, namespace: str) -> list[str]:
    """Every name cluster DNS answers for a Service, longest first: what its certificate carries."""
    return [
        f"{service}.{namespace}.svc.{CLUSTER_DOMAIN}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}",
        service,
    ]


def _issuer() -> dict[str, str]:
    return {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": CLUSTER_ISSUER_CA}


def server_certificate(name: str, namespace: str, dns_names: list[str]) -> Manifest:
    """A server certificate for `dns_names` from the homelab CA, kept in Secret `name`."""
    return obj(
        "cert-manager.io/v1",
        "Certificate",
        meta(name, namespace),
        spec={
            "secretName": name,
            "dnsNames": dns_names,
            "duration": SERVER_DURATION,
            "renewBefore": SERVER_RENEW_BEFORE,
            "privateKey": {"algorithm": "ECDSA", "size": 256},
            "usages": ["server auth", "digital signature"],
            "issuerRef": _issuer(),
        },
    )


def ca_trust(namespace: str) -> Manifest:
    """The homelab CA's certificate in `namespace` (key `ca.crt` of Secret CA_TRUST).

    The leaf beside it names nothing and is never mounted: a Certificate needs a subject, and this
    one exists only for the `ca.crt` cert-manager writes with it.
    """
    return obj(
        "cert-manager.io/v1",
        "Certificate",
        meta(CA_TRUST, namespace),
        spec={
            "secretName": CA_TRUST,
            "commonName": namespace,
            "privateKey": {"algorithm": "ECDSA", "size": 256},
            "usages": ["client auth", "digital signature"],
            "issuerRef": _issuer(),
        },
    )


def ca_volume(name: str, secret: str, file_name: str) -> dict[str, object]:
    """A pod volume holding only the CA certificate of `secret` (as `file_name`), not its key pair."""
    return {"name": name, "secret": {"secretName": secret, "items": [{"key": CA_KEY, "path": file_name}]}}
