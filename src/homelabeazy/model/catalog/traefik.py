"""Traefik: the one ingress, on a fixed LoadBalancer IP, HTTP redirected to HTTPS."""

from __future__ import annotations

import re
from collections.abc import Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.needs import Clients, FlowNeed, need_from_url
from homelabeazy.desired.outcomes import Outcome, confined, flags_hold, runs, service_shape
from homelabeazy.desired.selectors import as_list, dig
from homelabeazy.desired.state import DesiredObject, DesiredState
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.service import ChartPin, MetricsSpec, OwnedValue, RouteSpec, ServiceEntry

CHART = ChartPin("https://traefik.github.io/charts", "traefik", "41.3.0")


OWNED_VALUES: tuple[OwnedValue, ...] = (
    OwnedValue(
        ("deployment", "replicas"),
        "it has its own key",
        "set it through services.traefik.replicas instead",
    ),
    OwnedValue(
        ("service", "annotations", "metallb.io/loadBalancerIPs"),
        "every route's name resolves to this address (pfSense, docs, the DNS gateway)",
        "set it through services.traefik.loadbalancer_ip instead",
    ),
    OwnedValue(("ports", "web", "port"), "the NetworkPolicies open Traefik's container port 8000 (web)"),
    OwnedValue(
        ("ports", "websecure", "port"), "the NetworkPolicies open Traefik's container port 8443 (websecure)"
    ),
    OwnedValue(
        ("ports", "web", "http", "redirections"),
        "every route is served on websecure; web only redirects to it",
    ),
    OwnedValue(
        ("providers", "kubernetesCRD"),
        "every route is an IngressRoute naming Services and the SSO Middleware in other namespaces",
    ),
)
"""Chart values the homelab depends on: `services.traefik.values` may not set them."""


def entry(config: HomelabConfig) -> ServiceEntry:
    """The dashboard is admin-only behind Authelia."""
    return ServiceEntry(
        name="traefik",
        title="Traefik",
        namespace="traefik",
        chart=CHART,
        owned_values=OWNED_VALUES,
        crd_groups=("traefik.io", "hub.traefik.io"),
        description="Ingress controller in front of every route",
        routes=(
            RouteSpec(
                config.services.traefik.dashboard_host,
                "api@internal",
                0,
                "group",
                ("admins",),
                "dashboard_host",
            ),
        ),
        depends_on=("metallb", "cert_manager"),
        metrics=(METRICS,),
    )


METRICS = MetricsSpec(
    "metrics",
    (("app.kubernetes.io/name", "traefik"), ("app.kubernetes.io/component", "metrics")),
    "metrics",
)
"""The chart's metrics Service (`metrics.prometheus.service.enabled`), port 9100 on the proxy pods."""


CROSS_NAMESPACE_ARG = "--providers.kubernetescrd.allowcrossnamespace=true"
"""Without it Traefik ignores an IngressRoute's Service or Middleware in another namespace."""


def allows_cross_namespace(state: DesiredState) -> bool:
    """Whether the Traefik the state deploys lets IngressRoutes name objects of other namespaces
    (the chart passes `providers.kubernetesCRD.allowCrossNamespace` as a container argument)."""
    for deployment in state.of_kind("Deployment", "apps"):
        for container in as_list(dig(deployment.doc, "spec", "template", "spec", "containers")):
            args = [str(a).lower() for a in as_list(dig(container, "args"))]
            if CROSS_NAMESPACE_ARG in args:
                return True
    return False


PROXY_LABELS = {"app.kubernetes.io/name": "traefik"}
"""The chart's proxy pods: they open every connection to a route's backend and to forwardAuth."""


def flow_needs(state: DesiredState, homelab: Homelab) -> Iterator[FlowNeed]:
    """Every IngressRoute's Services (their Service port) and every forwardAuth address."""
    clients = Clients(entry(homelab.config).namespace, PROXY_LABELS, "Traefik")
    for route in state.of_kind("IngressRoute", "traefik.io"):
        for rule in (route.doc.get("spec") or {}).get("routes") or ():
            for service in rule.get("services") or ():
                if service.get("kind", "Service") != "Service" or service.get("port") is None:
                    continue
                namespace = service.get("namespace") or route.namespace
                host = f"{service['name']}.{namespace}.svc"
                yield FlowNeed(clients, host, service["port"], f"route backend of {route.ident}", route)
    for middleware in state.of_kind("Middleware", "traefik.io"):
        address = ((middleware.doc.get("spec") or {}).get("forwardAuth") or {}).get("address")
        if address:
            yield need_from_url(str(address), clients, f"forwardAuth of {middleware.ident}", middleware)


_HOST_RULE = re.compile(r"Host(?:SNI)?\(([^)]*)\)")


def served_hosts(state: DesiredState, homelab: Homelab) -> Iterator[tuple[DesiredObject, str, str, str]]:  # noqa: ARG001
    """(IngressRoute, host a browser asks for, namespace, TLS Secret Traefik answers with)."""
    for route in state.of_kind("IngressRoute", "traefik.io"):
        spec = route.doc.get("spec") or {}
        secret = (spec.get("tls") or {}).get("secretName")
        if not secret or route.namespace is None:
            continue
        for rule in spec.get("routes") or ():
            for args in _HOST_RULE.findall(str(rule.get("match", ""))):
                for host in re.findall(r"`([^`]*)`", args):
                    yield route, host, route.namespace, str(secret)


# ---------------------------------------------------------------------------------- outcomes

PROXY = "traefik"
"""The chart's Deployment, its container and its LoadBalancer Service."""
ENTRYPOINTS = {
    "entryPoints.web.address": (":8000/tcp",),
    "entryPoints.websecure.address": (":8443/tcp",),
    "entryPoints.web.http.redirections.entryPoint.to": (":443",),
    "entryPoints.web.http.redirections.entryPoint.scheme": ("https",),
    "entryPoints.websecure.http.tls": ("true",),
    "providers.kubernetescrd": ("true",),
}
"""The entry points the NetworkPolicies open and every route is served on (web only redirects),
and the CRD provider every route is an object of."""
ROUTE_SOURCES_NOT_OURS = (
    "api.insecure",
    "providers.kubernetesingress",
    "providers.kubernetesgateway",
    "providers.file",
    "providers.kubernetescrd.namespaces",
    "providers.kubernetescrd.labelselector",
    "entryPoints.web.forwardedHeaders.insecure",
    "entryPoints.websecure.forwardedHeaders.insecure",
)
"""Flags that serve routes the homelab did not render (the dashboard without login, Ingresses and
Gateway routes of any app, files), hide the homelab's routes from Traefik, or let any client
forge the X-Forwarded-* headers Authelia decides on."""


def outcomes(homelab: Homelab) -> Iterator[Outcome]:
    """Every route's name resolves to Traefik's address, where web redirects to websecure."""
    config = homelab.config.services.traefik
    yield flags_hold(
        "Deployment",
        PROXY,
        PROXY,
        ENTRYPOINTS,
        what="Traefik listens on web (:8000, redirecting to https) and websecure (:8443, TLS) and serves "
        "the homelab's IngressRoutes",
    )
    yield flags_hold(
        "Deployment",
        PROXY,
        PROXY,
        {},
        forbidden=ROUTE_SOURCES_NOT_OURS,
        what="every route Traefik serves is one the homelab renders (with its SSO), and Authelia reads "
        "forwarded headers only Traefik sets",
    )
    yield service_shape(
        PROXY,
        type_="LoadBalancer",
        ports=(80, 443),
        address=str(homelab.cluster.traefik_ip),
        what=f"Traefik answers on {homelab.cluster.traefik_ip} ports 80 and 443, the address every route's "
        "name resolves to (pfSense, the DNS gateway, the docs)",
    )
    yield runs("Deployment", PROXY, config.replicas, what="Traefik")
    yield confined(load_balancers=(PROXY,))
