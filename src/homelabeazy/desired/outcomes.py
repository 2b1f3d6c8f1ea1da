"""Outcomes: what a service's effective objects must show for the homelab to keep its promises.

A user's `values:` are merged over ours before the chart renders, and no list of protected keys
can foresee every sibling key, env var or argument a chart offers (Vault's `server.extraArgs:
-dev`, OpenLDAP's `global.existingSecret: {}`, external-dns' `extraArgs`). So each service's
catalog module declares the *outcomes* it relies on — the admin password comes from our Secret,
the server runs no dev mode, this Service has that type and address — as tests over the objects
that would really be applied (`Effective`), and the convergence proof runs them after the merge.

An outcome is a promise in words and a test that yields a `Breach` for each way the effective
objects break it. The builders below cover the shapes most promises take; a catalog module
writes its own test where a promise needs more.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass

from homelabeazy.desired.effective import (
    Effective,
    claimed_volumes,
    command_line,
    containers,
    env_source,
    mounted_at,
    node_fits,
    pod_spec,
    replicas,
    workloads,
)
from homelabeazy.desired.selectors import as_list, as_map
from homelabeazy.desired.state import DesiredObject


@dataclass(frozen=True)
class Breach:
    """One way the effective objects break a promise: what they show instead, and where."""

    what: str
    obj: DesiredObject | None = None
    """The object showing it; None when what is missing is the object itself."""


OutcomeTest = Callable[[Effective], Iterable[Breach]]


@dataclass(frozen=True)
class Outcome:
    """A promise of the homelab about one service, and the test of it on the effective objects."""

    promise: str
    """What holds, in words (`the directory admin password comes from Secret openldap-admin`)."""
    test: OutcomeTest
    hint: str = ""
    """What to do about a breach, beyond removing the override that caused it."""

    def breaches(self, view: Effective) -> list[Breach]:
        """Every breach of this promise in `view` (empty: it holds)."""
        return list(self.test(view))


# ---------------------------------------------------------------------------------- workloads


def runs(kind: str, name: str, count: int | None = None, *, what: str = "") -> Outcome:
    """`kind/name` exists, runs `count` replicas (at least one when None), and its pods can be
    scheduled on the homelab's nodes by the cluster's scheduler."""
    label = what or f"{kind} {name}"
    many = f"{count} replica{'s' if count != 1 else ''}" if count else "at least one replica"
    promise = f"{label} runs {many}, on nodes of the homelab that can take its pods"

    def test(view: Effective) -> Iterator[Breach]:
        found = view.named(kind, name)
        if not found:
            yield Breach(f"there is no {kind} {name}")
        for obj in found:
            yield from _replica_breaches(obj, count)
            yield from scheduling_breaches(view, obj)

    return Outcome(promise, test)


def _replica_breaches(obj: DesiredObject, count: int | None) -> Iterator[Breach]:
    have = replicas(obj)
    if have is None:
        return
    if have == 0 or (count is not None and have != count):
        wanted = f"{count}" if count is not None else "at least 1"
        yield Breach(
            f"{obj.kind} {obj.name} runs {have} replica{'' if have == 1 else 's'}, not {wanted}", obj
        )


def scheduling_breaches(view: Effective, obj: DesiredObject) -> Iterator[Breach]:
    """Why the workload's pods would never start: another scheduler, a PriorityClass nobody makes,
    or no node that fits them."""
    spec = pod_spec(obj)
    scheduler = spec.get("schedulerName")
    if scheduler not in (None, "", "default-scheduler"):
        yield Breach(f"its pods wait for scheduler {scheduler}, which K3s does not run", obj)
    priority = spec.get("priorityClassName")
    if priority and str(priority) not in view.priority_classes:
        yield Breach(
            f"its pods name PriorityClass {priority}, which nothing makes (admission refuses them)", obj
        )
    if view.nodes:
        reasons = [node_fits(node, spec) for node in view.nodes]
        if all(reason is not None for reason in reasons):
            yield Breach(f"no node of the homelab can run its pods ({reasons[0]} fits none)", obj)


def persists(kind: str, name: str, path: str, *, what: str) -> Outcome:
    """`kind/name` keeps `path` on a PersistentVolumeClaim (not in the container or an emptyDir,
    where a restart loses it)."""

    def test(view: Effective) -> Iterator[Breach]:
        for obj in view.named(kind, name):
            volume = mounted_at(obj, path)
            if volume is None:
                yield Breach(
                    f"nothing is mounted at {path} in {obj.kind} {obj.name}: a restart loses it", obj
                )
            elif volume not in claimed_volumes(obj):
                yield Breach(f"{path} in {obj.kind} {obj.name} is volume {volume}, which no claim backs", obj)

    return Outcome(f"{what} survives a restart: {path} is on a PersistentVolumeClaim", test)


# -------------------------------------------------------------------------------- environment


def env_from_secret(kind: str, name: str, variables: Collection[str], secret: str, *, what: str) -> Outcome:
    """Each of `variables`, in every container of `kind/name` that sets it, comes from Secret
    `secret` (the one synced from Vault); at least one container sets each."""

    def test(view: Effective) -> Iterator[Breach]:
        for obj in view.named(kind, name):
            for var in variables:
                used = False
                for container in containers(obj):
                    source = env_source(view, obj, container, var)
                    if source.kind == "unset":
                        continue
                    used = True
                    if source.kind != "Secret" or source.name != secret or source.maybe:
                        where = f"container {container.get('name')} of {obj.kind} {obj.name}"
                        yield Breach(f"{var} in {where} comes from {source.words()}", obj)
                if not used:
                    yield Breach(f"no container of {obj.kind} {obj.name} sets {var}", obj)

    return Outcome(f"{what}: read from Secret {secret}, synced from Vault", test)


# ----------------------------------------------------------------------------- command lines


def flag_values(arguments: Iterable[str], flag: str) -> list[str]:
    """The values of `--flag=value` / `--flag value` / `-flag=value` among `arguments`, in order
    (a flag given without a value counts as `true`). Flag names compare case-insensitively, as
    Traefik's and Go's pflag-style parsers that lowercase them do."""
    wanted = flag.lstrip("-").lower()
    items = list(arguments)
    values: list[str] = []
    for index, item in enumerate(items):
        text = str(item)
        if not text.startswith("-"):
            continue
        name, equals, value = text.lstrip("-").partition("=")
        if name.lower() != wanted:
            continue
        if equals:
            values.append(value)
        elif index + 1 < len(items) and not str(items[index + 1]).startswith("-"):
            values.append(str(items[index + 1]))
        else:
            values.append("true")
    return values


def script_words(container: Mapping[str, object]) -> list[str]:
    """command + args split into words (a `sh -c` script's words too): what a flag search reads."""
    return [word for part in command_line(container) for word in re.split(r"\s+", part) if word]


def given_flags(arguments: Iterable[str]) -> list[tuple[str, str]]:
    """(lowercased name, value) of every `--flag[=value]` among `arguments` (`true` without a value)."""
    out = []
    for text in (str(a) for a in arguments):
        if text.startswith("-"):
            name, equals, value = text.lstrip("-").partition("=")
            out.append((name.lower(), value if equals else "true"))
    return out


def flags_hold(
    kind: str,
    name: str,
    container: str | None,
    expected: Mapping[str, Collection[str]],
    *,
    forbidden: Collection[str] = (),
    what: str,
) -> Outcome:
    """In `container` (None: the first) of `kind/name`, each flag of `expected` has exactly those
    values (every occurrence, none missing), and no flag of `forbidden` (or below it: `providers.file`
    forbids `--providers.file.directory`) is given a value other than `false`."""

    def test(view: Effective) -> Iterator[Breach]:
        for obj in view.named(kind, name):
            chosen = [
                c for c in containers(obj, init=False) if container is None or c.get("name") == container
            ]
            if not chosen:
                yield Breach(f"{obj.kind} {obj.name} has no container {container}", obj)
                continue
            words = command_line(chosen[0])
            for flag, values in expected.items():
                have = flag_values(words, flag)
                if sorted(have) != sorted(values):
                    shown = ", ".join(have) if have else "not given"
                    yield Breach(f"--{flag} is {shown}, not {', '.join(values)}", obj)
            for flag in forbidden:
                banned = flag.lower()
                for given, value in given_flags(words):
                    if (given == banned or given.startswith(banned + ".")) and value.lower() != "false":
                        yield Breach(f"--{given}={value} is given", obj)

    return Outcome(what, test)


# ------------------------------------------------------------------------------------ Services


def service_shape(
    name: str,
    *,
    type_: str = "ClusterIP",
    ports: Collection[int] = (),
    address: str | None = None,
    what: str,
) -> Outcome:
    """Service `name` exists with that type and ports; with `address`, MetalLB gives it exactly
    that address (its `metallb.io/loadBalancerIPs` annotation, and no other `loadBalancerIP`)."""

    def test(view: Effective) -> Iterator[Breach]:
        found = view.named("Service", name)
        if not found:
            yield Breach(f"there is no Service {name}")
        for svc in found:
            spec = as_map(svc.doc.get("spec"))
            have_type = str(spec.get("type") or "ClusterIP")
            if have_type != type_:
                yield Breach(f"Service {name} is of type {have_type}, not {type_}", svc)
            have_ports = {p.get("port") for p in (as_map(x) for x in as_list(spec.get("ports")))}
            for port in ports:
                if port not in have_ports:
                    yield Breach(f"Service {name} has no port {port}", svc)
            if address is not None:
                yield from _address_breaches(svc, spec, address)

    return Outcome(what, test)


METALLB_IPS = "metallb.io/loadBalancerIPs"
METALLB_POOL = "metallb.io/address-pool"


def _address_breaches(svc: DesiredObject, spec: Mapping[str, object], address: str) -> Iterator[Breach]:
    annotated = svc.annotations.get(METALLB_IPS)
    if annotated != address:
        yield Breach(f"Service {svc.name} asks MetalLB for {annotated or 'any address'}, not {address}", svc)
    field_ip = spec.get("loadBalancerIP")
    if field_ip not in (None, "", address):
        yield Breach(f"Service {svc.name} also asks for loadBalancerIP {field_ip}", svc)
    pool = svc.annotations.get(METALLB_POOL)
    if pool:
        yield Breach(f"Service {svc.name} asks MetalLB for an address of pool {pool}", svc)
    if spec.get("loadBalancerClass"):
        yield Breach(
            f"Service {svc.name} has loadBalancerClass {spec['loadBalancerClass']}: MetalLB leaves it", svc
        )


# ---------------------------------------------------------------------------------- confinement

ROUTE_KINDS = frozenset(
    {"IngressRoute", "IngressRouteTCP", "IngressRouteUDP", "Ingress", "HTTPRoute", "GRPCRoute", "TLSRoute"}
)
"""Kinds that open a way in through a proxy: every route of the homelab is one it renders itself."""


def confined(
    *, load_balancers: Collection[str] = (), on_the_host: Collection[str] = (), what: str = ""
) -> Outcome:
    """The service is reached only the ways the homelab opens: through its own routes (Traefik with
    SSO) and NetworkPolicies, or the LoadBalancer Services and host-network workloads it declares.

    A chart's own LoadBalancer/NodePort Service, `externalIPs`, host network or host port, route
    or NetworkPolicy would let clients in past the homelab's rules (policies only add up: a chart's
    policy can admit what ours keep out). `on_the_host` names the workloads that run in the node's
    namespaces by design (MetalLB's speaker, node-exporter).
    """

    def test(view: Effective) -> Iterator[Breach]:
        for svc in view.of_kind("Service"):
            spec = as_map(svc.doc.get("spec"))
            kind = str(spec.get("type") or "ClusterIP")
            if kind in ("LoadBalancer", "NodePort") and svc.name not in load_balancers:
                yield Breach(f"Service {svc.name} is of type {kind}: reachable past Traefik and SSO", svc)
            if as_list(spec.get("externalIPs")):
                yield Breach(f"Service {svc.name} answers on externalIPs {spec['externalIPs']}", svc)
        for obj in workloads(view):
            yield from _host_breaches(obj, obj.name in on_the_host)
        for obj in view.objects:
            if obj.origin.source != "chart":
                continue
            if obj.kind in ROUTE_KINDS:
                yield Breach(
                    f"the chart adds its own route {obj.kind} {obj.name}, outside the homelab's SSO", obj
                )
            elif obj.kind == "NetworkPolicy":
                yield Breach(f"the chart adds its own NetworkPolicy {obj.name}, beside the homelab's", obj)

    promise = (
        what or "it is reached only through the homelab's routes, NetworkPolicies and declared addresses"
    )
    return Outcome(promise, test)


def _host_breaches(obj: DesiredObject, allowed: bool) -> Iterator[Breach]:
    if allowed:
        return
    spec = pod_spec(obj)
    if spec.get("hostNetwork") is True:
        yield Breach(f"{obj.kind} {obj.name} runs on the host network: outside the NetworkPolicies", obj)
    for flag in ("hostPID", "hostIPC"):
        if spec.get(flag) is True:
            yield Breach(f"{obj.kind} {obj.name} runs with {flag}: it shares the node's namespace", obj)
    for container in containers(obj):
        for port in (as_map(p) for p in as_list(container.get("ports"))):
            if port.get("hostPort"):
                yield Breach(f"{obj.kind} {obj.name} opens host port {port['hostPort']} on its node", obj)
