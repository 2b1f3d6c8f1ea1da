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

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.metadata import version as version_of
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource

from homelabeazy.converge.inventory import unseen
from homelabeazy.converge.kube import (
    data_path,
    kube_definitions,
    kube_schema_root,
    schema_version,
    served_kinds,
)
from homelabeazy.converge.values import errors
from homelabeazy.desired.state import DesiredObject, DesiredState, Finding
from homelabeazy.model import Homelab
from homelabeazy.model.catalog.authelia import CONFIG_KEY, CONFIG_MAP

MAX_ERRORS = 5
"""Per object: the first few say what is wrong; hundreds would drown the report."""
MEMO_FORMAT = 1
"""Bump when what the memo's keys or values mean changes."""

MEMO: dict[str, list[str]] = {}
"""Content key (the document and the exact schema it is checked against) -> its problems.
Checking is pure, so a result holds for as long as both are unchanged; `validate --deep` keeps
this memo between runs (converge/deep.py) and a warm run validates only what changed."""
USED: set[str] = set()
"""Keys looked up since the memo was loaded (what is worth keeping)."""


def check_schema(state: DesiredState, homelab: Homelab) -> list[Finding]:
    """Every object valid for its kind and version; custom resources against the state's own CRDs."""
    version, _ = schema_version(homelab.cluster.kubernetes_version)
    crds = _crd_index(state)
    builtin_groups = {g for g, _, _ in served_kinds(version)}
    blind = unseen(state, homelab).crd_groups
    findings: list[Finding] = []
    for obj in state.objects:
        if obj.origin.source == "cluster":
            continue
        if obj.group in blind and (obj.group, obj.kind) not in crds:
            continue  # its CRD comes from a chart Helm refused: that `helm` finding says it
        key = _memo_key(obj, version, crds)
        USED.add(key)
        if key not in MEMO:
            MEMO[key] = list(_problems(obj, version, crds, builtin_groups))
        findings.extend(
            Finding("schema", text, obj.origin.file, obj.ident, obj.origin.application) for text in MEMO[key]
        )
    return findings


def _memo_key(obj: DesiredObject, version: str, crds: Mapping[tuple[str, str], Mapping[str, Any]]) -> str:
    """The document and everything its verdict depends on: the Kubernetes schemas' version (and
    kubernetes-validate's), the CRD it is checked against, the shipped Authelia schema."""
    digest = hashlib.sha256()
    crd = crds.get((obj.group, obj.kind))
    parts = [
        MEMO_FORMAT,
        _code_digest(),
        version,
        _kube_validate_version(),
        _authelia_digest(),
        crd is not None,
    ]
    digest.update(json.dumps(parts).encode())
    if crd is not None:
        digest.update(_crd_digest(id(crd), crd))
    digest.update(json.dumps(obj.doc, sort_keys=True, default=str).encode())
    return digest.hexdigest()


_CRD_DIGESTS: dict[int, tuple[Mapping[str, Any], bytes]] = {}


def _crd_digest(ident: int, crd: Mapping[str, Any]) -> bytes:
    cached = _CRD_DIGESTS.get(ident)
    if cached is None or cached[0] is not crd:
        cached = (crd, hashlib.sha256(json.dumps(crd.get("spec"), sort_keys=True).encode()).digest())
        _CRD_DIGESTS[ident] = cached
    return cached[1]


@cache
def _code_digest() -> str:
    """This module's own source: a changed check never reuses an old verdict."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


@cache
def _kube_validate_version() -> str:
    return version_of("kubernetes-validate")


@cache
def _authelia_digest() -> str:
    return hashlib.sha256(data_path("authelia/configuration.json").read_bytes()).hexdigest()


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
        # The API server checks a custom resource's metadata as any object's.
        found = errors(_object_meta_validator(version), obj.doc.get("metadata"))
        yield from [_under("metadata", text) for text in found][:MAX_ERRORS]
    yield from list(errors(validator, obj.doc))[:MAX_ERRORS]
    if obj.kind == "ConfigMap" and obj.name == CONFIG_MAP and CONFIG_KEY in (obj.doc.get("data") or {}):
        yield from _authelia(obj.doc["data"][CONFIG_KEY])


def _under(field: str, text: str) -> str:
    """`(root): x` -> `metadata: x`; `labels.a: x` -> `metadata.labels.a: x`."""
    return field + text.removeprefix("(root)") if text.startswith("(root)") else f"{field}.{text}"


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


@cache
def _object_meta_validator(version: str) -> jsonschema.protocols.Validator:
    ref = f"{kube_definitions(version).get('$id', '_definitions.json')}#/$defs/{_OBJECT_META}"
    return jsonschema.Draft202012Validator({"$ref": ref}, registry=_kube_registry(version))


_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


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


def authelia_problems(text: str) -> list[str]:
    """What Authelia's configuration schema says about the configuration file `text` (empty: valid)."""
    return list(_authelia(text))


def _authelia(text: str) -> Iterator[str]:
    try:
        configuration = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        yield f"Authelia {CONFIG_KEY} is not YAML: {exc}"
        return
    for problem in errors(_authelia_validator(), configuration):
        yield f"Authelia configuration: {problem}"
