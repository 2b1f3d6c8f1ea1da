"""References of traffic: Services to pods, routes to Services and Middlewares, TLS to issuers.

Each function returns `(object, problem, hint)` triples; `references` turns them into findings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from homelabeazy.converge.inventory import Inventory, containers, pod_templates, template_labels
from homelabeazy.desired.selectors import as_list, as_map, dig, equality_selects
from homelabeazy.desired.state import DesiredObject

Problem = tuple[DesiredObject, str, str]

TRAEFIK_GROUPS = ("traefik.io", "traefik.containo.us")
CERT_MANAGER = "cert-manager.io"
_SECRET_HINT = "render a Secret, an ExternalSecret or a Certificate that makes it"  # noqa: S105 - a hint


def service_problems(objects: list[DesiredObject]) -> Iterator[Problem]:
    """Every Service with a selector selects some pod template, on a port it declares."""
    templates = [(o, t) for o, t in pod_templates(objects)]
    for service in (o for o in objects if o.kind == "Service" and o.group == ""):
        selector = as_map(dig(service.doc, "spec", "selector"))
        if not selector:
            continue
        selected = [
            t
            for o, t in templates
            if o.namespace == service.namespace and equality_selects(selector, template_labels(t))
        ]
        if not selected:
            labels = ", ".join(f"{k}={v}" for k, v in selector.items())
            yield service, f"selects no pod ({labels})", "make the selector match a workload's pod labels"
            continue
        ports = [
            as_map(p) for c in (c for t in selected for c in containers(t)) for p in as_list(c.get("ports"))
        ]
        for port in (as_map(p) for p in as_list(dig(service.doc, "spec", "ports"))):
            target = port.get("targetPort", port.get("port"))
            if not _port_declared(target, ports):
                hint = "point targetPort at a containerPort (number or name) of the selected pods"
                yield service, f"targetPort {target} is not a port of the pods it selects", hint


def _port_declared(target: Any, ports: list[Mapping[str, Any]]) -> bool:
    """A named targetPort must be declared; a number only if the pods declare ports at all."""
    if isinstance(target, str) and not target.isdigit():
        return any(p.get("name") == target for p in ports)
    if not ports:
        return True
    return any(str(p.get("containerPort")) == str(target) for p in ports)


def service_port(have: Inventory, namespace: str | None, name: str, port: Any) -> str | None:
    """Why `name:port` does not resolve to a Service port, or None."""
    service = have.get("Service", namespace, name)
    if service is None:
        return None if have.has("Service", namespace, name) else f"Service {namespace}/{name} does not exist"
    ports = [as_map(p) for p in as_list(dig(service.doc, "spec", "ports"))]
    if not any(str(p.get("port")) == str(port) or p.get("name") == port for p in ports):
        known = ", ".join(str(p.get("name") or p.get("port")) for p in ports)
        return f"Service {namespace}/{name} has no port {port} (it has: {known})"
    return None


def ingress_route_problems(
    objects: list[DesiredObject], have: Inventory, cross_namespace: bool
) -> Iterator[Problem]:
    """IngressRoutes name existing Services (and ports), Middlewares and TLS Secrets."""
    for route in (o for o in objects if o.kind == "IngressRoute" and o.group in TRAEFIK_GROUPS):
        for rule in (as_map(r) for r in as_list(dig(route.doc, "spec", "routes"))):
            for ref in (as_map(s) for s in as_list(rule.get("services"))):
                yield from _route_service(route, ref, have, cross_namespace)
            for ref in (as_map(m) for m in as_list(rule.get("middlewares"))):
                yield from _middleware(route, ref, have, cross_namespace)
        secret = dig(route.doc, "spec", "tls", "secretName")
        if isinstance(secret, str) and not have.has("Secret", route.namespace, secret):
            yield (
                route,
                f"TLS Secret {secret} is made by nothing in namespace {route.namespace}",
                _SECRET_HINT,
            )


def _route_service(
    route: DesiredObject, ref: Mapping[str, Any], have: Inventory, cross_namespace: bool
) -> Iterator[Problem]:
    name = str(ref.get("name", ""))
    namespace = str(ref.get("namespace") or route.namespace)
    kind = ref.get("kind", "Service")
    if "@" in name:
        return  # another Traefik provider's service (api@internal)
    if namespace != route.namespace and not cross_namespace:
        yield route, f"{kind} {namespace}/{name} is in another namespace", _CROSS_HINT
    if kind == "TraefikService":
        if not have.has("TraefikService", namespace, name):
            yield (
                route,
                f"TraefikService {namespace}/{name} does not exist",
                "render it or route to a Service",
            )
        return
    problem = service_port(have, namespace, name, ref.get("port"))
    if problem is not None:
        yield route, problem, "route to a Service and port the chart or manifests create"


_CROSS_HINT = "Traefik ignores it unless providers.kubernetesCRD.allowCrossNamespace is true"


def _middleware(
    route: DesiredObject, ref: Mapping[str, Any], have: Inventory, cross_namespace: bool
) -> Iterator[Problem]:
    name = str(ref.get("name", ""))
    namespace = str(ref.get("namespace") or route.namespace)
    if "@" in name:
        plain, _, provider = name.partition("@")
        if provider != "kubernetescrd":
            return
        found = any(k[0] == "Middleware" and f"{k[1]}-{k[2]}" == plain for k in have.objects)
        if not found:
            yield route, f"Middleware {name} does not exist", "name it <namespace>-<name>@kubernetescrd"
        return
    if namespace != route.namespace and not cross_namespace:
        yield route, f"Middleware {namespace}/{name} is in another namespace", _CROSS_HINT
    if not have.has("Middleware", namespace, name):
        yield (
            route,
            f"Middleware {namespace}/{name} does not exist",
            "render the Middleware or drop the reference",
        )


def ingress_problems(objects: list[DesiredObject], have: Inventory) -> Iterator[Problem]:
    """Ingresses name existing Services and ports, and TLS Secrets something makes."""
    for ingress in (o for o in objects if o.kind == "Ingress" and o.group == "networking.k8s.io"):
        spec = as_map(ingress.doc.get("spec"))
        backends = [spec.get("defaultBackend")] + [
            dig(p, "backend") for r in as_list(spec.get("rules")) for p in as_list(dig(r, "http", "paths"))
        ]
        for backend in (as_map(b) for b in backends if isinstance(b, Mapping)):
            service = as_map(backend.get("service"))
            if not service:
                continue
            port = as_map(service.get("port"))
            problem = service_port(
                have, ingress.namespace, str(service.get("name")), port.get("number") or port.get("name")
            )
            if problem is not None:
                yield ingress, problem, "route to a Service and port the chart or manifests create"
        for tls in (as_map(t) for t in as_list(spec.get("tls"))):
            secret = tls.get("secretName")
            if isinstance(secret, str) and not have.has("Secret", ingress.namespace, secret):
                yield (
                    ingress,
                    f"TLS Secret {secret} is made by nothing in namespace {ingress.namespace}",
                    _SECRET_HINT,
                )


def certificate_problems(objects: Iterable[DesiredObject], have: Inventory) -> Iterator[Problem]:
    """cert-manager Certificates name an issuer that exists."""
    for cert in (o for o in objects if o.kind == "Certificate" and o.group == CERT_MANAGER):
        ref = as_map(dig(cert.doc, "spec", "issuerRef"))
        if ref.get("group", CERT_MANAGER) != CERT_MANAGER:
            continue  # an external issuer: its own controller resolves it
        kind = str(ref.get("kind") or "Issuer")
        namespace = None if kind == "ClusterIssuer" else cert.namespace
        name = str(ref.get("name", ""))
        if not name:
            yield cert, "names no issuer (spec.issuerRef.name)", "name the homelab's ClusterIssuer"
        elif not have.has(kind, namespace, name):
            where = name if namespace is None else f"{namespace}/{name}"
            yield cert, f"{kind} {where} does not exist", "enable cert_manager or name an issuer it renders"
