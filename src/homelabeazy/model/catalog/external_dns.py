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
from homelabeazy.desired.outcomes import Outcome, confined, env_from_secret, flags_hold, runs
from homelabeazy.desired.state import DesiredState
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.service import (
    ChartPin,
    OutsideName,
    OwnedValue,
    SecretSpec,
    ServiceEntry,
    secret_name,
)

CHART = ChartPin("https://kubernetes-sigs.github.io/external-dns/", "external-dns", "1.21.1")
TOKEN_PATH = "external-dns/cloudflare"  # noqa: S105 - a name, not a secret
TOKEN_KEY = "api_token"  # noqa: S105 - a name, not a secret
TOKEN_ENV = "CF_API_TOKEN"  # noqa: S105 - a name, not a secret
"""The variable the cloudflare provider reads its API token from."""
TXT_OWNER = "homelabeazy"
"""The owner id of the TXT registry: external-dns touches only records it marked with it."""
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


# ---------------------------------------------------------------------------------- outcomes

CONTROLLER = "external-dns"
NARROWING_ONLY = ("regex-domain-filter", "regex-domain-exclusion", "label-filter", "annotation-filter")
"""Flags that replace the domain filter with a pattern of their own, or hide the homelab's
DNSEndpoints from it."""


def outcomes(homelab: Homelab) -> Iterator[Outcome]:
    """Only the public routes, only in the homelab's zone, only records it owns."""
    token = secret_name(next(s for s in entry(homelab.config).secrets if s.path == TOKEN_PATH))
    yield flags_hold(
        "Deployment",
        CONTROLLER,
        CONTROLLER,
        {
            "provider": ("cloudflare",),
            "source": ("crd",),
            "domain-filter": (homelab.domain,),
            "registry": ("txt",),
            "txt-owner-id": (TXT_OWNER,),
            "policy": ("sync",),
            "cloudflare-proxied": ("true",),
        },
        forbidden=NARROWING_ONLY,
        what=f"external-dns publishes only the homelab's DNSEndpoints, only in {homelab.domain}, only "
        f"records it owns ({TXT_OWNER}), proxied, and removes those of routes that stop being public",
    )
    yield env_from_secret(
        "Deployment", CONTROLLER, (TOKEN_ENV,), token, what="external-dns' Cloudflare API token"
    )
    yield runs("Deployment", CONTROLLER, what="external-dns")
    yield confined()
