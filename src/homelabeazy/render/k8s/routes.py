"""Every route: a Traefik IngressRoute on websecure with a cert-manager Certificate for its host.

Protected routes go through the Authelia forwardAuth Middleware, which lives in Authelia's
namespace (Traefik's cross-namespace references are switched on for exactly this).
"""

from __future__ import annotations

from typing import Any

from homelabeazy.model import Homelab, Route
from homelabeazy.render.k8s.objects import (
    CLUSTER_ISSUER_ACME,
    CLUSTER_ISSUER_CA,
    Manifest,
    host_name,
    meta,
    obj,
)

AUTH_MIDDLEWARE = "authelia"
TRAEFIK_INTERNAL = "api@internal"


def cluster_issuer(homelab: Homelab) -> str:
    """The ClusterIssuer every route's certificate comes from."""
    issuer = homelab.config.services.cert_manager.issuer
    return CLUSTER_ISSUER_ACME if issuer == "acme" else CLUSTER_ISSUER_CA


def auth_middleware_ref(homelab: Homelab) -> dict[str, str]:
    """The reference a protected route's IngressRoute carries."""
    entry = homelab.service("authelia")
    if entry is None:
        raise ValueError("a protected route needs Authelia; the config checks should have refused this")
    return {"name": AUTH_MIDDLEWARE, "namespace": entry.namespace}


def certificate(homelab: Homelab, route: Route) -> Manifest:
    """The Certificate whose Secret the route's TLS uses."""
    name = host_name(route.host)
    return obj(
        "cert-manager.io/v1",
        "Certificate",
        meta(name, route.namespace),
        spec={
            "secretName": f"{name}-tls",
            "dnsNames": [route.host],
            "issuerRef": {
                "group": "cert-manager.io",
                "kind": "ClusterIssuer",
                "name": cluster_issuer(homelab),
            },
        },
    )


def ingress_route(homelab: Homelab, route: Route) -> Manifest:
    """The IngressRoute: Host() match on websecure, Authelia in front when protected."""
    rule: dict[str, Any] = {"kind": "Rule", "match": f"Host(`{route.host}`)"}
    if route.protected:
        rule["middlewares"] = [auth_middleware_ref(homelab)]
    if route.backend == TRAEFIK_INTERNAL:
        rule["services"] = [{"kind": "TraefikService", "name": TRAEFIK_INTERNAL}]
    else:
        rule["services"] = [{"name": route.backend, "port": route.port}]
    name = host_name(route.host)
    return obj(
        "traefik.io/v1alpha1",
        "IngressRoute",
        meta(name, route.namespace),
        spec={"entryPoints": ["websecure"], "routes": [rule], "tls": {"secretName": f"{name}-tls"}},
    )


def route_manifests(homelab: Homelab, owner: str, kind: str) -> list[Manifest]:
    """Certificate + IngressRoute for each route `owner` has, in route order."""
    documents: list[Manifest] = []
    for route in homelab.routes:
        if route.owner == owner and route.kind == kind:
            documents += [certificate(homelab, route), ingress_route(homelab, route)]
    return documents
