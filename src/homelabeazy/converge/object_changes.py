"""`homelab diff --objects`: the effective objects of two homelabs, built and compared.

Each side is rendered and built exactly as `validate --deep` builds it (`converge.build`: real Helm
per Application). Helm's output is kept in the render cache under a hash of everything that decides
it, so an Application whose chart and values are the same on both sides is rendered once (or not at
all, after a `validate --deep`). The working tree is built first: it is the side a previous run most
likely left in the cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from homelabeazy.converge import build
from homelabeazy.converge.object_diff import ObjectDiff, diff_states
from homelabeazy.desired.state import DesiredState, Finding
from homelabeazy.model import Homelab
from homelabeazy.ops.helm import ChartCache
from homelabeazy.render.registry import render_all


@dataclass(frozen=True)
class ComparedStates:
    """The object diff, and what building either side found (a chart Helm could not render leaves
    that Application's objects out of its side, so the diff is then incomplete)."""

    diff: ObjectDiff
    base_findings: tuple[Finding, ...]
    findings: tuple[Finding, ...]


def desired_state(homelab: Homelab, charts: ChartCache) -> DesiredState:
    """The whole desired state of `homelab`, as `validate --deep` builds it."""
    return build.build_proof(homelab, render_all(homelab), charts).state


def compare_homelabs(base: Homelab, current: Homelab, charts: Path | None = None) -> ComparedStates:
    """What changes in the cluster going from `base` to `current`."""
    cache = ChartCache.default(charts)
    after = desired_state(current, cache)
    before = desired_state(base, cache)
    return ComparedStates(diff_states(before, after), before.findings, after.findings)
