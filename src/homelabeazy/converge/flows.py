"""Every flow the homelab needs is allowed, decided by the NetworkPolicy model.

The needed flows come from the desired state: each service's catalog module says which of its pods
connect where (read from the configuration the state carries: a store's server URL, a ConfigMap's
host), and the cluster-wide ones are derived here — every pod to CoreDNS, every pod whose service
account is bound to a role to the API server, the API server to every webhook. A flow to a Service
is checked on the port the Service really targets on each pod it selects; a TLS client's name is
checked against the names the server's certificate will carry, and the CA it trusts against the
issuer of that certificate.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address
from types import ModuleType
from typing import TYPE_CHECKING, Any

from homelabeazy.converge.inventory import unseen
from homelabeazy.converge.podnet import (
    Cluster,
    ServiceError,
    WorkloadPod,
    build_cluster,
    pod_template,
    service_backends,
    service_of_host,
)
from homelabeazy.desired.needs import Clients, FlowNeed
from homelabeazy.desired.state import DesiredObject, DesiredState, Finding
from homelabeazy.netpolicy.endpoints import model_host_addresses
from homelabeazy.netpolicy.kube import Decision, Host, Peer, Pod

if TYPE_CHECKING:
    from homelabeazy.model import Homelab

DNS_SERVICE = "kube-dns.kube-system.svc"
"""K3s's CoreDNS Service: every pod resolves names through it, over UDP and TCP."""
API_PORT = 6443
"""The API server's port on the server nodes (what the `kubernetes` Service is translated to)."""
OUTSIDE = IPv4Address("192.0.2.1")
"""Stands for an outside host whose address the homelab does not know (TEST-NET-1: public-like)."""


def _catalog_modules(homelab: Homelab) -> list[ModuleType]:
    """The catalog modules of the enabled services (each may define the hooks of `needs`)."""
    return [importlib.import_module(f"homelabeazy.model.catalog.{s.name}") for s in homelab.services]


def _hook(module: ModuleType, name: str) -> Callable[..., Any] | None:
    hook = getattr(module, name, None)
    return hook if callable(hook) else None


@dataclass(frozen=True)
class _Context:
    cluster: Cluster
    homelab: Homelab
    cert_names: Mapping[tuple[str, str], tuple[str, ...]]
    cert_issuers: Mapping[tuple[str, str], frozenset[str]]
    """(namespace, Service) -> issuers of the managed certificates its pods mount."""
    secret_issuers: Mapping[tuple[str, str], str]
    """(namespace, Secret) -> the issuer of the certificate a controller keeps there."""
    known_hosts: Mapping[str, IPv4Address]
    unrendered: frozenset[str]
    """Namespaces the state cannot show (a chart that did not render, a user's own manifest folder):
    what is missing there is not a flow's finding (see inventory.unseen)."""


def _calls(modules: list[ModuleType], hook: str, state: DesiredState, homelab: Homelab) -> Iterator[Any]:
    """What each catalog module's `hook(state, homelab)` returns, for the modules that define it."""
    for module in modules:
        if (function := _hook(module, hook)) is not None:
            yield function(state, homelab)


def check_flows(state: DesiredState, homelab: Homelab) -> list[Finding]:
    """A finding for each needed flow the NetworkPolicies deny, or whose TLS name does not match."""
    modules = _catalog_modules(homelab)
    implied = [o for objects in _calls(modules, "implied_objects", state, homelab) for o in objects]
    runtime = [r for labels in _calls(modules, "runtime_labels", state, homelab) for r in labels]
    cluster = build_cluster(state, implied, runtime)
    secrets: dict[tuple[str, str], tuple[str, ...]] = {}
    for found in _calls(modules, "tls_secrets", state, homelab):
        secrets.update(found)
    cert_names = mounted_certificate_names(cluster, secrets)
    for found in _calls(modules, "certificate_names", state, homelab):
        cert_names.update(found)
    issuers: dict[tuple[str, str], str] = {}
    for found in _calls(modules, "tls_issuers", state, homelab):
        issuers.update(found)
    ctx = _Context(
        cluster,
        homelab,
        cert_names,
        mounted_certificate_issuers(cluster, issuers),
        issuers,
        model_host_addresses(homelab),
        unseen(state, homelab).namespaces,
    )
    needs = [
        *dns_needs(cluster),
        *(n for declared in _calls(modules, "flow_needs", state, homelab) for n in declared),
    ]
    findings = [f for need in needs for f in _check_need(ctx, need)]
    for served in _calls(modules, "served_hosts", state, homelab):
        findings.extend(served_name_findings(served, secrets))
    findings.extend(exposed_findings(ctx))
    findings.extend(api_findings(ctx))
    findings.extend(webhook_findings(ctx))
    return list(dict.fromkeys(findings))


def dns_needs(cluster: Cluster) -> list[FlowNeed]:
    """Every pod resolves names through CoreDNS, over UDP and (for long answers) TCP."""
    found = cluster.find("Service", "kube-system", "kube-dns")
    needs: list[FlowNeed] = []
    for workload in cluster.pods:
        if workload.pod.namespace == "kube-system" or workload.pod.host_network:
            continue
        clients = Clients(workload.pod.namespace, what=workload.pod.name, workload=workload.pod.name)
        for protocol in ("UDP", "TCP"):
            needs.append(FlowNeed(clients, DNS_SERVICE, 53, "name resolution", found, protocol))
    return needs


def _clients(cluster: Cluster, clients: Clients) -> list[WorkloadPod]:
    pods = cluster.pods_matching(clients.namespace, clients.labels)
    if clients.workload is not None:
        pods = [p for p in pods if p.pod.name == clients.workload]
    return pods


def _sources(ctx: _Context, workload: WorkloadPod) -> list[Peer]:
    """A host-network pod speaks from its node's address (any node it may run on)."""
    if workload.pod.host_network:
        return [Host(node.ip, f"node {node.name}") for node in ctx.homelab.nodes]
    return [workload.pod]


def _details(need: FlowNeed, dest: Peer) -> str:
    """` (pod port of X, named in Y)`: where the port really lands and who names the server."""
    parts = [f"pod port of {dest.name}"] if isinstance(dest, Pod) else []
    if need.declared_by is not None:
        parts.append(f"named in {need.declared_by.ident}")
    return f" ({', '.join(parts)})" if parts else ""


def _finding_for_object(obj: DesiredObject | None, message: str, hint: str, subject: str) -> Finding:
    file = obj.origin.file if obj is not None else ""
    application = obj.origin.application if obj is not None else ""
    return Finding("flow", message, file, subject, application, hint=hint)


def _check_need(ctx: _Context, need: FlowNeed) -> Iterator[Finding]:
    clients = _clients(ctx.cluster, need.clients)
    what = need.clients.what or f"pods {dict(need.clients.labels)} of namespace {need.clients.namespace}"
    if not clients:
        if need.clients.namespace in ctx.unrendered:
            return
        yield _finding_for_object(
            need.declared_by,
            f"no pod of the state is {what}, which needs {need.host}:{need.port} ({need.purpose})",
            "the catalog's client labels no longer match the chart's pods",
            need.declared_by.ident if need.declared_by else "",
        )
        return
    target = service_of_host(need.host, need.clients.namespace, ctx.cluster.namespaces)
    if target is None:
        yield from _check_outside(ctx, need, clients)
        return
    namespace, name = target
    service = ctx.cluster.find("Service", namespace, name)
    if service is None:
        if namespace in ctx.unrendered:
            return
        yield _finding_for_object(
            need.declared_by,
            f"{what} connects to {need.host} ({need.purpose}), but no Service {namespace}/{name} exists",
            "point the address at a Service the state defines",
            need.declared_by.ident if need.declared_by else "",
        )
        return
    try:
        backends = service_backends(ctx.cluster, service, need.port, need.protocol)
    except ServiceError as exc:
        yield _finding_for_object(
            service, f"{what} cannot reach {need.host} ({need.purpose}): {exc}", "", service.ident
        )
        return
    for client in clients:
        for source in _sources(ctx, client):
            for backend in backends:
                decision = ctx.cluster.network.decide(source, backend.pod.pod, backend.port, backend.protocol)
                if not decision.allowed:
                    yield _denied(ctx, decision, client.source, need, f"{service.ident} port {need.port}")
    if need.tls_verify:
        yield from _check_tls_name(ctx, need, (namespace, name), what)
        yield from _check_tls_trust(ctx, need, (namespace, name), what)


def _check_outside(ctx: _Context, need: FlowNeed, clients: list[WorkloadPod]) -> Iterator[Finding]:
    if not isinstance(need.port, int):
        raise ValueError(f"{need.host}: an outside host needs a port number, not '{need.port}'")
    try:
        address = ip_address(need.host)
        label = need.host
    except ValueError:
        known = ctx.known_hosts.get(need.host.lower())
        address = known or OUTSIDE
        label = need.host if known else f"{need.host} (outside address)"
    dest = Host(address, label)
    for client in clients:
        for source in _sources(ctx, client):
            decision = ctx.cluster.network.decide(source, dest, need.port, need.protocol)
            if not decision.allowed:
                yield _denied(ctx, decision, client.source, need, dest.name)


def _denied(
    ctx: _Context, decision: Decision, client: DesiredObject, need: FlowNeed, server: str, *, actor: str = ""
) -> Finding:
    """Name both ends, the port, the side that denies and the policy that is missing."""
    src, dst = decision.source, decision.dest
    where = f"{decision.protocol}/{decision.port}"
    if not decision.egress.allowed:
        blocking = decision.egress.selecting[0]
        to = f"namespace {dst.namespace}" if isinstance(dst, Pod) else dst.name
        hint = f"missing: an egress rule in namespace {client.namespace} allowing {where} to {to}"
    else:
        blocking = decision.ingress.selecting[0]
        frm = f"namespace {src.namespace}" if isinstance(src, Pod) else src.name
        dest_ns = dst.namespace if isinstance(dst, Pod) else ""
        hint = f"missing: an ingress rule in namespace {dest_ns} allowing {where} from {frm}"
    policy = ctx.cluster.policy_objects.get(blocking)
    message = (
        f"{need.purpose}: {actor or client.ident} cannot open {where} on {server}{_details(need, dst)}: "
        f"{decision.reason()}"
    )
    return _finding_for_object(policy, message, hint, client.ident)


def certificate_covers(host: str, names: Iterable[str]) -> bool:
    """Whether a certificate naming `names` is valid for `host` (a wildcard covers one label)."""
    host = host.lower().rstrip(".")
    for candidate in (n.lower() for n in names):
        if candidate == host:
            return True
        if candidate.startswith("*.") and "." in host and host.split(".", 1)[1] == candidate[2:]:
            return True
    return False


def _check_tls_name(ctx: _Context, need: FlowNeed, service: tuple[str, str], what: str) -> Iterator[Finding]:
    names = ctx.cert_names.get(service)
    if names is None or certificate_covers(need.host, names):
        return
    obj = need.declared_by
    yield _finding_for_object(
        obj,
        f"{what} verifies the certificate of Service {service[0]}/{service[1]} as '{need.host}' "
        f"({need.purpose}), a name the certificate does not carry (it names: {', '.join(names)})",
        f"connect to one of the certificate's names, e.g. {_suggested(service, names)}",
        obj.ident if obj is not None else "",
    )


def _check_tls_trust(ctx: _Context, need: FlowNeed, service: tuple[str, str], what: str) -> Iterator[Finding]:
    """The CA the client verifies with is the one that signed the server's certificate."""
    signed_by = ctx.cert_issuers.get(service)
    if need.trusts is None or not signed_by or need.clients.namespace in ctx.unrendered:
        return  # (a client whose chart did not render cannot show what it mounts)
    trusted = {ctx.secret_issuers[t] for t in need.trusts if t in ctx.secret_issuers}
    if trusted & signed_by:
        return
    obj = need.declared_by
    anchors = ", ".join(f"{ns}/{secret}" for ns, secret in need.trusts) or "none"
    yield _finding_for_object(
        obj,
        f"{what} verifies the certificate of Service {service[0]}/{service[1]} ({need.purpose}) with the "
        f"CA of Secret {anchors} ({', '.join(sorted(trusted)) or 'no managed issuer'}), but "
        f"{', '.join(sorted(signed_by))} signed it: the handshake fails",
        f"give the client the ca.crt of a certificate from {sorted(signed_by)[0]}",
        obj.ident if obj is not None else "",
    )


def _suggested(service: tuple[str, str], names: tuple[str, ...]) -> str:
    """The certificate's name for this Service that cluster DNS resolves (`svc.ns.svc`), if any."""
    namespace, name = service
    preferred = f"{name}.{namespace}.svc"
    return preferred if preferred in names else next(iter(names), "?")


def _bound_accounts(cluster: Cluster) -> set[tuple[str, str]]:
    """(namespace, service account) pairs some RoleBinding or ClusterRoleBinding grants a role."""
    bound: set[tuple[str, str]] = set()
    for obj in cluster.objects:
        if obj.kind not in ("RoleBinding", "ClusterRoleBinding") or obj.group != "rbac.authorization.k8s.io":
            continue
        for subject in obj.doc.get("subjects") or ():
            if subject.get("kind") == "ServiceAccount":
                bound.add((str(subject.get("namespace") or obj.namespace), str(subject.get("name"))))
    return bound


def api_findings(ctx: _Context) -> Iterator[Finding]:
    """Pods whose service account holds a role talk to the API server, on every server's 6443."""
    bound = _bound_accounts(ctx.cluster)
    servers = [Host(n.ip, f"API server on {n.name}") for n in ctx.homelab.servers]
    for workload in ctx.cluster.pods:
        if not workload.automount_token or (workload.pod.namespace, workload.service_account) not in bound:
            continue
        need = FlowNeed(Clients(workload.pod.namespace), "kubernetes.default.svc", 443, "Kubernetes API")
        for source in _sources(ctx, workload):
            for server in servers:
                decision = ctx.cluster.network.decide(source, server, API_PORT, "TCP")
                if not decision.allowed:
                    yield _denied(ctx, decision, workload.source, need, server.name)


def _webhook_services(obj: DesiredObject) -> Iterator[tuple[Mapping[str, Any], str]]:
    """(service reference, what calls it) for every webhook an object registers."""
    doc = obj.doc
    if obj.kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        for hook in doc.get("webhooks") or ():
            ref = (hook.get("clientConfig") or {}).get("service")
            if ref:
                yield ref, f"admission webhook {hook.get('name')}"
    elif obj.kind == "CustomResourceDefinition":
        webhook = ((doc.get("spec") or {}).get("conversion") or {}).get("webhook") or {}
        ref = (webhook.get("clientConfig") or {}).get("service")
        if ref:
            yield ref, f"conversion webhook of {obj.name}"
    elif obj.kind == "APIService":
        ref = (doc.get("spec") or {}).get("service")
        if ref:
            yield ref, f"aggregated API {obj.name}"


def webhook_findings(ctx: _Context) -> Iterator[Finding]:
    """The API server (on the server nodes) calls every webhook Service's pods."""
    servers = [Host(n.ip, f"API server on {n.name}") for n in ctx.homelab.servers]
    for obj in ctx.cluster.objects:
        for ref, purpose in _webhook_services(obj):
            namespace, name, port = (
                str(ref.get("namespace")),
                str(ref.get("name")),
                int(ref.get("port") or 443),
            )
            service = ctx.cluster.find("Service", namespace, name)
            need = FlowNeed(Clients("kube-system"), f"{name}.{namespace}.svc", port, purpose, obj)
            if service is None:
                yield _finding_for_object(
                    obj, f"{purpose} calls Service {namespace}/{name}, which does not exist", "", obj.ident
                )
                continue
            try:
                backends = service_backends(ctx.cluster, service, port, "TCP")
            except ServiceError as exc:
                yield _finding_for_object(service, f"{purpose}: {exc}", "", service.ident)
                continue
            for server in servers:
                for backend in backends:
                    decision = ctx.cluster.network.decide(server, backend.pod.pod, backend.port, "TCP")
                    if not decision.allowed:
                        yield _denied(ctx, decision, obj, need, f"{service.ident} port {port}")


SERVED_KEY = "tls.crt"
"""A pod that mounts a Secret's certificate serves it; one that picks only `ca.crt` trusts it."""


def _picks_certificate(source: Mapping[str, Any]) -> bool:
    items = source.get("items")
    return not items or any(item.get("key") == SERVED_KEY for item in items)


def _mounted_secrets(workload: WorkloadPod) -> set[str]:
    """The Secrets whose certificate the pod mounts (not those it takes only a CA from)."""
    spec = (pod_template(workload.source) or {}).get("spec") or {}
    names: set[str] = set()
    for volume in spec.get("volumes") or ():
        secret = volume.get("secret") or {}
        if secret.get("secretName") and _picks_certificate(secret):
            names.add(str(secret["secretName"]))
        for source in (volume.get("projected") or {}).get("sources") or ():
            projected = source.get("secret") or {}
            if projected.get("name") and _picks_certificate(projected):
                names.add(str(projected["name"]))
    return names


def _served_secrets(cluster: Cluster) -> Iterator[tuple[tuple[str, str], list[str]]]:
    """((namespace, Service), the Secrets its pods mount, sorted) for each Service with a selector."""
    for service in cluster.objects:
        selector = (service.doc.get("spec") or {}).get("selector") if service.kind == "Service" else None
        if not selector or service.namespace is None:
            continue
        mounted: set[str] = set()
        for workload in cluster.pods_matching(service.namespace, selector):
            mounted |= _mounted_secrets(workload)
        yield (service.namespace, service.name), sorted(mounted)


def mounted_certificate_names(
    cluster: Cluster, secrets: Mapping[tuple[str, str], tuple[str, ...]]
) -> dict[tuple[str, str], tuple[str, ...]]:
    """(namespace, Service) -> names of the managed certificates its pods mount (and so serve)."""
    names: dict[tuple[str, str], tuple[str, ...]] = {}
    for (namespace, name), mounted in _served_secrets(cluster):
        served: list[str] = []
        for secret in mounted:
            served += [n for n in secrets.get((namespace, secret), ()) if n not in served]
        if served:
            names[(namespace, name)] = tuple(served)
    return names


def mounted_certificate_issuers(
    cluster: Cluster, issuers: Mapping[tuple[str, str], str]
) -> dict[tuple[str, str], frozenset[str]]:
    """(namespace, Service) -> issuers of the managed certificates its pods mount."""
    found: dict[tuple[str, str], frozenset[str]] = {}
    for (namespace, name), mounted in _served_secrets(cluster):
        signed = frozenset(issuers[(namespace, s)] for s in mounted if (namespace, s) in issuers)
        if signed:
            found[(namespace, name)] = signed
    return found


def served_name_findings(
    served: Iterable[tuple[DesiredObject, str, str, str]], secrets: Mapping[tuple[str, str], tuple[str, ...]]
) -> Iterator[Finding]:
    """A host a proxy serves with a managed certificate that does not name it: browsers refuse."""
    for route, host, namespace, secret in served:
        names = secrets.get((namespace, secret))
        if names is None or certificate_covers(host, names):
            continue
        yield _finding_for_object(
            route,
            f"serves '{host}' with the certificate in Secret {namespace}/{secret}, which names only "
            f"{', '.join(names) or 'nothing'}: clients verifying the name refuse it",
            f"add '{host}' to the dnsNames of the Certificate whose secretName is {secret}",
            route.ident,
        )


def exposed_findings(ctx: _Context) -> Iterator[Finding]:
    """A LoadBalancer or NodePort Service is there for clients outside the cluster: its pods must
    admit them on every port it exposes (kube-proxy keeps or SNATs the source; both are outside
    addresses to the policy)."""
    client = Host(OUTSIDE, "a client outside the cluster")
    for service in ctx.cluster.objects:
        spec = service.doc.get("spec") or {}
        if service.kind != "Service" or spec.get("type") not in ("LoadBalancer", "NodePort"):
            continue
        for entry in spec.get("ports") or ():
            protocol = str(entry.get("protocol") or "TCP")
            need = FlowNeed(Clients(""), service.name, entry.get("port"), f"{spec['type']} Service")
            try:
                backends = service_backends(ctx.cluster, service, entry.get("port"), protocol)
            except ServiceError:
                continue  # a Service selecting nothing is reported where a flow needs it
            for backend in backends:
                decision = ctx.cluster.network.decide(client, backend.pod.pod, backend.port, backend.protocol)
                if not decision.allowed:
                    server = f"{service.ident} port {entry.get('port')}"
                    yield _denied(ctx, decision, service, need, server, actor=client.label)
