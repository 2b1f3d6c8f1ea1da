"""Fixtures for the convergence proof: real Helm, the assembled chart cache, state building."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from homelabeazy.converge.build import build_state
from homelabeazy.converge.engine import Report, run_checks
from homelabeazy.desired.state import DesiredState
from homelabeazy.model import Homelab
from homelabeazy.ops.helm import ChartCache
from tests.conftest import REPO
from tests.gitops.conftest import homelab_from  # noqa: F401 - the variants' fixture, shared
from tests.support.chart_cache import build_chart_cache, shared_dir
from tests.support.integration import require_tool

HELM_HINT = "Helm 3.16+: `make helm` puts Helm 4.1.4 into .venv/bin, or set HOMELAB_HELM"


@pytest.fixture(scope="session")
def helm_path() -> str:
    """Real Helm (HOMELAB_HELM, beside the venv's Python, or on PATH), or skip/fail saying how."""
    from homelabeazy.ops.tools import find_tool

    path = os.environ.get("HOMELAB_HELM") or find_tool("helm")
    if not path:
        require_tool(f"helm not found ({HELM_HINT})")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def chart_dir(tmp_path_factory: pytest.TempPathFactory, helm_path: str) -> Iterator[Path]:
    """The test chart cache assembled from the shared charts (HOMELAB_SHARED or ../shared).

    Needs Helm (helm_path). Renders are cached between sessions in .pytest_cache (keyed by
    everything that decides them), not in the user's cache.
    """
    if not (shared_dir() / "charts").is_dir():
        require_tool(f"shared charts {shared_dir() / 'charts'} missing (set HOMELAB_SHARED)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(REPO / ".pytest_cache" / "homelab-xdg"))
        yield build_chart_cache(tmp_path_factory.mktemp("charts"))


@pytest.fixture
def deep(
    chart_dir: Path, tmp_path: Path
) -> Callable[[Homelab, Mapping[str, str]], tuple[DesiredState, Report]]:
    """Build the state of rendered `files` with real Helm (offline: no pull) and run every check."""

    def run(homelab: Homelab, files: Mapping[str, str]) -> tuple[DesiredState, Report]:
        state = build_state(homelab, files, ChartCache(chart_dir, tmp_path / "pulled", pull=False))
        return state, run_checks(state, homelab)

    return run
