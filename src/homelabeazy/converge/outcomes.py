"""The `outcome` check: every service's promises, tested on its effective objects.

Each catalog module may define `outcomes(homelab) -> Iterable[Outcome]` (desired.outcomes): what
the homelab relies on about that service's rendered objects. They hold with our values alone (the
proof of the example is at zero findings), so a breach with the user's `values:` merged in is
caused by those values. The finding then points at the most specific override that causes it:
with a way to render a chart again (`Rerender`), the user's keys are tried one at a time, merged
over ours alone (see `culprits`); without one, at `services.<name>.values`.

Charts are rendered again only for a breach, never on the path where every promise holds.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from homelabeazy.converge.inventory import inventory
from homelabeazy.converge.kube import BUILTIN_PRIORITY_CLASSES, node_labels
from homelabeazy.converge.sync import applied
from homelabeazy.desired.effective import Effective, NodeFacts
from homelabeazy.desired.outcomes import Breach, Outcome
from homelabeazy.desired.state import DesiredObject, DesiredState, Finding
from homelabeazy.model import Homelab
from homelabeazy.model.catalog.overrides import deep_merge, dotted
from homelabeazy.model.service import ServiceEntry
from homelabeazy.render.k8s.services import REGISTRY as RENDERERS

Rerender = Callable[[str, Mapping[str, Any]], "tuple[DesiredObject, ...] | None"]
"""(Application, values) -> its chart's objects rendered with those values in place of the repo's
values file; None when Helm refuses (converge.build.BuiltState.rerender)."""

MAX_RENDERS = 24
"""Renders one service's attribution may spend; past it, a finding stays at the key reached."""
_HINT = "remove this override; what it changes is something the homelab relies on"


def check_outcomes(state: DesiredState, homelab: Homelab, rerender: Rerender | None = None) -> list[Finding]:
    """Every breach of every enabled service's outcomes, located at the override behind it."""
    facts = _Facts.of(state, homelab)
    findings: list[Finding] = []
    for entry in homelab.services:
        hook = _hook(entry.name)
        view = facts.view(entry)
        if hook is None or view is None:
            continue
        outcomes = list(hook(homelab))
        broken = _distinct([(o, b) for o in outcomes for b in o.breaches(view)])
        if not broken:
            continue
        values = getattr(homelab.config.services, entry.name).values
        blame = _Blame(entry, homelab, values, view, rerender) if values and rerender is not None else None
        for outcome, breach in broken:
            paths = blame.culprits(outcome, breach) if blame is not None else [()]
            for path in paths:
                findings.append(
                    _finding(state, entry, outcome, breach, _config_path(entry.name, values, path))
                )
    return findings


def _distinct(broken: list[tuple[Outcome, Breach]]) -> list[tuple[Outcome, Breach]]:
    """One breach per object and words: ArgoCD's chart is rendered twice (the bootstrap and the
    self-managed Application), and the same object breaking a promise is one finding."""
    seen: set[tuple[str, str, str]] = set()
    kept = []
    for outcome, breach in broken:
        key = (outcome.promise, breach.what, breach.obj.ident if breach.obj is not None else "")
        if key not in seen:
            seen.add(key)
            kept.append((outcome, breach))
    return kept


def _hook(service: str) -> Callable[[Homelab], Iterable[Outcome]] | None:
    module: ModuleType = importlib.import_module(f"homelabeazy.model.catalog.{service}")
    hook = getattr(module, "outcomes", None)
    return hook if callable(hook) else None


def _config_path(service: str, values: Mapping[str, Any], path: tuple[str, ...]) -> str:
    if not values:
        return f"services.{service}"
    inner = dotted(path)
    return f"services.{service}.values" + (f".{inner}" if inner else "")


def _finding(
    state: DesiredState, entry: ServiceEntry, outcome: Outcome, breach: Breach, config_path: str
) -> Finding:
    obj = breach.obj
    app = obj.origin.application if obj is not None else _main_application(state, entry)
    info = state.application(app)
    return Finding(
        check="outcome",
        message=f"{breach.what}: the homelab relies on this — {outcome.promise}",
        file=obj.origin.file if obj is not None else (info.file if info is not None else ""),
        object=obj.ident if obj is not None else "",
        application=app,
        config_path=config_path,
        hint=outcome.hint or _HINT,
    )


def _main_application(state: DesiredState, entry: ServiceEntry) -> str:
    for name in (entry.name.replace("_", "-"), entry.name):
        if state.application(name) is not None:
            return name
    return next((a.name for a in state.applications if a.owner == entry.name), entry.name)


@dataclass(frozen=True)
class _Facts:
    """What every view shares: the objects by owner, the nodes, the Secrets' and ConfigMaps' keys."""

    state: DesiredState
    owned: Mapping[str, tuple[DesiredObject, ...]]
    nodes: tuple[NodeFacts, ...]
    data_keys: Mapping[tuple[str, str | None, str], frozenset[str] | None]
    priority_classes: frozenset[str]

    @classmethod
    def of(cls, state: DesiredState, homelab: Homelab) -> _Facts:
        owners = {a.name: a.owner for a in state.applications if a.owner is not None}
        owned: dict[str, list[DesiredObject]] = {}
        objects = applied(state)
        for obj in objects:
            owner = owners.get(obj.origin.application)
            if owner is not None:
                owned.setdefault(owner, []).append(obj)
        made = [o for entry in homelab.services if entry.creates is not None for o in entry.creates(state)]
        have = inventory(state, made)
        keys = {k: v for k, v in have.keys.items() if k[0] in ("Secret", "ConfigMap")}
        nodes = tuple(
            NodeFacts(n.name, node_labels(n.name, n.role == "server"), n.cores * 1000, n.memory_mb * 2**20)
            for n in homelab.nodes
        )
        classes = BUILTIN_PRIORITY_CLASSES | {o.name for o in objects if o.kind == "PriorityClass"}
        return cls(state, {k: tuple(v) for k, v in owned.items()}, nodes, keys, classes)

    def view(self, entry: ServiceEntry, objects: tuple[DesiredObject, ...] | None = None) -> Effective | None:
        """The service's view; None when Helm refused one of its charts (the `helm` finding is it)."""
        apps = {a.name for a in self.state.applications if a.owner == entry.name}
        if apps & self.state.unrendered:
            return None
        return Effective(
            entry.name,
            entry.namespace,
            self.owned.get(entry.name, ()) if objects is None else objects,
            self.nodes,
            self.data_keys,
            self.priority_classes,
        )


@dataclass
class _Blame:
    """Finds the user's keys that cause a breach, rendering the service's chart with subsets of them."""

    entry: ServiceEntry
    homelab: Homelab
    values: Mapping[str, Any]
    view: Effective
    rerender: Rerender
    renders: int = 0

    def __post_init__(self) -> None:
        self.ours = RENDERERS[self.entry.name](self.homelab, self.entry).values or {}
        self.cache: dict[tuple[str, str], tuple[DesiredObject, ...] | None] = {}

    def culprits(self, outcome: Outcome, breach: Breach) -> list[tuple[str, ...]]:
        """The most specific keys of the user's values that break the promise on their own.

        Top down: a key whose subtree alone, merged over our values, still shows the breach is a
        culprit; its own keys are tried the same way, and it stays the culprit when none of them
        shows it alone (two keys act together) or the render budget is spent. No top-level key
        showing it alone leaves the whole `values`.
        """
        application = breach.obj.origin.application if breach.obj is not None else None
        applications = [application] if application else self._applications()

        def shows(subsets: list[Mapping[str, Any]]) -> list[bool]:
            return self._show_breach(applications, outcome, breach, subsets)

        return self._search((), self.values, shows)

    def _search(
        self, prefix: tuple[str, ...], node: Any, shows: Callable[[list[Mapping[str, Any]]], list[bool]]
    ) -> list[tuple[str, ...]]:
        if not isinstance(node, Mapping) or not node:
            return [prefix]
        keys = list(node)
        if len(keys) == 1:  # the same values either way: nothing to render
            return self._search((*prefix, str(keys[0])), node[keys[0]], shows)
        if self.renders >= MAX_RENDERS:
            return [prefix]
        hits = [
            k for k, hit in zip(keys, shows([_only(prefix, k, node[k]) for k in keys]), strict=True) if hit
        ]
        if not hits:
            return [prefix]
        return [path for k in hits for path in self._search((*prefix, str(k)), node[k], shows)]

    def _applications(self) -> list[str]:
        return sorted({o.origin.application for o in self.view.objects if o.origin.source == "chart"})

    def _show_breach(
        self, applications: list[str], outcome: Outcome, breach: Breach, subsets: list[Mapping[str, Any]]
    ) -> list[bool]:
        jobs = [(app, subset) for subset in subsets for app in applications]
        with ThreadPoolExecutor(max_workers=2) as pool:
            rendered = list(pool.map(lambda job: self._render(*job), jobs))
        results = []
        for index in range(len(subsets)):
            objects = list(self.view.objects)
            failed = False
            for offset, app in enumerate(applications):
                new = rendered[index * len(applications) + offset]
                if new is None:
                    failed = True
                    break
                objects = [
                    o for o in objects if not (o.origin.application == app and o.origin.source == "chart")
                ]
                objects.extend(new)
            if failed:
                results.append(False)
                continue
            view = Effective(*_fields(self.view, tuple(objects)))
            results.append(any(_same(b, breach) for b in outcome.breaches(view)))
        return results

    def _render(self, application: str, subset: Mapping[str, Any]) -> tuple[DesiredObject, ...] | None:
        key = (application, json.dumps(subset, sort_keys=True, default=str))
        if key not in self.cache:
            self.renders += 1
            self.cache[key] = self.rerender(application, deep_merge(self.ours, subset))
        return self.cache[key]


def _same(one: Breach, other: Breach) -> bool:
    """The same breach: the same words about an object of the same Application (ArgoCD's chart is
    rendered twice, and each render's objects say the same)."""
    where = (one.obj.origin.application, one.obj.ident) if one.obj is not None else None
    there = (other.obj.origin.application, other.obj.ident) if other.obj is not None else None
    return one.what == other.what and where == there


def _fields(view: Effective, objects: tuple[DesiredObject, ...]) -> Iterator[Any]:
    yield from (view.service, view.namespace, objects, view.nodes, view.data_keys, view.priority_classes)


def _only(prefix: tuple[str, ...], key: str, value: Any) -> dict[str, Any]:
    """The user's values holding only `value` at `prefix + key`."""
    result: dict[str, Any] = {key: value}
    for step in reversed(prefix):
        result = {step: result}
    return result
