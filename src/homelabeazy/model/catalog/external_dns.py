"""external-dns: the `public: true` routes as records in the Cloudflare zone of the domain.

Its source is `crd`: one DNSEndpoint per public route, rendered from the model, not the Traefik
IngressRoutes (the `traefik-proxy` source would publish every route, and only an annotation filter
would keep the private ones out). Every record is a proxied CNAME to the Cloudflare tunnel, so
no LAN address is ever published.
"""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.needs import Clients, FlowNeed
from homelabeazy.desired.state import DesiredState
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.service import ChartPin, OutsideName, OwnedValue, SecretSpec, ServiceEntry

CHART = ChartPin("https://kubernetes-sigs.github.io/external-dns/", "external-dns", "1.21.1")
TOKEN_PATH = "external-dns/cloudflare"  # noqa: S105 - a name, not a secret
TOKEN_KEY = "api_token"  # noqa: S105 - a name, not a secret
CLOUDFLARE_API = "api.cloudflare.com"
"""Cloudflare's API, which the cloudflare provider calls over HTTPS."""


OWNED_VALUES: tuple[OwnedValue, ...] = (
    OwnedValue(("provider",), "the public routes are published at Cloudflare"),
    OwnedValue(("sources",), "it publishes the DNSEndpoints homelabeazy renders for the public routes"),
    OwnedValue(("domainFilters",), "it may only touch the homelab's domain", "set it through domain instead"),
    OwnedValue(("env",), "the Cloudflare API token comes from Vault"),
)
"""Chart values the homelab depends on: `services.external_dns.values` may not set them."""


def entry(config: HomelabConfig) -> ServiceEntry:  # noqa: ARG001 - uniform catalog signature
    """The API token is the user's (made in the Cloudflare dashboard), so it is external."""
    return ServiceEntry(
        name="external_dns",
        title="external-dns",
        namespace="external-dns",
        chart=CHART,
        owned_values=OWNED_VALUES,
        crd_groups=("externaldns.k8s.io",),
        description="Public DNS records at Cloudflare for the public routes",
        secrets=(
            SecretSpec(
                TOKEN_PATH,
                (TOKEN_KEY,),
                "external-dns",
                "Cloudflare API token (Zone:Read, DNS:Edit on the zone)",
                "external",
            ),
        ),
        depends_on=("external_secrets", "cloudflare_tunnel"),
        reaches=(OutsideName(CLOUDFLARE_API, 443, ("services", "external_dns", "enabled"), "external-dns"),),
    )


CONTROLLER_LABELS = {"app.kubernetes.io/name": "external-dns"}


def flow_needs(state: DesiredState, homelab: Homelab) -> Iterator[FlowNeed]:  # noqa: ARG001
    """The controller writes the records through Cloudflare's API."""
    clients = Clients(entry(homelab.config).namespace, CONTROLLER_LABELS, "external-dns")
    yield FlowNeed(clients, CLOUDFLARE_API, 443, "DNS records at Cloudflare", tls_verify=False)
