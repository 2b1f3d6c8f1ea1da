"""What a change does to the cluster: the effective objects of two desired states, compared.

A pure function of two `DesiredState`s (built by `converge.build` from two renders): per ArgoCD
Application, the objects added, removed and changed, and for a changed one a compact field-level
diff (`spec.replicas: 2 → 3`). An object is the same object on both sides when its API group, kind,
namespace and name are (its API version is a field: `v1beta1 → v1` is a change, not a swap).

Multi-line strings that are both YAML mappings (a HelmChart's `valuesContent`, a configuration
file in a ConfigMap) are compared key by key: `spec.valuesContent(yaml).deployment.replicas: 1 → 2`.

Lists of mappings that each carry a distinct `name` (containers, ports, env, volumes) are compared
by name, so inserting a container does not report every later one as changed; other lists by index.

A core Secret's `data` and `stringData` values are never read into the result: only which keys were
added, removed or changed. The same redaction serves the object dump (`redacted`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from homelabeazy.desired.state import DesiredObject, DesiredState

Op = Literal["added", "removed", "changed"]
SECRET_FIELDS = ("data", "stringData")
REDACTED = "(redacted)"
"""What the object dump writes in place of every Secret value."""
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True, order=True)
class ObjectId:
    """Who an object is, across two revisions: API group, kind, namespace (None: cluster-scoped), name."""

    group: str
    kind: str
    namespace: str | None
    name: str

    @property
    def text(self) -> str:
        """`apps/Deployment traefik/traefik`, `Namespace vault` (core group and cluster scope omitted)."""
        kind = f"{self.group}/{self.kind}" if self.group else self.kind
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{kind} {where}"

    def as_json(self) -> dict[str, Any]:
        """Plain data for `--json`."""
        return {"group": self.group, "kind": self.kind, "namespace": self.namespace, "name": self.name}


def _sort_key(ident: ObjectId) -> tuple[str, str, str, str]:
    return (ident.group, ident.kind, ident.namespace or "", ident.name)


@dataclass(frozen=True)
class FieldChange:
    """One field that differs. `before`/`after` hold the values (None where absent); for a Secret's
    data keys they are always None and `hidden` is set: the value never enters the result."""

    path: str
    op: Op
    before: Any = None
    after: Any = None
    hidden: bool = False

    @property
    def text(self) -> str:
        """`spec.replicas: 2 → 3`; `data.password: changed (value hidden)`."""
        if self.hidden:
            return f"{self.path}: {self.op} (value hidden)"
        before = "(none)" if self.op == "added" else _compact(self.before)
        after = "(none)" if self.op == "removed" else _compact(self.after)
        return f"{self.path}: {before} → {after}"

    def as_json(self) -> dict[str, Any]:
        """Plain data for `--json` (no `before`/`after` when hidden)."""
        data: dict[str, Any] = {"path": self.path, "op": self.op}
        if self.hidden:
            data["hidden"] = True
        else:
            if self.op != "added":
                data["before"] = self.before
            if self.op != "removed":
                data["after"] = self.after
        return data


@dataclass(frozen=True)
class ChangedObject:
    """An object on both sides whose content differs."""

    ident: ObjectId
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True)
class ApplicationDiff:
    """What changes in one Application."""

    name: str
    wave: int
    added: tuple[ObjectId, ...] = ()
    removed: tuple[ObjectId, ...] = ()
    changed: tuple[ChangedObject, ...] = ()
    status: Literal["added", "removed", "changed"] = "changed"
    """`added`/`removed`: the Application itself exists on one side only."""

    def as_json(self) -> dict[str, Any]:
        """Plain data for `--json`."""
        return {
            "name": self.name,
            "wave": self.wave,
            "status": self.status,
            "added": [i.as_json() for i in self.added],
            "removed": [i.as_json() for i in self.removed],
            "changed": [
                {**c.ident.as_json(), "changes": [f.as_json() for f in c.changes]} for c in self.changed
            ],
        }


@dataclass(frozen=True)
class ObjectDiff:
    """Every Application with a difference, by wave then name."""

    applications: tuple[ApplicationDiff, ...] = field(default=())

    @property
    def empty(self) -> bool:
        """No object differs."""
        return not self.applications

    def counts(self) -> dict[str, int]:
        """Objects added, removed, changed; Applications touched."""
        apps = self.applications
        return {
            "applications": len(apps),
            "added": sum(len(a.added) for a in apps),
            "removed": sum(len(a.removed) for a in apps),
            "changed": sum(len(a.changed) for a in apps),
        }

    def as_json(self) -> dict[str, Any]:
        """Plain data for `--json`."""
        return {"summary": self.counts(), "applications": [a.as_json() for a in self.applications]}


# ----------------------------------------------------------------------------- comparing


def diff_states(before: DesiredState, after: DesiredState) -> ObjectDiff:
    """Per Application, the objects `after` adds, removes and changes relative to `before`."""
    old, new = _by_application(before.objects), _by_application(after.objects)
    waves = {a.name: a.wave for a in before.applications} | {a.name: a.wave for a in after.applications}
    old_apps = {a.name for a in before.applications} | set(old)
    new_apps = {a.name for a in after.applications} | set(new)
    result = []
    for name in sorted(old_apps | new_apps, key=lambda n: (waves.get(n, 0), n)):
        app = _diff_application(name, waves.get(name, 0), old.get(name, {}), new.get(name, {}))
        if app is None:
            continue
        status: Op = "added" if name not in old_apps else "removed" if name not in new_apps else "changed"
        result.append(ApplicationDiff(app.name, app.wave, app.added, app.removed, app.changed, status))
    return ObjectDiff(tuple(result))


def object_id(obj: DesiredObject) -> ObjectId:
    """The identity of a desired object."""
    return ObjectId(obj.group, obj.kind, obj.namespace, obj.name)


def _by_application(objects: Iterable[DesiredObject]) -> dict[str, dict[ObjectId, Mapping[str, Any]]]:
    """Objects by Application, then identity. Two documents of one identity in one Application (the
    cluster keeps one): the last in canonical order, so the choice never depends on render order."""
    grouped: dict[str, dict[ObjectId, list[Mapping[str, Any]]]] = {}
    for obj in objects:
        grouped.setdefault(obj.origin.application, {}).setdefault(object_id(obj), []).append(obj.doc)
    return {
        app: {ident: sorted(docs, key=_canonical)[-1] for ident, docs in idents.items()}
        for app, idents in grouped.items()
    }


def _diff_application(
    name: str, wave: int, old: Mapping[ObjectId, Mapping[str, Any]], new: Mapping[ObjectId, Mapping[str, Any]]
) -> ApplicationDiff | None:
    added = tuple(sorted((i for i in new if i not in old), key=_sort_key))
    removed = tuple(sorted((i for i in old if i not in new), key=_sort_key))
    changed = []
    for ident in sorted((i for i in new if i in old), key=_sort_key):
        changes = diff_object(ident, old[ident], new[ident])
        if changes:
            changed.append(ChangedObject(ident, changes))
    if not (added or removed or changed):
        return None
    return ApplicationDiff(name, wave, added, removed, tuple(changed))


def diff_object(ident: ObjectId, old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """The field changes from `old` to `new`; a core Secret's data values are compared, never kept."""
    if not is_secret(ident.group, ident.kind):
        return tuple(_diff_value("", old, new))
    out = list(_diff_value("", _without(old, SECRET_FIELDS), _without(new, SECRET_FIELDS)))
    for section in SECRET_FIELDS:
        before, after = _keys(old.get(section)), _keys(new.get(section))
        for key in sorted(before.keys() | after.keys()):
            path = _join(section, key)
            if key not in before:
                out.append(FieldChange(path, "added", hidden=True))
            elif key not in after:
                out.append(FieldChange(path, "removed", hidden=True))
            elif before[key] != after[key]:
                out.append(FieldChange(path, "changed", hidden=True))
    return tuple(sorted(out, key=lambda c: c.path))


def is_secret(group: str, kind: str) -> bool:
    """A core Secret: the one kind whose values are never shown."""
    return group == "" and kind == "Secret"


def redacted(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """`doc` with every Secret value replaced by REDACTED (keys kept); any other object unchanged."""
    group = str(doc.get("apiVersion", "")).rpartition("/")[0]
    if not is_secret(group, str(doc.get("kind", ""))):
        return doc
    out = dict(doc)
    for section in SECRET_FIELDS:
        if section in out:
            out[section] = dict.fromkeys(_keys(out[section]), REDACTED)
    return out


def _keys(section: Any) -> dict[str, Any]:
    return {str(k): v for k, v in section.items()} if isinstance(section, Mapping) else {}


def _without(doc: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    drop = set(keys)
    return {k: v for k, v in doc.items() if k not in drop}


def _diff_value(path: str, old: Any, new: Any) -> Iterable[FieldChange]:
    if old == new:
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted({str(k) for k in old} | {str(k) for k in new}):
            sub = _join(path, key)
            if key not in old:
                yield FieldChange(sub, "added", after=new[key])
            elif key not in new:
                yield FieldChange(sub, "removed", before=old[key])
            else:
                yield from _diff_value(sub, old[key], new[key])
        return
    if isinstance(old, list) and isinstance(new, list):
        yield from _diff_list(path, old, new)
        return
    embedded = _embedded_yaml(old, new)
    if embedded is not None:
        yield from _diff_value(f"{path}(yaml)", *embedded)
        return
    yield FieldChange(path or "(object)", "changed", before=old, after=new)


def _embedded_yaml(old: Any, new: Any) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    """Both sides as mappings when both are multi-line YAML text (a HelmChart's `valuesContent`, a
    ConfigMap's configuration file): their keys are compared, not two long strings."""
    if not (isinstance(old, str) and isinstance(new, str) and "\n" in old and "\n" in new):
        return None
    try:
        parsed = (yaml.safe_load(old), yaml.safe_load(new))
    except yaml.YAMLError:
        return None
    if not all(isinstance(p, Mapping) for p in parsed):
        return None
    return parsed[0], parsed[1]


def _diff_list(path: str, old: list[Any], new: list[Any]) -> Iterable[FieldChange]:
    old_named, new_named = _named(old), _named(new)
    if old_named is not None and new_named is not None:
        for name in sorted(old_named.keys() | new_named.keys()):
            sub = f"{path}[name={name}]"
            if name not in old_named:
                yield FieldChange(sub, "added", after=new_named[name])
            elif name not in new_named:
                yield FieldChange(sub, "removed", before=old_named[name])
            else:
                yield from _diff_value(sub, old_named[name], new_named[name])
        return
    for index in range(max(len(old), len(new))):
        sub = f"{path}[{index}]"
        if index >= len(old):
            yield FieldChange(sub, "added", after=new[index])
        elif index >= len(new):
            yield FieldChange(sub, "removed", before=old[index])
        else:
            yield from _diff_value(sub, old[index], new[index])


def _named(items: list[Any]) -> dict[str, Any] | None:
    """The items by their `name` when every one is a mapping with a distinct string name, else None."""
    if not items or not all(isinstance(i, Mapping) and isinstance(i.get("name"), str) for i in items):
        return None
    named = {str(i["name"]): i for i in items}
    return named if len(named) == len(items) else None


def _join(path: str, key: str) -> str:
    """`spec.replicas`; a key that is not a plain word is quoted: `metadata.labels["helm.sh/chart"]`."""
    if _PLAIN_KEY.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _compact(value: Any, limit: int = 100) -> str:
    """A value on one line: JSON, cut at `limit` characters."""
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
