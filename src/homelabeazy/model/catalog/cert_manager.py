"""cert-manager: issues every route's certificate (internal CA, or ACME DNS-01)."""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.catalog.base import ChartPin, SecretSpec, ServiceEntry

CHART = ChartPin("https://charts.jetstack.io", "cert-manager", "v1.19.1")


def entry(config: HomelabConfig) -> ServiceEntry:
    """The ACME DNS provider token is the only secret, and only with `issuer: acme`."""
    cm = config.services.cert_manager
    secrets: tuple[SecretSpec, ...] = ()
    if cm.issuer == "acme" and cm.acme is not None:
        # Cloudflare takes one API token; Route 53 an access key pair.
        keys = (
            ("api_token",) if cm.acme.dns_provider == "cloudflare" else ("access_key_id", "secret_access_key")
        )
        secrets = (
            SecretSpec(
                "cert-manager/dns",
                keys,
                "cert_manager",
                f"{cm.acme.dns_provider} credentials for DNS-01",
                "external",
            ),
        )
    return ServiceEntry(
        name="cert_manager",
        title="cert-manager",
        namespace="cert-manager",
        chart=CHART,
        crd_groups=("cert-manager.io", "acme.cert-manager.io"),
        description="TLS certificates for every route",
        secrets=secrets,
    )
