"""Build the desired cluster state from the rendered repo, as K3s and ArgoCD would apply it.

1. K3s' own objects (namespaces, CoreDNS, the `kubernetes` Service, its CRDs).
2. The bootstrap `homelab up` applies: the K3s HelmChart that installs ArgoCD (rendered with its
   `valuesContent`, as helm-controller does) and the root Application.
3. Every Application the root app-of-apps syncs: Helm sources through `helm template` with what
   ArgoCD's repo server passes (release name, destination namespace, value files in order,
   inline values, `--include-crds`, `--kube-version`, `--api-versions`), path sources as the YAML
   documents of that folder. `CreateNamespace=true` creates the destination namespace.

The API versions passed are those of a converged cluster, as ArgoCD passes the cluster's: what
K3s serves plus every CRD version the whole state installs. So a chart is rendered a second
time when the first pass found CRDs and its templates ask (`.Capabilities.APIVersions`).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from homelabeazy.converge.hosts import rendered_host_vars, rendered_k3s_disable
from homelabeazy.converge.kube import (
    api_version_strings,
    k3s_objects,
    schema_version,
    served_kinds,
)
from homelabeazy.converge.recipes import BuiltState, ChartRecipe
from homelabeazy.converge.resolve import Raw, resolve_namespaces
from homelabeazy.converge.values import check_values, offline_schema
from homelabeazy.desired.state import (
    ApplicationInfo,
    DesiredState,
    Finding,
    Origin,
    SourceKind,
    StateBuilder,
)
from homelabeazy.model import Homelab
from homelabeazy.model.catalog import service_entry
from homelabeazy.model.service import ChartPin
from homelabeazy.ops import helm as helm_ops

CLUSTER_WAVE = -3
BOOTSTRAP_WAVE = -2
"""`homelab up` applies the bootstrap (after K3s is up) before ArgoCD syncs anything."""
ROOT_APP = "root"
ARGOCD_NAMESPACE = "argocd"
"""Where the bootstrap applies the root Application (and where ArgoCD runs)."""
GVK = tuple[str, str, str]


@dataclass(frozen=True, eq=False)
class _Chart:
    """One chart an Application (or the ArgoCD HelmChart) renders."""

    application: str
    wave: int
    repo: str
    name: str
    version: str
    request: helm_ops.TemplateRequest
    values_file: str
    """The file a failure is reported against: the last values layer, or the Application."""
    crds_only: bool = False
    """Keep only its CustomResourceDefinitions, as cluster objects (a pre-installed ArgoCD)."""
    layers: tuple[Any, ...] = ()
    """The parsed values layers in order (for a values schema Helm cannot load offline)."""


def build_state(homelab: Homelab, files: Mapping[str, str], charts: helm_ops.ChartCache) -> DesiredState:
    """The whole desired state; charts Helm cannot render become `helm` findings, not errors.

    Raises UsageError when Helm is missing, ExternalSystemError when a chart is in no cache and
    cannot be pulled.
    """
    return build_proof(homelab, files, charts).state


def build_proof(homelab: Homelab, files: Mapping[str, str], charts: helm_ops.ChartCache) -> BuiltState:
    """`build_state`, keeping how each chart was rendered (see BuiltState)."""
    helm = helm_ops.find_helm()
    with tempfile.TemporaryDirectory(prefix="homelab-converge-") as tmp:
        builder = _Builder(homelab, files, charts, helm, Path(tmp))
        builder.collect()
        state = builder.finish()
        return BuiltState(state, helm, tuple(builder.recipes))


@dataclass
class _Builder:
    homelab: Homelab
    files: Mapping[str, str]
    charts: helm_ops.ChartCache
    helm: helm_ops.Helm
    tmp: Path
    state: StateBuilder = field(default_factory=StateBuilder)
    raws: list[Raw] = field(default_factory=list)
    renders: list[_Chart] = field(default_factory=list)
    recipes: list[ChartRecipe] = field(default_factory=list)

    @property
    def root(self) -> str:
        return self.homelab.config.gitops.path.strip("/")

    @property
    def pins(self) -> dict[tuple[str, str], ChartPin]:
        return {(s.chart.name, s.chart.version): s.chart for s in self.homelab.services if s.chart}

    # ------------------------------------------------------------------------- collecting

    def collect(self) -> None:
        """K3s, then the bootstrap files, then (through the root app) every Application."""
        self.state.applications.append(ApplicationInfo("k3s", CLUSTER_WAVE, "kube-system", "(k3s)"))
        # K3s as the rendered group_vars configure it: a packaged component the servers' `disable`
        # list names is never deployed.
        self.state.host_vars = rendered_host_vars(self.files)
        disabled = rendered_k3s_disable(self.state.host_vars)
        for builtin in k3s_objects(disabled):
            self.raws.append(Raw(builtin, Origin("k3s", CLUSTER_WAVE, "(k3s)", "cluster"), "default"))
        if not self.homelab.enabled("argocd"):
            self._external_argocd()
        folder = f"{self.root}/bootstrap"
        owner = "argocd" if self.homelab.enabled("argocd") else None
        self.state.applications.append(
            ApplicationInfo("bootstrap", BOOTSTRAP_WAVE, ARGOCD_NAMESPACE, folder, owner)
        )
        apps: list[tuple[str, Mapping[str, Any]]] = []
        # As `homelab up` reads the folder: every YAML document with a kind (not argocd-values.yaml),
        # applied with `argocd` as the default namespace.
        for path in sorted(p for p in self.files if p.startswith(f"{folder}/") and _is_yaml(p)):
            for doc in _yaml_docs(self.files[path]):
                if not doc.get("kind"):
                    continue
                origin = Origin("bootstrap", BOOTSTRAP_WAVE, path, "bootstrap")
                self.raws.append(Raw(doc, origin, ARGOCD_NAMESPACE))
                if doc.get("kind") == "HelmChart":
                    self._helm_chart(doc, path, origin)
                elif doc.get("kind") == "Application":
                    apps.append((path, doc))
        for path, app in apps:
            self._application(path, app, BOOTSTRAP_WAVE)

    def _external_argocd(self) -> None:
        """ArgoCD managed elsewhere is already installed: its namespace and its CRDs (at the chart
        version `services.argocd.version` names) are the cluster's, there before the bootstrap
        applies the root Application into it."""
        origin = Origin("k3s", CLUSTER_WAVE, "(ArgoCD managed elsewhere)", "cluster")
        self.raws.append(Raw(_namespace(ARGOCD_NAMESPACE), origin, None))
        chart = service_entry(self.homelab.config, "argocd").chart
        assert chart is not None  # ArgoCD is a chart
        self._queue(
            "k3s", CLUSTER_WAVE, repo=chart.repo, chart=chart.name, version=chart.version,
            release="argocd", namespace=ARGOCD_NAMESPACE, value_files=(), layers=[], params=(),
            values_file="(ArgoCD managed elsewhere)", crds_only=True,
        )  # fmt: skip

    def _helm_chart(self, doc: Mapping[str, Any], path: str, origin: Origin) -> None:
        """A K3s HelmChart: helm-controller installs `chart` `version` from `repo` with valuesContent."""
        spec = doc.get("spec") or {}
        namespace = str(spec.get("targetNamespace") or "default")
        if spec.get("createNamespace"):
            self.raws.append(Raw(_namespace(namespace), origin, None))
        text = str(spec.get("valuesContent") or "")
        layers = helm_ops.load_documents(text)[:1] if text else []
        value_files = (self._write_values(f"{path}.valuesContent", text),) if text else ()
        self._queue(
            "bootstrap", BOOTSTRAP_WAVE, repo=str(spec.get("repo", "")), chart=str(spec.get("chart")),
            version=str(spec.get("version")), release=str(doc["metadata"]["name"]), namespace=namespace,
            value_files=value_files, layers=layers, params=(), values_file=path,
        )  # fmt: skip

    def _application(self, path: str, app: Mapping[str, Any], parent_wave: int) -> None:
        """One Application: record it, read its path sources, queue its charts; recurse into child apps."""
        meta = app.get("metadata") or {}
        name = str(meta.get("name", ""))
        wave = parent_wave if name == ROOT_APP else _wave(meta.get("annotations") or {})
        spec = app.get("spec") or {}
        namespace = str((spec.get("destination") or {}).get("namespace") or "default")
        info = ApplicationInfo(name, wave, namespace, path, self._owner(name))
        self.state.applications.append(info)
        sources = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
        if "CreateNamespace=true" in ((spec.get("syncPolicy") or {}).get("syncOptions") or []):
            self.raws.append(Raw(_namespace(namespace), Origin(name, wave, path, "manifest"), None))
        refs = {str(s["ref"]) for s in sources if s.get("ref")}
        for source in sources:
            if source.get("chart"):
                self._app_chart(info, source, refs)
            elif source.get("path") is not None:
                folder = str(source["path"]).strip("/")
                recurse = bool((source.get("directory") or {}).get("recurse"))
                for file in _folder_files(self.files, folder, recurse):
                    for doc in _yaml_docs(self.files[file]):
                        self.raws.append(Raw(doc, Origin(name, wave, file, "manifest"), namespace))
                        if doc.get("kind") == "Application":
                            self._application(file, doc, wave)

    def _owner(self, app_name: str) -> str | None:
        for service in self.homelab.services:
            if app_name in (service.name, service.name.replace("_", "-")):
                return service.name
        return next((a.name for a in self.homelab.apps if a.name == app_name), None)

    def _app_chart(self, app: ApplicationInfo, source: Mapping[str, Any], refs: set[str]) -> None:
        """An Application's Helm source, passed to `helm template` the way ArgoCD's repo server does."""
        name, path = app.name, app.file
        spec = source.get("helm") or {}
        layers: list[Any] = []
        value_files: list[Path] = []
        last = path
        for entry in spec.get("valueFiles") or []:
            ref, _, rel = str(entry).partition("/")
            if ref.startswith("$") and ref[1:] in refs and rel in self.files:
                layers.extend(helm_ops.load_documents(self.files[rel])[:1] or [{}])
                value_files.append(self._write_values(rel, self.files[rel]))
                last = rel
            else:
                message = f"value file {entry} is in no source of the Application"
                self.state.findings.append(Finding("helm", message, path, application=name))
        inline = spec.get("valuesObject") or (yaml.safe_load(spec["values"]) if spec.get("values") else None)
        if inline:
            layers.append(inline)
            value_files.append(self._write_values(f"{name}.inline", inline))
            last = path
        params = tuple(
            (str(p["name"]), str(p.get("value", "")), bool(p.get("forceString")))
            for p in spec.get("parameters") or []
        )
        self._queue(
            name, app.wave, repo=_helm_repo(str(source.get("repoURL", ""))), chart=str(source["chart"]),
            version=str(source.get("targetRevision", "")), release=str(spec.get("releaseName") or name),
            namespace=app.namespace, value_files=tuple(value_files), layers=layers, params=params,
            values_file=last, include_crds=not spec.get("skipCrds"), skip_tests=bool(spec.get("skipTests")),
        )  # fmt: skip

    def _queue(
        self, application: str, wave: int, *, repo: str, chart: str, version: str, release: str,
        namespace: str, value_files: tuple[Path, ...], layers: list[Any],
        params: tuple[tuple[str, str, bool], ...], values_file: str,
        include_crds: bool = True, skip_tests: bool = False, crds_only: bool = False,
    ) -> None:  # fmt: skip
        skip_schema = offline_schema(self.pins.get((chart, version))) is not None
        request = helm_ops.TemplateRequest(
            release, Path(), namespace, "", value_files=value_files, set_values=params,
            include_crds=include_crds, skip_schema_validation=skip_schema, skip_tests=skip_tests,
        )  # fmt: skip
        self.renders.append(
            _Chart(application, wave, repo, chart, version, request, values_file, crds_only, tuple(layers))
        )

    def _locate_charts(self) -> None:
        """Every chart's folder, pulling the missing ones in parallel; then the offline values checks."""
        wanted = sorted({(c.repo, c.name, c.version) for c in self.renders})
        with ThreadPoolExecutor(max_workers=4) as pool:
            folders = dict(
                zip(wanted, pool.map(lambda w: self.charts.get(self.helm, *w), wanted), strict=True)
            )
        located = []
        for chart in self.renders:
            folder = folders[(chart.repo, chart.name, chart.version)]
            for message in check_values(self.pins.get((chart.name, chart.version)), folder, chart.layers):
                self._helm_finding(chart, f"{_who(chart.application)}: {message}")
            located.append(replace(chart, request=replace(chart.request, chart_dir=folder)))
        self.renders = located

    def _helm_finding(self, chart: _Chart, text: str) -> None:
        """A chart Helm refuses: blamed on the user's values when homelab.yaml overrides some."""
        overrides = self._values_path(chart.application)
        hint = "the values from homelab.yaml are merged over homelabeazy's: check them" if overrides else ""
        self.state.findings.append(
            Finding(
                "helm",
                text,
                chart.values_file,
                application=chart.application,
                config_path=overrides,
                hint=hint,
            )
        )

    def _values_path(self, application: str) -> str | None:
        """`services.<name>.values` / `apps[<i>].chart.values` when the user set values for the chart
        of `application`, else None (the finding then points at the service or app itself)."""
        owner = self._owner(application)
        config = self.homelab.config
        if (
            owner is not None
            and owner in type(config.services).model_fields
            and getattr(config.services, owner).values
        ):
            return f"services.{owner}.values"
        for index, app in enumerate(config.apps):
            if app.name == owner and app.chart is not None and app.chart.values:
                return f"apps[{index}].chart.values"
        return None

    def _write_values(self, label: str, values: Any) -> Path:
        path = self.tmp / f"{len(self.renders)}-{len(list(self.tmp.iterdir()))}-{label.replace('/', '_')}"
        text = values if isinstance(values, str) else yaml.safe_dump(values, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    # ------------------------------------------------------------------------- rendering

    def finish(self) -> DesiredState:
        """Render every chart (twice where the API versions changed), then resolve namespaces."""
        self._locate_charts()
        kube = self.homelab.cluster.kubernetes_version
        version, _ = schema_version(kube)
        base = served_kinds(version) | _crd_kinds(r.doc for r in self.raws)
        results = _render_all(self.helm, self.renders, kube, base)
        apis = base | _crd_kinds(doc for res in results.values() for _, doc in res.documents)
        if apis != base:
            groups = {group for group, _, _ in apis - base}
            again = [r for r in self.renders if _may_change(r.request.chart_dir, groups)]
            results.update(_render_all(self.helm, again, kube, apis))
        for chart in self.renders:
            self._add_output(chart, results[chart])
            layers = tuple(
                (p.read_text(encoding="utf-8"), not p.name.endswith(".inline"))
                for p in chart.request.value_files
            )
            self.recipes.append(
                ChartRecipe(
                    chart.application, chart.wave, f"{chart.name}-{chart.version}",
                    results[chart].request, layers, chart.crds_only,
                )
            )  # fmt: skip
        self.state.objects.extend(resolve_namespaces(self.raws))
        return self.state.freeze()

    def _add_output(self, chart: _Chart, result: helm_ops.TemplateResult) -> None:
        if result.error:
            self._helm_finding(
                chart,
                f"{_who(chart.application)}: helm template of {chart.name} {chart.version} "
                f"({chart.repo}) failed: {result.error}",
            )
            return
        prefix = f"{chart.name}-{chart.version}"
        for template, doc in result.documents:
            if chart.crds_only and doc.get("kind") != "CustomResourceDefinition":
                continue
            rel = template.split("/", 1)[1] if "/" in template else template
            kind: SourceKind = "cluster" if chart.crds_only else "chart"
            origin = Origin(chart.application, chart.wave, f"{prefix}/{rel}", kind)
            self.raws.append(Raw(doc, origin, chart.request.namespace))


def _render_all(
    helm: helm_ops.Helm, charts: Iterable[_Chart], kube_version: str, gvks: frozenset[GVK]
) -> dict[_Chart, helm_ops.TemplateResult]:
    """Render charts in parallel: each is its own `helm` process, so threads suffice."""
    apis = api_version_strings(gvks)
    todo = list(charts)
    cache_dir = helm_ops.render_cache_dir()

    def one(chart: _Chart) -> helm_ops.TemplateResult:
        request = replace(chart.request, kube_version=f"v{kube_version}", api_versions=apis)
        return helm_ops.template(helm, request, cache_dir)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip(todo, pool.map(one, todo), strict=True))


def _helm_repo(repo_url: str) -> str:
    """ArgoCD names an OCI Helm repository without a scheme; Helm pulls it as `oci://`."""
    return repo_url if "://" in repo_url else f"oci://{repo_url}"


def _who(application: str) -> str:
    """How a chart's owner is named in a finding."""
    if application == "bootstrap":
        return "the bootstrap HelmChart (K3s installs ArgoCD)"
    if application == "k3s":
        return "ArgoCD managed elsewhere (its CRDs)"
    return f"Application {application}"


def _may_change(chart_dir: Path, groups: set[str]) -> bool:
    """Whether more API versions can change the chart's output: its templates (or its subcharts')
    read .Capabilities.APIVersions and name one of the API groups that were added."""
    if _packed_subcharts(chart_dir):
        return True  # templates inside .tgz subcharts are not read here: assume they may
    text = _template_text(chart_dir)
    return "APIVersions" in text and any(group in text for group in groups)


@cache
def _packed_subcharts(chart_dir: Path) -> bool:
    return any(chart_dir.rglob("charts/*.tgz"))


@cache
def _template_text(chart_dir: Path) -> str:
    return "\n".join(
        path.read_text(encoding="utf-8", errors="replace")
        for path in sorted(chart_dir.rglob("*"))
        if path.suffix in {".yaml", ".yml", ".tpl", ".txt"} and "templates" in path.parts and path.is_file()
    )


# ----------------------------------------------------------------------------- helpers


def _wave(annotations: Mapping[str, Any]) -> int:
    try:
        return int(str(annotations.get("argocd.argoproj.io/sync-wave", "0")).strip())
    except ValueError:
        return 0


def _is_yaml(path: str) -> bool:
    return re.search(r"\.ya?ml$", path) is not None


def _folder_files(files: Mapping[str, str], folder: str, recurse: bool) -> list[str]:
    """ArgoCD's directory source: *.yaml/*.yml/*.json of the folder (and below when recursing)."""
    out = []
    for path in files:
        if not path.startswith(f"{folder}/") or not re.search(r"\.(ya?ml|json)$", path):
            continue
        if recurse or "/" not in path[len(folder) + 1 :]:
            out.append(path)
    return sorted(out)


def _namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _yaml_docs(text: str) -> list[Mapping[str, Any]]:
    return [d for d in helm_ops.load_documents(text) if isinstance(d, Mapping)]


def _crd_kinds(docs: Iterable[Mapping[str, Any]]) -> frozenset[GVK]:
    """(group, version, kind) of every served version of the CRDs among `docs`."""
    out = set()
    for doc in docs:
        if doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc.get("spec") or {}
        kind = str((spec.get("names") or {}).get("kind", ""))
        for version in spec.get("versions") or []:
            if version.get("served", True):
                out.add((str(spec.get("group", "")), str(version.get("name", "")), kind))
    return frozenset(out)
