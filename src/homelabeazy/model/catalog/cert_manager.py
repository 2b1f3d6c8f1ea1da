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
        secrets = (
            SecretSpec(
                "cert-manager/dns",
                ("api_token",),
                "cert_manager",
                f"{cm.acme.dns_provider} API token for DNS-01",
                "external",
            ),
        )
    return ServiceEntry(
        name="cert_manager",
        title="cert-manager",
        namespace="cert-manager",
        chart=CHART,
        wave=1,
        description="TLS certificates for every route",
        secrets=secrets,
    )
