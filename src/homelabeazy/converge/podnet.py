"""The pod network of a desired state: its pods, namespaces, policies, and Service resolution.

Read from the workloads' pod templates (the pods the cluster would start), plus the objects an
operator would create (catalog hooks, see `converge.needs`). A Service is resolved the way
kube-proxy does: its port (by number and protocol, or by name) to the targetPort on every pod its
selector picks, a named targetPort looked up on each pod's containers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from homelabeazy.desired.state import DesiredObject, DesiredState
from homelabeazy.netpolicy.kube import ContainerPort, NetworkPolicy, Pod, PodNetwork

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")


@dataclass(frozen=True)
class WorkloadPod:
    """A pod and the object that starts it."""

    pod: Pod
    source: DesiredObject
    service_account: str
    automount_token: bool


def pod_template(obj: DesiredObject) -> Mapping[str, Any] | None:
    """The pod template of a workload (the object itself for a Pod), or None."""
    if obj.kind not in WORKLOAD_KINDS:
        return None
    if obj.kind == "Pod":
        return obj.doc
    spec = obj.doc.get("spec") or {}
    if obj.kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template")
    return template if isinstance(template, Mapping) else None


def _ports(pod_spec: Mapping[str, Any]) -> tuple[ContainerPort, ...]:
    ports: list[ContainerPort] = []
    for container in pod_spec.get("containers") or ():
        for entry in container.get("ports") or ():
            if "containerPort" in entry:
                ports.append(
                    ContainerPort(
                        int(entry["containerPort"]), str(entry.get("protocol") or "TCP"), entry.get("name")
                    )
                )
    return tuple(ports)


def workload_pod(obj: DesiredObject) -> WorkloadPod | None:
    """The pod a workload object starts, or None when it is not a workload."""
    template = pod_template(obj)
    if template is None or obj.namespace is None:
        return None
    meta = template.get("metadata") or {}
    spec = template.get("spec") or {}
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    pod = Pod(obj.ident, obj.namespace, labels, _ports(spec), bool(spec.get("hostNetwork")))
    account = str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")
    return WorkloadPod(pod, obj, account, spec.get("automountServiceAccountToken") is not False)


@dataclass
class Cluster:
    """Everything the flow checks ask of the state, indexed once."""

    state: DesiredState
    objects: tuple[DesiredObject, ...]
    """The state's objects plus those operators create (implied)."""
    pods: tuple[WorkloadPod, ...]
    network: PodNetwork
    policy_objects: Mapping[str, DesiredObject]
    """`NetworkPolicy/ns/name` -> its object (for file and Application in findings)."""

    def find(self, kind: str, namespace: str | None, name: str) -> DesiredObject | None:
        """An object by kind, namespace and name (implied objects included)."""
        return next(
            (o for o in self.objects if o.kind == kind and o.namespace == namespace and o.name == name), None
        )

    def pods_matching(self, namespace: str, labels: Mapping[str, str]) -> list[WorkloadPod]:
        """Pods of `namespace` that carry every label given."""
        return [
            w
            for w in self.pods
            if w.pod.namespace == namespace and all(w.pod.labels.get(k) == v for k, v in labels.items())
        ]

    @property
    def namespaces(self) -> set[str]:
        """Every namespace something lives in or an Application deploys to."""
        names = {a.namespace for a in self.state.applications}
        names.update(o.namespace for o in self.objects if o.namespace)
        names.update(o.name for o in self.objects if o.kind == "Namespace")
        return names


def _namespace_labels(objects: Iterable[DesiredObject]) -> dict[str, dict[str, str]]:
    labels: dict[str, dict[str, str]] = {}
    for obj in objects:
        if obj.kind == "Namespace" and obj.group == "":
            labels.setdefault(obj.name, {}).update({str(k): str(v) for k, v in obj.labels.items()})
    return labels


RuntimeLabels = tuple[str, Mapping[str, str], tuple[Mapping[str, str], ...]]
"""(namespace, labels the pods carry, variants of the labels added at run time): pods that label
themselves once running (Vault marks its active pod) stand for one pod per variant."""


def _with_runtime_labels(pod: WorkloadPod, runtime: Iterable[RuntimeLabels]) -> list[WorkloadPod]:
    for namespace, selector, variants in runtime:
        if pod.pod.namespace == namespace and all(pod.pod.labels.get(k) == v for k, v in selector.items()):
            return [
                replace(pod, pod=replace(pod.pod, labels={**pod.pod.labels, **variant}))
                for variant in variants
            ]
    return [pod]


def build_cluster(
    state: DesiredState, implied: Iterable[DesiredObject] = (), runtime: Iterable[RuntimeLabels] = ()
) -> Cluster:
    """Index a state (and the objects operators would add, the labels pods give themselves)."""
    objects = (*state.objects, *implied)
    runtime = list(runtime)
    pods = tuple(
        variant
        for pod in (workload_pod(o) for o in objects)
        if pod is not None
        for variant in _with_runtime_labels(pod, runtime)
    )
    policy_objects = {
        f"NetworkPolicy/{o.namespace}/{o.name}": o
        for o in objects
        if o.kind == "NetworkPolicy" and o.group == "networking.k8s.io" and o.namespace
    }
    policies = [NetworkPolicy.from_doc(o.doc, o.namespace or "") for o in policy_objects.values()]
    return Cluster(state, objects, pods, PodNetwork(policies, _namespace_labels(objects)), policy_objects)


@dataclass(frozen=True)
class Backend:
    """One pod behind a Service port, and the pod port the connection really arrives at."""

    pod: WorkloadPod
    port: int
    protocol: str


def service_port(service: DesiredObject, port: int | str, protocol: str) -> Mapping[str, Any] | None:
    """The Service's port entry for a number (and protocol) or a port name."""
    for entry in (service.doc.get("spec") or {}).get("ports") or ():
        if isinstance(port, str) and entry.get("name") == port:
            return entry  # type: ignore[no-any-return]
        if entry.get("port") == port and str(entry.get("protocol") or "TCP") == protocol:
            return entry  # type: ignore[no-any-return]
    return None


class ServiceError(LookupError):
    """The Service or its port does not lead to any pod port (message says why)."""


def service_backends(
    cluster: Cluster, service: DesiredObject, port: int | str, protocol: str
) -> list[Backend]:
    """Every (pod, pod port) a connection to `service`:`port` can land on, as kube-proxy picks."""
    entry = service_port(service, port, protocol)
    if entry is None:
        raise ServiceError(f"{service.ident} has no port {port}/{protocol}")
    selector = (service.doc.get("spec") or {}).get("selector") or {}
    if not selector:
        raise ServiceError(f"{service.ident} has no selector (its endpoints are not pods of this state)")
    proto = str(entry.get("protocol") or "TCP")
    target = entry.get("targetPort", entry.get("port"))
    backends: list[Backend] = []
    for candidate in cluster.pods_matching(service.namespace or "", selector):
        if isinstance(target, str) and not target.isdigit():
            number = candidate.pod.named_port(target, proto)
            if number is None:
                raise ServiceError(
                    f"{service.ident} targets port '{target}', which {candidate.pod.name} does not declare"
                )
        else:
            number = int(target)
        backends.append(Backend(candidate, number, proto))
    if not backends:
        raise ServiceError(f"{service.ident} selects no pod ({dict(selector)})")
    return backends


def service_of_host(host: str, client_namespace: str, namespaces: set[str]) -> tuple[str, str] | None:
    """(namespace, name) of the Service a cluster DNS name denotes, or None for an outside host.

    `svc`, `svc.ns`, `svc.ns.svc` and `svc.ns.svc.cluster.local` all resolve in the cluster. A
    description with spaces ("authoritative name servers") is no DNS name: outside hosts the
    homelab cannot name.
    """
    if any(c.isspace() for c in host):
        return None
    parts = host.lower().rstrip(".").split(".")
    if parts[2:] in (["svc"], ["svc", "cluster", "local"]):
        return parts[1], parts[0]
    if len(parts) == 2 and parts[1] in namespaces:
        return parts[1], parts[0]
    if len(parts) == 1:
        return client_namespace, parts[0]
    return None
