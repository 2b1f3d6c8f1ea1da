"""The desired cluster state: every object ArgoCD (and K3s) would apply, with where it comes from.

A leaf module: it imports nothing from homelabeazy, so catalog modules can name these types in the
health checks they own without turning the layering upside down.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

SourceKind = Literal["chart", "manifest", "bootstrap", "cluster"]
"""`chart`: rendered by `helm template` from an Application's Helm source; `manifest`: a YAML file
of the repo an Application's path source reads; `bootstrap`: applied by `homelab up` before ArgoCD
exists (the ArgoCD HelmChart, the root Application); `cluster`: what K3s itself provides."""

Phase = Literal["PreSync", "Sync", "PostSync"]
PHASES: tuple[Phase, ...] = ("PreSync", "Sync", "PostSync")


@dataclass(frozen=True)
class Origin:
    """Where one object comes from: the Application that applies it and the file it was read from."""

    application: str
    """ArgoCD Application name; `bootstrap` for what `homelab up` applies, `k3s` for built-ins."""
    wave: int
    """The Application's sync wave (the root app syncs Applications wave by wave)."""
    file: str
    """Rendered repo path (manifests, values) or `<chart>-<version>/<template>` for chart output."""
    source: SourceKind


ARGO_HOOKS: dict[str, Phase | None] = {
    "PreSync": "PreSync",
    "Sync": "Sync",
    "PostSync": "PostSync",
    "Skip": None,
    "SyncFail": None,
    "PreDelete": None,
    "PostDelete": None,
}
"""`argocd.argoproj.io/hook` values; None: never applied by a successful sync."""
HELM_HOOKS: dict[str, Phase] = {
    "pre-install": "PreSync",
    "pre-upgrade": "PreSync",
    "post-install": "PostSync",
    "post-upgrade": "PostSync",
}
"""gitops-engine (pkg/sync/hook/helm/type.go) maps only these four; any other Helm hook (`test`,
`pre-delete`, `pre-rollback`, ...) is still a hook there, so ArgoCD never applies it."""


def _csv(value: Any) -> list[str]:
    return [part.strip() for part in str(value).split(",") if part.strip()]


def hook_phases(annotations: Mapping[str, Any]) -> tuple[Phase, ...] | None:
    """The phases ArgoCD applies an object in, or None when a sync never applies it.

    As gitops-engine decides it: an ArgoCD hook annotation wins over Helm's (Helm's is then
    ignored); `helm.sh/hook: crd-install` is not a hook; a hook of no known phase is skipped.
    """
    helm_hook = "helm.sh/hook" in annotations and str(annotations["helm.sh/hook"]).strip() != "crd-install"
    helm = {HELM_HOOKS[n] for n in _csv(annotations.get("helm.sh/hook", "")) if n in HELM_HOOKS}
    if "argocd.argoproj.io/hook" in annotations:
        names = _csv(annotations["argocd.argoproj.io/hook"])
        argo = [ARGO_HOOKS[n] for n in names if n in ARGO_HOOKS]
        if argo:
            return tuple(p for p in PHASES if p in argo) or None
        # An ArgoCD hook of no known type: still a hook, typed by its Helm annotation if any.
        return tuple(p for p in PHASES if p in helm) or None
    if helm_hook:
        return tuple(p for p in PHASES if p in helm) or None
    return ("Sync",)


@dataclass(frozen=True)
class DesiredObject:
    """One Kubernetes object as the cluster would receive it."""

    doc: Mapping[str, Any]
    origin: Origin
    namespace: str | None
    """Effective namespace (the Application's destination for namespaced kinds without one); None
    for cluster-scoped kinds."""

    @property
    def api_version(self) -> str:
        """`apps/v1`, `v1`, `cert-manager.io/v1`."""
        return str(self.doc.get("apiVersion", ""))

    @property
    def group(self) -> str:
        """API group, empty for the core group."""
        return self.api_version.rpartition("/")[0]

    @property
    def kind(self) -> str:
        """`Deployment`."""
        return str(self.doc.get("kind", ""))

    @property
    def name(self) -> str:
        """metadata.name."""
        return str(self.metadata.get("name", ""))

    @property
    def metadata(self) -> Mapping[str, Any]:
        """metadata, or an empty mapping."""
        meta = self.doc.get("metadata")
        return meta if isinstance(meta, Mapping) else {}

    @property
    def annotations(self) -> Mapping[str, str]:
        """metadata.annotations, or an empty mapping."""
        value = self.metadata.get("annotations")
        return value if isinstance(value, Mapping) else {}

    @property
    def labels(self) -> Mapping[str, str]:
        """metadata.labels, or an empty mapping."""
        value = self.metadata.get("labels")
        return value if isinstance(value, Mapping) else {}

    @property
    def resource_wave(self) -> int:
        """The object's own sync wave inside its Application (gitops-engine: the
        `argocd.argoproj.io/sync-wave` annotation, else `helm.sh/hook-weight`, else 0)."""
        for key in ("argocd.argoproj.io/sync-wave", "helm.sh/hook-weight"):
            try:
                return int(str(self.annotations[key]).strip())
            except (KeyError, ValueError):
                continue
        return 0

    @property
    def phases(self) -> tuple[Phase, ...]:
        """The sync phases ArgoCD applies it in (`("Sync",)` for a plain resource); see `hook_phases`."""
        return hook_phases(self.annotations) or ()

    @property
    def phase(self) -> Phase:
        """The first phase it is applied in (objects of the state always have one)."""
        return (self.phases or ("Sync",))[0]

    @property
    def ident(self) -> str:
        """`Kind/namespace/name` (or `Kind/name` when cluster-scoped): how findings name it."""
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class ApplicationInfo:
    """One ArgoCD Application of the root app-of-apps (or the bootstrap pseudo-application)."""

    name: str
    wave: int
    namespace: str
    """Destination namespace."""
    file: str
    """The rendered file that declares it."""
    owner: str | None = None
    """The model name behind it (`cert_manager`, or an app's name), to locate homelab.yaml lines."""


@dataclass(frozen=True)
class DesiredState:
    """Every Application and every object they apply; the checks read only this (and the model)."""

    applications: tuple[ApplicationInfo, ...]
    objects: tuple[DesiredObject, ...]
    findings: tuple[Finding, ...] = ()
    """What building the state itself found (a chart Helm cannot render, values its schema
    rejects); the `helm` check reports them."""
    host_vars: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """The Ansible variables every K3s node is configured with, as rendered (group_vars all, then
    k3s_cluster): which K3s components the servers disable, what the node role installs and
    loads, who may reach the metrics listeners. Empty when the state holds no ansible/ tree."""

    def of_kind(self, kind: str, group: str | None = None) -> Iterator[DesiredObject]:
        """Objects of one kind (and API group, when given)."""
        return (o for o in self.objects if o.kind == kind and (group is None or o.group == group))

    def find(self, kind: str, namespace: str | None, name: str) -> DesiredObject | None:
        """The object of that kind, namespace and name, if any."""
        for obj in self.objects:
            if obj.kind == kind and obj.namespace == namespace and obj.name == name:
                return obj
        return None

    def application(self, name: str) -> ApplicationInfo | None:
        """The Application of that name, if any."""
        return next((a for a in self.applications if a.name == name), None)

    @property
    def unrendered(self) -> frozenset[str]:
        """Applications Helm refused (each has a `helm` finding): what they would deploy is not in
        the state, so whatever is missing because of them is that finding, not another one."""
        return frozenset(f.application for f in self.findings if f.check == "helm")


Check = Literal[
    "schema", "ordering", "reference", "flow", "health", "helm", "image", "host", "storage", "outcome"
]


@dataclass(frozen=True)
class Finding:
    """One reason the desired state would not converge. Printed as `file: object: message`."""

    check: Check
    message: str
    file: str
    object: str = ""
    """`Kind/namespace/name` of the object at fault (empty when the finding is about a file)."""
    application: str = ""
    config_path: str | None = None
    """Dotted homelab.yaml path behind it (`services.efk`, `apps[1]`), to print its line."""
    hint: str = ""

    def text(self) -> str:
        """One line for a terminal."""
        where = f"{self.file}: {self.object}: " if self.object else f"{self.file}: "
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{self.message}{hint}"


HealthCheck = Callable[[DesiredState], Iterable[Finding]]
"""A service's own known health trap, owned by its catalog module: state in, findings out."""


@dataclass
class StateBuilder:
    """Collects objects while the state is built (a mutable twin of DesiredState)."""

    applications: list[ApplicationInfo] = field(default_factory=list)
    objects: list[DesiredObject] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    host_vars: dict[str, Any] = field(default_factory=dict)

    def freeze(self) -> DesiredState:
        """The immutable state, objects in application-wave order."""
        order = {a.name: (a.wave, i) for i, a in enumerate(self.applications)}
        objects = sorted(self.objects, key=lambda o: order.get(o.origin.application, (-1, -1)))
        return DesiredState(
            tuple(self.applications), tuple(objects), tuple(self.findings), dict(self.host_vars)
        )
