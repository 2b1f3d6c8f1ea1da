"""`homelab validate --deep --dump-objects DIR`: every effective object, one YAML file per Application.

For scanners and reviewers: the objects the cluster would receive, in their effective namespaces,
each Application's in a multi-document file `<application>.yaml`, in a fixed order (API group, kind,
namespace, name). Secret values are replaced by a placeholder (`object_diff.REDACTED`), keys kept:
the dump is meant to be read and shared, and a secret never leaves Vault in plain text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from homelabeazy.converge.object_diff import object_id, redacted
from homelabeazy.desired.state import DesiredObject, DesiredState

MARKER = ".homelab-objects"
"""Written into a dump folder: only a folder holding it has its stale `*.yaml` files removed."""


def object_files(state: DesiredState) -> dict[str, str]:
    """`{"<application>.yaml": multi-document YAML}` for every Application that applies an object."""
    grouped: dict[str, list[DesiredObject]] = {}
    for obj in state.objects:
        grouped.setdefault(obj.origin.application, []).append(obj)
    files = {}
    for app, objects in sorted(grouped.items()):
        ordered = sorted(objects, key=lambda o: (_key(o), _dump(o.doc)))
        files[f"{file_name(app)}.yaml"] = yaml.safe_dump_all(
            [_with_namespace(o) for o in ordered], sort_keys=False, allow_unicode=True
        )
    return files


def file_name(application: str) -> str:
    """An Application name as a file name (they are DNS labels; anything else becomes `_`)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", application).lstrip(".") or "_"


def _key(obj: DesiredObject) -> tuple[str, str, str, str]:
    ident = object_id(obj)
    return (ident.group, ident.kind, ident.namespace or "", ident.name)


def _with_namespace(obj: DesiredObject) -> Mapping[str, Any]:
    """The redacted document with its effective namespace written in (what the cluster stores)."""
    doc = dict(redacted(obj.doc))
    if obj.namespace is not None:
        meta = dict(doc.get("metadata") or {})
        meta["namespace"] = obj.namespace
        doc["metadata"] = meta
    return doc


def _dump(doc: Mapping[str, Any]) -> str:
    return str(yaml.safe_dump(dict(doc), sort_keys=True))
