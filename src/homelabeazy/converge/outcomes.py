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
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from types import ModuleType
from typing import Any

from homelabeazy.converge.inventory import inventory
from homelabeazy.converge.kube import BUILTIN_PRIORITY_CLASSES, node_labels
from homelabeazy.converge.sync import applied
from homelabeazy.desired.effective import Effective, NodeFacts
from homelabeazy.desired.outcomes import Breach, Outcome
from homelabeazy.desired.state import DesiredObject, DesiredState, Finding
from homelabeazy.model import Homelab
from homelabeazy.model.build import app_facts
from homelabeazy.model.catalog.apps import app_values, known_chart
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
        blame = None
        if values and rerender is not None:
            ours = RENDERERS[entry.name](homelab, entry).values or {}
            blame = _Blame(values, partial(deep_merge, ours), view, rerender)
        owner = f"services.{entry.name}"
        for outcome, breach in broken:
            for path in blame.culprits(outcome, breach) if blame is not None else [()]:
                findings.append(_finding(state, entry, outcome, breach, _values_path(owner, values, path)))
    return findings + _app_findings(state, homelab, facts, rerender)


def _app_findings(
    state: DesiredState, homelab: Homelab, facts: _Facts, rerender: Rerender | None
) -> list[Finding]:
    """The outcomes of the well-known app charts the homelab completes values for (Homepage): the
    user's values are the whole of such an app's values, so a breach points at them."""
    found: list[Finding] = []
    for index, app in enumerate(homelab.apps):
        source = app.config.chart
        chart = known_chart(source.repo, source.name) if source is not None else None
        if source is None or chart is None or chart.outcomes is None:
            continue
        view = facts.app_view(app.name, app.namespace)
        if view is None:
            continue
        known = app_facts(app.route)
        broken = [(o, b) for o in chart.outcomes(known) for b in o.breaches(view)]
        blame = None
        if source.values and rerender is not None and broken:
            complete = partial(app_values, source.repo, source.name, facts=known)
            blame = _Blame(source.values, complete, view, rerender)
        for outcome, breach in broken:
            for path in blame.culprits(outcome, breach) if blame is not None else [()]:
                where = _values_path(f"apps[{index}].chart", source.values, path)
                found.append(_located(state, app.name, outcome, breach, where))
    return found


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


def _values_path(owner: str, values: Mapping[str, Any], path: tuple[str, ...]) -> str:
    """`<owner>.values.<path>`; `owner` itself when the user wrote no values (an app's `chart` then
    stands for the app: `apps[1].chart` -> `apps[1]`)."""
    if not values:
        return owner.removesuffix(".chart")
    inner = dotted(path)
    return f"{owner}.values" + (f".{inner}" if inner else "")


def _finding(
    state: DesiredState, entry: ServiceEntry, outcome: Outcome, breach: Breach, config_path: str
) -> Finding:
    app = breach.obj.origin.application if breach.obj is not None else _main_application(state, entry)
    return _located(state, app, outcome, breach, config_path)


def _located(state: DesiredState, app: str, outcome: Outcome, breach: Breach, config_path: str) -> Finding:
    obj = breach.obj
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

    def view(self, entry: ServiceEntry) -> Effective | None:
        """The service's view; None when Helm refused one of its charts (the `helm` finding is it)."""
        return self.app_view(entry.name, entry.namespace)

    def app_view(self, owner: str, namespace: str) -> Effective | None:
        """The view of the objects of `owner`'s Applications (a service's or an app's)."""
        apps = {a.name for a in self.state.applications if a.owner == owner}
        if apps & self.state.unrendered:
            return None
        objects = self.owned.get(owner, ())
        return Effective(owner, namespace, objects, self.nodes, self.data_keys, self.priority_classes)


Shows = Callable[[list[Mapping[str, Any]]], list[bool]]
"""For each subset of the user's values: does the breach show with only that subset?"""


def culprits(values: Mapping[str, Any], shows: Shows, budget: Callable[[], bool]) -> list[tuple[str, ...]]:
    """The most specific keys of the user's `values` that show a breach on their own.

    Top down: a key whose subtree alone (merged over our values) still shows the breach is a
    culprit; its own keys are tried the same way, and it stays the culprit when none of them shows
    it alone (two keys act together) or `budget()` says no more renders. No top-level key showing
    it alone leaves the whole `values` (the empty path). A mapping with one key needs no render:
    alone, it is the values it is part of.
    """

    def search(prefix: tuple[str, ...], node: Any) -> list[tuple[str, ...]]:
        if not isinstance(node, Mapping) or not node:
            return [prefix]
        keys = [str(k) for k in node]
        if len(keys) == 1:
            return search((*prefix, keys[0]), node[keys[0]])
        if not budget():
            return [prefix]
        found = shows([_only(prefix, k, node[k]) for k in keys])
        hits = [k for k, hit in zip(keys, found, strict=True) if hit]
        if not hits:
            return [prefix]
        return [path for k in hits for path in search((*prefix, k), node[k])]

    return search((), values)


@dataclass
class _Blame:
    """Renders an owner's charts with subsets of the user's values, to find the keys behind a breach."""

    values: Mapping[str, Any]
    compose: Callable[[Mapping[str, Any]], Mapping[str, Any]]
    """A subset of the user's values -> the whole values file (ours merged, or a chart completed)."""
    view: Effective
    rerender: Rerender
    renders: int = 0

    def __post_init__(self) -> None:
        self.cache: dict[tuple[str, str], tuple[DesiredObject, ...] | None] = {}
        """(Application, subset) -> its objects rendered with that subset, None when Helm refused."""

    def culprits(self, outcome: Outcome, breach: Breach) -> list[tuple[str, ...]]:
        """The keys of the user's values behind `breach` (see `culprits`)."""
        application = breach.obj.origin.application if breach.obj is not None else None
        applications = [application] if application else self._applications()

        def shows(subsets: list[Mapping[str, Any]]) -> list[bool]:
            return self._show_breach(applications, outcome, breach, subsets)

        return culprits(self.values, shows, lambda: self.renders < MAX_RENDERS)

    def _applications(self) -> list[str]:
        return sorted({o.origin.application for o in self.view.objects if o.origin.source == "chart"})

    def _show_breach(
        self, applications: list[str], outcome: Outcome, breach: Breach, subsets: list[Mapping[str, Any]]
    ) -> list[bool]:
        """Render each subset's charts (in parallel: each is a Helm process), then test the promise
        on the view with those charts' objects in place of the user's. A subset Helm refuses does
        not show the breach (it shows a `helm` finding of its own)."""
        jobs = {(app, _key(subset)): (app, subset) for subset in subsets for app in applications}
        missing = [job for key, job in jobs.items() if key not in self.cache]
        self.renders += len(missing)
        with ThreadPoolExecutor(max_workers=2) as pool:
            done = pool.map(lambda job: self.rerender(job[0], self.compose(job[1])), missing)
            for (app, subset), objects in zip(missing, done, strict=True):
                self.cache[(app, _key(subset))] = objects
        return [self._shows(applications, outcome, breach, subset) for subset in subsets]

    def _shows(
        self, applications: list[str], outcome: Outcome, breach: Breach, subset: Mapping[str, Any]
    ) -> bool:
        objects = list(self.view.objects)
        for app in applications:
            rendered = self.cache[(app, _key(subset))]
            if rendered is None:
                return False
            objects = [o for o in objects if not (o.origin.application == app and o.origin.source == "chart")]
            objects.extend(rendered)
        view = replace(self.view, objects=tuple(objects))
        return any(_same(b, breach) for b in outcome.breaches(view))


def _same(one: Breach, other: Breach) -> bool:
    """The same breach: the same words about an object of the same Application (ArgoCD's chart is
    rendered twice, and each render's objects say the same)."""
    where = (one.obj.origin.application, one.obj.ident) if one.obj is not None else None
    there = (other.obj.origin.application, other.obj.ident) if other.obj is not None else None
    return one.what == other.what and where == there


def _key(subset: Mapping[str, Any]) -> str:
    return json.dumps(subset, sort_keys=True, default=str)


def _only(prefix: tuple[str, ...], key: str, value: Any) -> dict[str, Any]:
    """The user's values holding only `value` at `prefix + key`."""
    result: dict[str, Any] = {key: value}
    for step in reversed(prefix):
        result = {step: result}
    return result
