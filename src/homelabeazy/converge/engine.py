"""The convergence engine: build the desired state once, run every registered check, report.

Checks are plain functions `(state, homelab) -> findings`, listed in CHECKS in the order they
run; each is pure (no I/O: the state already holds every rendered object). The one exception is
opt-in: given a way to render a chart again, the outcome check renders the charts of a broken
promise with parts of the user's values, to name the key that breaks it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from homelabeazy.converge.flows import check_flows
from homelabeazy.converge.health import check_health
from homelabeazy.converge.hosts import check_hosts
from homelabeazy.converge.images import check_images
from homelabeazy.converge.ordering import check_ordering
from homelabeazy.converge.outcomes import Rerender, check_outcomes
from homelabeazy.converge.references import check_references
from homelabeazy.converge.schema import check_schema
from homelabeazy.converge.storage import check_storage
from homelabeazy.converge.sync import Locator
from homelabeazy.desired.state import DesiredState, Finding
from homelabeazy.model import Homelab

CheckFn = Callable[[DesiredState, Homelab], list[Finding]]


def check_helm(state: DesiredState, homelab: Homelab) -> list[Finding]:  # noqa: ARG001 - a check's signature
    """What Helm itself refused while the state was built (template errors, values schemas)."""
    return [f for f in state.findings if f.check == "helm"]


CHECKS: list[tuple[str, CheckFn]] = [
    ("helm", check_helm),
    ("schema", check_schema),
    ("reference", check_references),
    ("ordering", check_ordering),
    ("flow", check_flows),
    ("health", check_health),
    ("storage", check_storage),
    ("host", check_hosts),
    ("image", check_images),
    ("outcome", check_outcomes),
]
"""(name, check) in the order they run and are reported."""


@dataclass(frozen=True)
class WaveReport:
    """One sync wave of the root app: what it deploys and what was found in it."""

    wave: int
    applications: tuple[str, ...]
    objects: int
    crds: tuple[str, ...]
    findings: Mapping[str, int]


@dataclass(frozen=True)
class Report:
    """The convergence report: per wave, per check, and every finding."""

    waves: tuple[WaveReport, ...]
    checks: Mapping[str, int]
    findings: tuple[Finding, ...]
    objects: int
    notes: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        """Plain data for `validate --deep --json`."""
        return {
            "converges": not self.findings,
            "objects": self.objects,
            "checks": dict(self.checks),
            "waves": [
                {
                    "wave": w.wave,
                    "applications": list(w.applications),
                    "objects": w.objects,
                    "crds": list(w.crds),
                    "findings": dict(w.findings),
                }
                for w in self.waves
            ],
            "findings": [
                {
                    "check": f.check,
                    "file": f.file,
                    "object": f.object,
                    "application": f.application,
                    "config_path": f.config_path,
                    "message": f.message,
                    "hint": f.hint,
                }
                for f in self.findings
            ],
            "notes": list(self.notes),
        }


def run_checks(
    state: DesiredState,
    homelab: Homelab,
    checks: list[tuple[str, CheckFn]] | None = None,
    rerender: Rerender | None = None,
) -> Report:
    """Run every check over the state; findings get the homelab.yaml path of their Application.

    With `rerender` (a way to render one chart again, `BuiltState.rerender`), the outcome check
    points each breach at the user's override that causes it; without, at the service's values.
    """
    found: list[Finding] = []
    per_check: dict[str, int] = {}
    at = Locator(state, tuple(a.name for a in homelab.apps))
    for name, check in checks if checks is not None else CHECKS:
        run = partial(check_outcomes, rerender=rerender) if check is check_outcomes else check
        results = [_locate(f, at) for f in run(state, homelab)]
        per_check[name] = len(results)
        found.extend(results)
    found = sorted(set(found), key=lambda f: (_wave_of(f, state), f.file, f.object, f.check, f.message))
    return Report(_waves(state, found), per_check, tuple(found), len(state.objects))


def _locate(finding: Finding, at: Locator) -> Finding:
    """Fill `config_path` from the Application's owner: `services.<name>` or `apps[<i>]`."""
    if finding.config_path is not None:
        return finding
    path = at.config_path_of(finding.application)
    return finding if path is None else replace(finding, config_path=path)


def _wave_of(finding: Finding, state: DesiredState) -> int:
    app = state.application(finding.application)
    return app.wave if app is not None else 0


def _waves(state: DesiredState, findings: list[Finding]) -> tuple[WaveReport, ...]:
    by_wave: dict[int, list[str]] = {}
    for app in state.applications:
        by_wave.setdefault(app.wave, []).append(app.name)
    reports = []
    for wave in sorted(by_wave):
        names = set(by_wave[wave])
        objects = [o for o in state.objects if o.origin.application in names]
        crds = sorted(o.name for o in objects if o.kind == "CustomResourceDefinition")
        counts: Counter[str] = Counter(str(f.check) for f in findings if f.application in names)
        reports.append(
            WaveReport(wave, tuple(by_wave[wave]), len(objects), tuple(dict.fromkeys(crds)), dict(counts))
        )
    return tuple(reports)
