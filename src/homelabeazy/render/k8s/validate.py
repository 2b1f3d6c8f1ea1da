"""Deep validation of the rendered GitOps tree against the schemas of the tools that consume it.

- Core kinds: the schemas the `kubernetes-validate` package ships, strict (unknown fields are
  errors), for the cluster's Kubernetes minor version, or the newest it ships (with a note).
- Custom resources: `<schemas>/crds/<group>/<kind>_<version>.json`.
- Chart values: merged over `<schemas>/helm/<chart>/values.yaml` as Helm merges them, then checked
  against that chart's `values.schema.json`, when the folder holds one for the pinned version.
- Authelia's configuration: `<schemas>/authelia/configuration.json`.

The validators are built once per schema file and cached: a render holds ~150 documents.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from homelabeazy.model import Homelab
from homelabeazy.render.k8s.services.authelia import CONFIG_KEY, CONFIG_MAP

Note = Callable[[str], None]
REPO_ROOT = Path(__file__).resolve().parents[4]


def is_core(api_version: str) -> bool:
    """Core API versions: `v1`, `apps/v1`, `networking.k8s.io/v1`; not `cert-manager.io/v1`."""
    if "/" not in api_version:
        return True
    group = api_version.split("/", 1)[0]
    return "." not in group or group.endswith(".k8s.io")


def default_schemas() -> Path:
    """`$HOMELAB_SCHEMAS`, else `../shared/schemas` next to this checkout."""
    env = os.environ.get("HOMELAB_SCHEMAS")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "schemas"


def _load_yaml_all(text: str) -> list[Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [doc for doc in yaml.load_all(text, Loader=loader) if doc is not None]


def _errors(validator: jsonschema.protocols.Validator, instance: Any) -> Iterator[str]:
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(str(p) for p in error.absolute_path) or "(root)"
        yield f"{where}: {error.message}"


# ----------------------------------------------------------------------------- core kinds


def _kube_schema_root() -> Path:
    return Path(str(resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")))


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def shipped_versions() -> list[str]:
    """`1.33`-style versions kubernetes-validate has strict schemas for, oldest first."""
    found = set()
    for entry in _kube_schema_root().iterdir():
        match = re.match(r"^v(\d+\.\d+)\.\d+-local-strict$", entry.name)
        if match:
            found.add(match.group(1))
    return sorted(found, key=_minor)


def kube_version(wanted: str) -> tuple[str, str | None]:
    """The schema version to use for Kubernetes `wanted` (`1.33.5`), and a note when it is not that one."""
    versions = shipped_versions()
    minor = ".".join(wanted.split(".")[:2])
    if minor in versions:
        return minor, None
    newest = versions[-1]
    return newest, (
        f"kubernetes-validate ships no schemas for Kubernetes {minor}; core kinds were validated "
        f"against {newest}, the newest it has"
    )


@cache
def _kube_registry(version: str) -> tuple[Path, Registry]:
    folder = _kube_schema_root() / f"v{version}.0-local-strict"
    definitions = json.loads((folder / "_definitions.json").read_text(encoding="utf-8"))
    registry: Registry = Registry().with_resource("_definitions.json", Resource.from_contents(definitions))
    # Crawl once: an uncrawled registry is re-crawled (thousands of definitions) on every lookup.
    return folder, registry.crawl()


@cache
def _kube_validator(version: str, kind: str, api_version: str) -> jsonschema.protocols.Validator | None:
    folder, registry = _kube_registry(version)
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = folder / f"{kind.lower()}-{group_version}.json"
    if not path.exists():
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    registry = registry.with_resource(path.name, Resource.from_contents(schema)).crawl()
    return jsonschema.Draft202012Validator(schema, registry=registry)


# ----------------------------------------------------------------------------- custom resources


@cache
def _crd_validator(
    schemas: Path, group: str, kind: str, version: str
) -> jsonschema.protocols.Validator | None:
    path = schemas / "crds" / group / f"{kind.lower()}_{version}.json"
    if not path.exists():
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)(schema)


# ----------------------------------------------------------------------------- helm values


def merge_values(defaults: Any, overrides: Any) -> Any:
    """Helm's coalescing: maps merge key by key, anything else is replaced; null deletes a default."""
    if isinstance(defaults, dict) and isinstance(overrides, dict):
        merged = dict(defaults)
        for key, value in overrides.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = merge_values(merged[key], value)
            else:
                merged[key] = value
        return merged
    return overrides


@dataclass(frozen=True)
class ChartSchema:
    """A chart's published version, default values and values schema validator."""

    version: str
    defaults: dict[str, Any]
    validator: jsonschema.protocols.Validator


@cache
def _chart_schema(schemas: Path, chart: str) -> ChartSchema | None:
    folder = schemas / "helm" / chart
    if not (folder / "values.schema.json").exists():
        return None
    schema = json.loads((folder / "values.schema.json").read_text(encoding="utf-8"))
    registry: Registry = Registry()
    for extra in sorted(folder.glob("*.json")):
        if extra.name == "values.schema.json":
            continue
        # Schemas refer to their siblings by published URL (Authelia: charts.authelia.com/definitions.json).
        contents = json.loads(extra.read_text(encoding="utf-8"))
        resource = Resource.from_contents(contents, default_specification=DRAFT7)
        for ref in sorted(
            set(re.findall(rf'"\$ref":\s*"([^"#]*{re.escape(extra.name)})', json.dumps(schema)))
        ):
            registry = registry.with_resource(ref, resource)
    registry = registry.crawl()
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    chart_yaml = _load_yaml_all((folder / "Chart.yaml").read_text(encoding="utf-8"))[0]
    defaults: dict[str, Any] = next(
        iter(_load_yaml_all((folder / "values.yaml").read_text(encoding="utf-8"))), {}
    )
    return ChartSchema(str(chart_yaml["version"]), defaults, cls(schema, registry=registry))


# ----------------------------------------------------------------------------- the tree


@dataclass
class Report:
    """Problems found, notes worth telling, and what was checked (tests assert coverage)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        """Record one validated item of kind `what`."""
        self.checked[what] = self.checked.get(what, 0) + 1


def _check_resource(doc: dict[str, Any], where: str, version: str, schemas: Path, report: Report) -> None:
    api_version, kind = str(doc.get("apiVersion", "")), str(doc.get("kind", ""))
    if not api_version or not kind:
        report.problems.append(f"{where}: a document without apiVersion/kind")
        return
    if is_core(api_version):
        validator = _kube_validator(version, kind, api_version)
        label = "core"
    else:
        group, _, api = api_version.partition("/")
        validator = _crd_validator(schemas, group, kind, api)
        label = "custom"
    if validator is None:
        report.problems.append(f"{where}: no schema for {kind} {api_version}")
        return
    report.count(f"{label} {kind}")
    name = doc.get("metadata", {}).get("name", "?")
    for error in _errors(validator, doc):
        report.problems.append(f"{where}: {kind}/{name}: {error}")


def _value_files(documents: dict[str, list[Any]]) -> dict[str, tuple[str, str]]:
    """values file path -> (chart, pinned version), read from the Applications' Helm sources."""
    found: dict[str, tuple[str, str]] = {}
    for docs in documents.values():
        for doc in docs:
            if not isinstance(doc, dict) or doc.get("kind") != "Application":
                continue
            for source in doc.get("spec", {}).get("sources", []):
                for value_file in source.get("helm", {}).get("valueFiles", []):
                    path = re.sub(r"^\$[a-z]+/", "", value_file)
                    found[path] = (source["chart"], str(source["targetRevision"]))
    return found


def _check_values(path: str, values: Any, pin: tuple[str, str], schemas: Path, report: Report) -> None:
    chart, pinned = pin
    published = _chart_schema(schemas, chart)
    if published is None:
        return
    if published.version != pinned:
        report.problems.append(
            f"{path}: chart {chart} is pinned to {pinned} but the schema folder holds {published.version}"
        )
        return
    merged = merge_values(copy.deepcopy(published.defaults), values or {})
    report.count(f"helm values {chart}")
    for error in _errors(published.validator, merged):
        report.problems.append(f"{path}: values of {chart} {pinned}: {error}")


def _check_authelia(path: str, doc: dict[str, Any], schemas: Path, report: Report) -> None:
    schema_path = schemas / "authelia" / "configuration.json"
    if not schema_path.exists():
        report.problems.append(f"{schema_path}: Authelia's configuration schema is missing")
        return
    validator = _authelia_validator(schema_path)
    configuration = yaml.safe_load(doc["data"][CONFIG_KEY])
    report.count("authelia configuration")
    for error in _errors(validator, configuration):
        report.problems.append(f"{path}: Authelia configuration: {error}")


@cache
def _authelia_validator(schema_path: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def validate_tree(homelab: Homelab, files: dict[str, str], schemas: Path | None = None) -> Report:
    """Validate every file of the kubernetes tree in `files`."""
    report = Report()
    folder = (schemas or default_schemas()).resolve()
    if not (folder / "crds").is_dir():
        report.problems.append(
            f"{folder}: not a schema folder (no crds/ inside); pass --schemas DIR or set HOMELAB_SCHEMAS"
        )
        return report
    version, note = kube_version(homelab.cluster.kubernetes_version)
    if note:
        report.notes.append(note)
    root = homelab.config.gitops.path.strip("/") + "/"
    documents = {path: _load_yaml_all(text) for path, text in files.items() if path.startswith(root)}
    value_files = _value_files(documents)
    for path, docs in documents.items():
        if path in value_files:
            _check_values(path, docs[0] if docs else {}, value_files[path], folder, report)
            continue
        for doc in docs:
            _check_resource(doc, path, version, folder, report)
            if doc.get("kind") == "ConfigMap" and doc.get("metadata", {}).get("name") == CONFIG_MAP:
                _check_authelia(path, doc, folder, report)
    orphans = sorted(p for p in documents if "/values/" in p and p not in value_files)
    report.problems.extend(f"{p}: values file no Application uses" for p in orphans)
    return report
