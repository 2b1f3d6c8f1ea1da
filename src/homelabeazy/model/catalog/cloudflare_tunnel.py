"""cloudflared: a remotely-managed Cloudflare tunnel, opened from inside the cluster into Traefik.

The tunnel's public hostnames live at Cloudflare (remote configuration), not in this repo; what
reaches the tunnel is decided by the DNS records external-dns publishes (public routes only).
Requests enter Traefik like LAN ones, so Authelia still guards every protected route.
"""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.needs import Clients, FlowNeed
from homelabeazy.desired.outcomes import Outcome, confined, env_from_secret, runs
from homelabeazy.desired.state import DesiredState
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.service import ChartPin, OutsideName, OwnedValue, SecretSpec, ServiceEntry

CHART = ChartPin("https://cloudflare.github.io/helm-charts", "cloudflare-tunnel-remote", "0.1.2")
TOKEN_PATH = "cloudflare-tunnel/token"  # noqa: S105 - a name, not a secret
TOKEN_KEY = "tunnel_token"  # noqa: S105 - a name, not a secret
EDGE_HOST = "region1.v2.argotunnel.com"
"""One of the edge addresses cloudflared connects to (QUIC on UDP, HTTP/2 on TCP, port 7844)."""
EDGE_PORT = 7844
API_HOST = "api.cloudflare.com"
"""Cloudflare's API (HTTPS), which cloudflared also calls."""
TRAEFIK_SERVICE = "traefik.traefik.svc"
"""The origin for every public hostname of the tunnel (its HTTPS entry point)."""


OWNED_VALUES: tuple[OwnedValue, ...] = (
    OwnedValue(
        ("fullnameOverride",), "the ExternalSecret merges the tunnel token into the Secret of that name"
    ),
    OwnedValue(("cloudflare", "tunnel_token"), "the tunnel token comes from Vault through External Secrets"),
)
"""Chart values the homelab depends on: `services.cloudflare_tunnel.values` may not set them."""


def entry(config: HomelabConfig) -> ServiceEntry:  # noqa: ARG001 - uniform catalog signature
    """The tunnel token comes from the Cloudflare dashboard, so it is external."""
    return ServiceEntry(
        name="cloudflare_tunnel",
        title="Cloudflare tunnel",
        namespace="cloudflare-tunnel",
        chart=CHART,
        owned_values=OWNED_VALUES,
        description="Outbound tunnel from Cloudflare's edge into Traefik for the public routes",
        secrets=(
            SecretSpec(TOKEN_PATH, (TOKEN_KEY,), "cloudflared", "token of the Cloudflare tunnel", "external"),
        ),
        depends_on=("external_secrets", "traefik"),
        reaches=(
            OutsideName(
                EDGE_HOST, EDGE_PORT, ("services", "cloudflare_tunnel", "enabled"), "cloudflared (edge)"
            ),
            OutsideName(API_HOST, 443, ("services", "cloudflare_tunnel", "enabled"), "cloudflared (API)"),
        ),
    )


CLOUDFLARED_LABELS = {"pod": "cloudflared"}
"""The chart's pod label (its Deployment selects on it)."""


def flow_needs(state: DesiredState, homelab: Homelab) -> Iterator[FlowNeed]:  # noqa: ARG001
    """Out to the edge on 7844 (UDP and TCP) and the API on 443; in to Traefik's HTTPS port."""
    clients = Clients(entry(homelab.config).namespace, CLOUDFLARED_LABELS, "cloudflared")
    yield FlowNeed(clients, EDGE_HOST, EDGE_PORT, "tunnel to Cloudflare's edge (QUIC)", protocol="UDP")
    yield FlowNeed(clients, EDGE_HOST, EDGE_PORT, "tunnel to Cloudflare's edge (HTTP/2)")
    yield FlowNeed(clients, API_HOST, 443, "Cloudflare API")
    if homelab.config.services.traefik.enabled:
        yield FlowNeed(clients, TRAEFIK_SERVICE, "websecure", "public requests into Traefik")


# ---------------------------------------------------------------------------------- outcomes

CONNECTOR = "cloudflared"
"""The chart's Deployment and Secret (`fullnameOverride`); External Secrets merges the token in."""
TOKEN_ENV = "TUNNEL_TOKEN"  # noqa: S105 - a name, not a secret


def outcomes(homelab: Homelab) -> Iterator[Outcome]:  # noqa: ARG001 - a hook's signature
    """The tunnel opens with the token kept in Vault."""
    yield env_from_secret(
        "Deployment",
        CONNECTOR,
        (TOKEN_ENV,),
        CONNECTOR,
        what="cloudflared's tunnel token (merged into the chart's Secret by External Secrets)",
    )
    yield runs("Deployment", CONNECTOR, what="cloudflared")
    yield confined()
