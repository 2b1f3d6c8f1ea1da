"""cert-manager: a self-signed root -> CA Certificate -> CA ClusterIssuer chain, and ACME DNS-01.

The private CA is always there: it signs the certificates services serve inside the cluster
(render/k8s/internal_tls.py), and the routes' certificates too unless `issuer: acme`.
"""

from __future__ import annotations

from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.model.service import ServiceEntry, secret_name
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.objects import CLUSTER_ISSUER_ACME, CLUSTER_ISSUER_CA, Manifest, meta, obj
from homelabeazy.render.k8s.services.common import new_bundle, secret_spec, synced_secret
from homelabeazy.render.k8s.waves import AFTER_WEBHOOK, WAVE_ANNOTATION

SELF_SIGNED = "selfsigned"
DNS_SECRET_PATH = "cert-manager/dns"  # noqa: S105 - a Vault path


def _wave(step: int) -> dict[str, str]:
    """Each link of the CA chain waits for the one before (and all for the webhook)."""
    return {WAVE_ANNOTATION: str(AFTER_WEBHOOK + step)}


def internal_ca(homelab: Homelab, namespace: str) -> list[Manifest]:
    """The CA key never leaves the cluster: cert-manager makes it and keeps it in a Secret."""
    return [
        obj(
            "cert-manager.io/v1",
            "ClusterIssuer",
            meta(SELF_SIGNED, annotations=_wave(0)),
            spec={"selfSigned": {}},
        ),
        obj(
            "cert-manager.io/v1",
            "Certificate",
            meta(CLUSTER_ISSUER_CA, namespace, annotations=_wave(1)),
            spec={
                "isCA": True,
                "commonName": f"{homelab.domain} homelab CA",
                "secretName": CLUSTER_ISSUER_CA,
                "duration": "87600h",
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": SELF_SIGNED},
            },
        ),
        obj(
            "cert-manager.io/v1",
            "ClusterIssuer",
            meta(CLUSTER_ISSUER_CA, annotations=_wave(2)),
            spec={"ca": {"secretName": CLUSTER_ISSUER_CA}},
        ),
    ]


def acme(homelab: Homelab, entry: ServiceEntry) -> list[Manifest]:
    """Let's Encrypt with the DNS provider's credentials from Vault."""
    settings = homelab.config.services.cert_manager.acme
    if settings is None:  # the schema requires acme settings with issuer: acme
        raise ValueError("cert_manager.acme is missing")
    secret = secret_name(secret_spec(entry, DNS_SECRET_PATH))
    solver: dict[str, Any]
    if settings.dns_provider == "cloudflare":
        solver = {"cloudflare": {"apiTokenSecretRef": {"name": secret, "key": "api_token"}}}
    else:
        solver = {
            "route53": {
                "region": "us-east-1",
                "accessKeyIDSecretRef": {"name": secret, "key": "access_key_id"},
                "secretAccessKeySecretRef": {"name": secret, "key": "secret_access_key"},
            }
        }
    return [
        synced_secret(entry, DNS_SECRET_PATH),
        obj(
            "cert-manager.io/v1",
            "ClusterIssuer",
            meta(CLUSTER_ISSUER_ACME),
            spec={
                "acme": {
                    "email": settings.email,
                    "server": settings.server,
                    "privateKeySecretRef": {"name": f"{CLUSTER_ISSUER_ACME}-account"},
                    "solvers": [{"dns01": solver, "selector": {"dnsZones": [homelab.domain]}}],
                }
            },
        ),
    ]


def bundle(homelab: Homelab, entry: ServiceEntry) -> Bundle:
    """ACME needs HTTPS to the CA and DNS to check the challenge record has propagated.

    The CA chain is a stem of its own (not a deferrable `issuers`): it needs nothing but
    cert-manager, so it syncs with it even when the ACME issuer waits for External Secrets.
    """
    use_acme = homelab.config.services.cert_manager.issuer == "acme"
    needs = Needs(api=True, webhook=True, internet_ports=(53, 443) if use_acme else ())
    result = new_bundle(entry, needs)
    result.values = {"crds": {"enabled": True, "keep": True}, "prometheus": {"enabled": True}}
    result.add("ca", *internal_ca(homelab, entry.namespace))
    if use_acme:
        result.add("issuers", *acme(homelab, entry))
    return result
