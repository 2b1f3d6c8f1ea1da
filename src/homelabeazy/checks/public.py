"""Semantic checks about publishing routes on the internet (Cloudflare DNS and tunnel).

A route is public only when its app says `public: true`; everything else stays on the LAN.
"""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.checks.base import Finding, check
from homelabeazy.config.schema import HomelabConfig


@check("public-route-sso")
def public_routes_keep_sso(config: HomelabConfig) -> Iterator[Finding]:
    """A public route with no login at all must be meant: `public_without_sso: true` says so."""
    for index, app in enumerate(config.apps):
        if app.public and app.access == "public" and not app.public_without_sso:
            yield Finding(
                ("apps", index, "public"),
                f"app {app.name} would be on the internet with no login (access: public)",
                "give it access: one_factor/two_factor/group, or set public_without_sso: true if "
                "anyone on the internet may open it",
            )


@check("public-route-host")
def public_routes_have_a_host(config: HomelabConfig) -> Iterator[Finding]:
    """`public: true` publishes the app's route; an app without `host` has none."""
    for index, app in enumerate(config.apps):
        if app.public and app.host is None:
            yield Finding(
                ("apps", index, "public"),
                f"app {app.name} has no host, so there is no route to publish",
                "give it a host, or drop public: true",
            )


@check("public-routes-need-cloudflare")
def public_routes_need_the_tunnel(config: HomelabConfig) -> Iterator[Finding]:
    """A public route needs both its DNS record (external-dns) and its way in (the tunnel)."""
    services = config.services
    missing = [
        f"services.{name}"
        for name, on in (
            ("external_dns", services.external_dns.enabled),
            ("cloudflare_tunnel", services.cloudflare_tunnel.enabled),
        )
        if not on
    ]
    if not missing:
        return
    verb = "is" if len(missing) == 1 else "are"
    for index, app in enumerate(config.apps):
        if app.public:
            yield Finding(
                ("apps", index, "public"),
                f"app {app.name} is public but {' and '.join(missing)} {verb} off",
                "enable services.external_dns and services.cloudflare_tunnel, or drop public: true",
            )


@check("cloudflare-tunnel")
def tunnel_is_complete(config: HomelabConfig) -> Iterator[Finding]:
    """The tunnel needs its id (the records' target); external-dns publishes only through it."""
    services = config.services
    if services.cloudflare_tunnel.enabled and services.cloudflare_tunnel.tunnel_id is None:
        yield Finding(
            ("services", "cloudflare_tunnel", "enabled"),
            "the Cloudflare tunnel has no tunnel_id",
            "create the tunnel in the Cloudflare dashboard and copy its UUID into tunnel_id",
        )
    if services.external_dns.enabled and not services.cloudflare_tunnel.enabled:
        yield Finding(
            ("services", "external_dns", "enabled"),
            "external-dns publishes CNAMEs to the Cloudflare tunnel, which is off",
            "enable services.cloudflare_tunnel (no LAN address is ever published directly)",
        )
    if services.cloudflare_tunnel.enabled and not services.traefik.enabled:
        yield Finding(
            ("services", "cloudflare_tunnel", "enabled"),
            "the tunnel forwards into Traefik, which is off",
            "enable services.traefik",
        )
