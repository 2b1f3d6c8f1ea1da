"""The `schema` check: every object of the desired state strictly valid, as the API server decides.

- Built-in kinds: kubernetes-validate's strict schemas at the cluster's minor version, and only
  API versions that version serves.
- Custom resources: the `openAPIV3Schema` of the exact served version of the CRD that the state
  itself installs (a chart, a manifest, or K3s), made strict the way the API server is with
  strict field validation (kubectl's default, and server-side apply's): unknown fields are errors
  except under `x-kubernetes-preserve-unknown-fields`. A custom resource whose CRD nothing installs
  is a finding.
- Configuration embedded in objects (Authelia's configuration.yaml in its ConfigMap) against the
  tool's own schema, shipped as package data.

Validators are built once per schema and identical documents checked once (the ArgoCD chart is
rendered both by the bootstrap HelmChart and by the argocd Application).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource

from homelabeazy.converge.kube import (
    data_path,
    kube_definitions,
    kube_schema_root,
    schema_version,
    served_kinds,
)
from homelabeazy.converge.state import DesiredObject, DesiredState, Finding
from homelabeazy.converge.values import errors
from homelabeazy.model import Homelab
from homelabeazy.render.k8s.services.authelia import CONFIG_KEY, CONFIG_MAP

MAX_ERRORS = 5
"""Per object: the first few say what is wrong; hundreds would drown the report."""


def check_schema(state: DesiredState, homelab: Homelab) -> list[Finding]:
    """Every object valid for its kind and version; custom resources against the state's own CRDs."""
    version, _ = schema_version(homelab.cluster.kubernetes_version)
    crds = _crd_index(state)
    builtin_groups = {g for g, _, _ in served_kinds(version)}
    findings: list[Finding] = []
    seen: dict[str, list[str]] = {}
    for obj in state.objects:
        if obj.origin.source == "cluster":
            continue
        key = json.dumps(obj.doc, sort_keys=True, default=str)
        if key not in seen:
            seen[key] = list(_problems(obj, version, crds, builtin_groups))
        findings.extend(
            Finding("schema", text, obj.origin.file, obj.ident, obj.origin.application) for text in seen[key]
        )
    return findings


def _problems(
    obj: DesiredObject, version: str, crds: Mapping[tuple[str, str], Mapping[str, Any]], builtin: set[str]
) -> Iterator[str]:
    if not obj.api_version or not obj.kind:
        yield "a document without apiVersion or kind"
        return
    group, _, api = obj.api_version.rpartition("/")
    if group in builtin:
        if (group, api, obj.kind) not in served_kinds(version):
            yield f"{obj.kind} {obj.api_version} is not served by Kubernetes {version}"
            return
        validator = _kube_validator(version, obj.kind, obj.api_version)
        if validator is None:  # pragma: no cover - served kinds all have a schema
            yield f"no schema for {obj.kind} {obj.api_version} in Kubernetes {version}"
            return
    else:
        crd = crds.get((group, obj.kind))
        if crd is None:
            yield f"no CRD in the desired state installs {obj.kind} of {group or 'the core group'}"
            return
        served = _served_version(crd, api)
        if served is None:
            yield f"the CRD {crd['metadata']['name']} does not serve {obj.api_version}"
            return
        validator = _crd_validator(json.dumps(served, sort_keys=True))
    yield from list(errors(validator, obj.doc))[:MAX_ERRORS]
    if obj.kind == "ConfigMap" and obj.name == CONFIG_MAP and CONFIG_KEY in (obj.doc.get("data") or {}):
        yield from _authelia(obj.doc["data"][CONFIG_KEY])


def _crd_index(state: DesiredState) -> dict[tuple[str, str], Mapping[str, Any]]:
    """(group, kind) -> the first CRD the state installs for it (K3s' own first)."""
    index: dict[tuple[str, str], Mapping[str, Any]] = {}
    for crd in state.of_kind("CustomResourceDefinition", "apiextensions.k8s.io"):
        spec = crd.doc.get("spec") or {}
        index.setdefault(
            (str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", ""))), crd.doc
        )
    return index


def _served_version(crd: Mapping[str, Any], version: str) -> Mapping[str, Any] | None:
    for entry in (crd.get("spec") or {}).get("versions") or []:
        if entry.get("name") == version and entry.get("served", True):
            schema = (entry.get("schema") or {}).get("openAPIV3Schema")
            return schema if isinstance(schema, Mapping) else {"x-kubernetes-preserve-unknown-fields": True}
    return None


# ----------------------------------------------------------------------------- built-in kinds


@cache
def _kube_registry(version: str) -> Registry:
    registry: Registry = Registry().with_resource(
        "_definitions.json", Resource.from_contents(dict(kube_definitions(version)))
    )
    # Crawl once: an uncrawled registry is re-crawled (thousands of definitions) on every lookup.
    return registry.crawl()


@cache
def _kube_validator(version: str, kind: str, api_version: str) -> jsonschema.protocols.Validator | None:
    folder = kube_schema_root() / f"v{version}.0-local-strict"
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = folder / f"{kind.lower()}-{group_version}.json"
    if not path.exists():
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    registry = _kube_registry(version).with_resource(path.name, Resource.from_contents(schema)).crawl()
    return jsonschema.Draft202012Validator(schema, registry=registry)


# ----------------------------------------------------------------------------- custom resources


@cache
def _crd_validator(schema_json: str) -> jsonschema.protocols.Validator:
    schema = strict_schema(json.loads(schema_json), root=True)
    return jsonschema.Draft7Validator(schema)


_COMBINATORS = ("allOf", "anyOf", "oneOf")
_DROPPED = ("format", "nullable", "description", "example", "externalDocs", "default")


def strict_schema(node: Mapping[str, Any], *, root: bool = False) -> dict[str, Any]:
    """A CRD's structural OpenAPI v3 schema as strict JSON Schema, with the API server's extensions.

    Objects with `properties` reject other fields unless `x-kubernetes-preserve-unknown-fields`;
    `x-kubernetes-int-or-string` takes either; `nullable` admits null; an embedded resource (and
    the root) always admits apiVersion, kind and metadata. `format` is advisory, as for the server.
    """
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties"):
            out[key] = {name: strict_schema(sub) for name, sub in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, Mapping)):
            out[key] = strict_schema(value) if isinstance(value, Mapping) else value
        elif key in _COMBINATORS:
            out[key] = [strict_schema(sub) for sub in value]
        elif key not in _DROPPED and not key.startswith("x-kubernetes-"):
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        if not any(k in out for k in _COMBINATORS):
            out["type"] = ["integer", "string"]
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if root or node.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        for name, kind in (("apiVersion", "string"), ("kind", "string"), ("metadata", "object")):
            props.setdefault(name, {"type": kind})
    is_object = node.get("type") == "object" or "properties" in node
    closed = "properties" in out and "additionalProperties" not in node
    if is_object and closed and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


# ----------------------------------------------------------------------------- embedded configuration


@cache
def _authelia_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(data_path("authelia/configuration.json").read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def _authelia(text: str) -> Iterator[str]:
    try:
        configuration = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        yield f"Authelia {CONFIG_KEY} is not YAML: {exc}"
        return
    for problem in errors(_authelia_validator(), configuration):
        yield f"Authelia configuration: {problem}"
