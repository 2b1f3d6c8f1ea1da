"""One service's effective objects, and readers of what a pod really gets from them.

The convergence proof hands each service's outcomes (desired.outcomes) an `Effective` view: the
objects its Applications apply once the user's values are merged over ours and the chart is
rendered, plus the few cluster facts a promise needs (the nodes, the keys of every Secret and
ConfigMap). The readers here answer questions the way the kubelet and the scheduler would: which
source an environment variable really comes from when `env` and `envFrom` both name it, whether a
pod fits on any node. A leaf of the vocabulary: it imports only `state` and `selectors`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from homelabeazy.desired.selectors import as_list, as_map, dig, expression_matches
from homelabeazy.desired.state import DesiredObject

Key = tuple[str, str | None, str]
"""(kind, namespace, name) of a Secret or ConfigMap."""

POD_TEMPLATES: Mapping[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
"""Where each workload kind keeps its pod template."""


@dataclass(frozen=True)
class NodeFacts:
    """A node of the homelab as the scheduler sees it: its labels and what it can hold."""

    name: str
    labels: Mapping[str, str]
    cpu_millis: int
    memory_bytes: int


@dataclass(frozen=True)
class Effective:
    """The objects one service's Applications apply, and the cluster facts its outcomes read."""

    service: str
    namespace: str
    objects: tuple[DesiredObject, ...]
    nodes: tuple[NodeFacts, ...] = ()
    data_keys: Mapping[Key, frozenset[str] | None] = field(default_factory=dict)
    """Keys of every Secret and ConfigMap the whole state makes (None: made at run time with keys
    nobody can know); a Secret or ConfigMap missing here is made by nothing the state shows."""
    priority_classes: frozenset[str] = frozenset()
    """Names of the PriorityClasses that will exist (the cluster's and the state's)."""

    def named(self, kind: str, name: str) -> list[DesiredObject]:
        """Every object of that kind and name (ArgoCD's chart is rendered twice: bootstrap and
        self-managed; both must keep a promise)."""
        return [o for o in self.objects if o.kind == kind and o.name == name]

    def of_kind(self, *kinds: str) -> list[DesiredObject]:
        """Every object of one of `kinds`."""
        return [o for o in self.objects if o.kind in kinds]

    def keys_of(self, kind: str, namespace: str | None, name: str) -> frozenset[str] | Literal[False] | None:
        """The keys of a Secret/ConfigMap; None when unknown; False when nothing makes it."""
        key = (kind, namespace, name)
        return self.data_keys.get(key, False)


def pod_template(obj: DesiredObject) -> Mapping[str, Any]:
    """The pod template of a workload (a bare Pod is its own), empty for anything else."""
    if obj.kind == "Pod":
        return obj.doc
    path = POD_TEMPLATES.get(obj.kind)
    return as_map(dig(obj.doc, *path)) if path is not None else {}


def pod_spec(obj: DesiredObject) -> Mapping[str, Any]:
    """spec of the workload's pod template."""
    return as_map(pod_template(obj).get("spec"))


def containers(obj: DesiredObject, *, init: bool = True) -> list[Mapping[str, Any]]:
    """The workload's containers (init containers first, when asked for)."""
    spec = pod_spec(obj)
    fields = ("initContainers", "containers") if init else ("containers",)
    return [as_map(c) for f in fields for c in as_list(spec.get(f)) if isinstance(c, Mapping)]


def replicas(obj: DesiredObject) -> int | None:
    """spec.replicas of a Deployment/StatefulSet (1 when unset); None for kinds without a count."""
    if obj.kind not in ("Deployment", "StatefulSet", "ReplicaSet"):
        return None
    value = as_map(obj.doc.get("spec")).get("replicas", 1)
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def command_line(container: Mapping[str, Any]) -> list[str]:
    """command + args as the container runs them (each as written)."""
    return [str(a) for a in [*as_list(container.get("command")), *as_list(container.get("args"))]]


# ------------------------------------------------------------------------------- environment


@dataclass(frozen=True)
class EnvSource:
    """Where a container's environment variable really comes from."""

    kind: Literal["value", "Secret", "ConfigMap", "field", "resource", "unset"]
    name: str = ""
    """The Secret or ConfigMap."""
    key: str = ""
    value: str = ""
    """The literal value (kind `value`)."""
    maybe: bool = False
    """An `envFrom` source whose keys nobody can know: it may define the variable (or not)."""

    def words(self) -> str:
        """How a message names it."""
        if self.kind == "value":
            return "a literal value in the pod template"
        if self.kind in ("Secret", "ConfigMap"):
            return f"{self.kind} {self.name}" + (f" key {self.key}" if self.key else "")
        if self.kind == "unset":
            return "nowhere (it is not set)"
        return f"a {self.kind} reference"


def env_source(view: Effective, obj: DesiredObject, container: Mapping[str, Any], var: str) -> EnvSource:
    """The source of `var` in `container` as the kubelet resolves it: the last `env` entry of that
    name wins over every `envFrom`; among `envFrom` sources the last one defining it wins (a
    source's `prefix` is part of the name)."""
    explicit = [as_map(e) for e in as_list(container.get("env")) if as_map(e).get("name") == var]
    if explicit:
        return _explicit(explicit[-1])
    for source in reversed([as_map(s) for s in as_list(container.get("envFrom"))]):
        prefix = str(source.get("prefix") or "")
        if not var.startswith(prefix):
            continue
        key = var[len(prefix) :]
        for kind, ref_field in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
            ref = source.get(ref_field)
            if not isinstance(ref, Mapping):
                continue
            name = str(ref.get("name", ""))
            keys = view.keys_of(kind, obj.namespace, name)
            if keys is False:
                continue  # nothing makes it: the reference check reports a missing one
            if keys is None or key in keys:
                return EnvSource(kind, name, key, maybe=keys is None)  # type: ignore[arg-type]
    return EnvSource("unset")


def _explicit(entry: Mapping[str, Any]) -> EnvSource:
    source = as_map(entry.get("valueFrom"))
    for kind, ref_field in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
        ref = source.get(ref_field)
        if isinstance(ref, Mapping):
            return EnvSource(kind, str(ref.get("name", "")), str(ref.get("key", "")))  # type: ignore[arg-type]
    if "fieldRef" in source:
        return EnvSource("field")
    if "resourceFieldRef" in source:
        return EnvSource("resource")
    return EnvSource("value", value=str(entry.get("value", "")))


def literal_env(container: Mapping[str, Any]) -> dict[str, str]:
    """The container's `env` entries with a literal value (the last one of a name wins)."""
    return {
        str(e.get("name")): str(e.get("value", ""))
        for e in (as_map(x) for x in as_list(container.get("env")))
        if "valueFrom" not in e
    }


# ------------------------------------------------------------------------------- scheduling

_CPU = re.compile(r"^([0-9.]+)(m?)$")
_MEMORY = re.compile(r"^([0-9.]+)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P|)$")
_MEMORY_UNITS = {
    "": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50,
}  # fmt: skip


def cpu_millis(value: Any) -> int | None:
    """A CPU quantity in millicores (`500m`, `2`, `0.5`); None when it is not one we can read."""
    match = _CPU.match(str(value).strip())
    if match is None:
        return None
    try:
        number = float(match.group(1))
    except ValueError:
        return None
    return int(number if match.group(2) else number * 1000)


def memory_bytes(value: Any) -> int | None:
    """A memory quantity in bytes (`512Mi`, `1G`, `1048576`); None when it is not one we can read."""
    match = _MEMORY.match(str(value).strip())
    if match is None:
        return None
    try:
        return int(float(match.group(1)) * _MEMORY_UNITS[match.group(2)])
    except ValueError:
        return None


def pod_requests(spec: Mapping[str, Any]) -> tuple[int, int]:
    """(millicores, bytes) a pod asks the scheduler for: the sum over its containers, or the largest
    init container's request when that is more (init containers run one at a time)."""

    def asked(items: Any) -> list[tuple[int, int]]:
        out = []
        for container in (as_map(c) for c in as_list(items)):
            requests = as_map(dig(container, "resources", "requests"))
            limits = as_map(dig(container, "resources", "limits"))
            # a limit without a request makes the request equal to it
            cpu = requests.get("cpu", limits.get("cpu", 0))
            memory = requests.get("memory", limits.get("memory", 0))
            out.append((cpu_millis(cpu) or 0, memory_bytes(memory) or 0))
        return out

    main = asked(spec.get("containers"))
    init = asked(spec.get("initContainers"))
    cpu = max([sum(c for c, _ in main), *(c for c, _ in init)], default=0)
    memory = max([sum(m for _, m in main), *(m for _, m in init)], default=0)
    return cpu, memory


def node_fits(node: NodeFacts, spec: Mapping[str, Any]) -> str | None:
    """Why a pod with this spec can never run on `node` (None when it can): its nodeSelector, its
    required node affinity, or requests beyond what the node has."""
    for key, value in as_map(spec.get("nodeSelector")).items():
        if node.labels.get(str(key)) != str(value):
            return f"nodeSelector {key}={value}"
    required = dig(spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
    terms = [as_map(t) for t in as_list(as_map(required).get("nodeSelectorTerms"))]
    if required is not None and not any(_term_matches(t, node) for t in terms):
        return "its required node affinity"
    cpu, memory = pod_requests(spec)
    if cpu > node.cpu_millis:
        return f"a request of {cpu}m CPU"
    if memory > node.memory_bytes:
        return f"a request of {memory // 2**20}Mi memory"
    return None


def _term_matches(term: Mapping[str, Any], node: NodeFacts) -> bool:
    """A nodeSelectorTerm: all its expressions hold (an empty term matches nothing)."""
    expressions = [as_map(e) for e in as_list(term.get("matchExpressions"))]
    fields = [as_map(e) for e in as_list(term.get("matchFields"))]
    if not expressions and not fields:
        return False
    field_values = {"metadata.name": node.name}
    return all(expression_matches(e, node.labels) for e in expressions) and all(
        expression_matches(e, field_values) for e in fields
    )


def workloads(view: Effective) -> Iterator[DesiredObject]:
    """Every object of the view that runs pods."""
    return (o for o in view.objects if o.kind in POD_TEMPLATES or o.kind == "Pod")


def env_text(view: Effective, obj: DesiredObject, container: Mapping[str, Any], var: str) -> str | None:
    """The text of `var` when the state shows it: a literal, or a key of a ConfigMap or Secret among
    the view's objects (a Secret's `data` decoded); None when unset or not readable here."""
    source = env_source(view, obj, container, var)
    if source.kind == "value":
        return source.value
    if source.kind not in ("Secret", "ConfigMap") or source.maybe:
        return None
    for found in view.named(source.kind, source.name):
        if found.namespace != obj.namespace:
            continue
        plain = as_map(found.doc.get("stringData" if source.kind == "Secret" else "data")).get(source.key)
        if plain is not None:
            return str(plain)
        encoded = as_map(found.doc.get("data")).get(source.key) if source.kind == "Secret" else None
        if encoded is not None:
            try:
                return base64.b64decode(str(encoded), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return None
    return None


def claimed_volumes(obj: DesiredObject) -> set[str]:
    """Names of the pod volumes a PersistentVolumeClaim backs (a StatefulSet's claim templates too)."""
    names = {str(dig(t, "metadata", "name")) for t in as_list(dig(obj.doc, "spec", "volumeClaimTemplates"))}
    for volume in (as_map(v) for v in as_list(pod_spec(obj).get("volumes"))):
        if "persistentVolumeClaim" in volume:
            names.add(str(volume.get("name")))
    return names


def mounted_at(obj: DesiredObject, path: str) -> str | None:
    """The volume a container of the workload mounts at `path` (None: nothing is mounted there)."""
    for container in containers(obj, init=False):
        for mount in (as_map(m) for m in as_list(container.get("volumeMounts"))):
            if str(mount.get("mountPath", "")).rstrip("/") == path.rstrip("/"):
                return str(mount.get("name"))
    return None
