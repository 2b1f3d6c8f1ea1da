"""Shared test fixtures: the example config, the CLI runner, and the integration-skip policy;
how the suite runs on several xdist workers (file order, a private temp dir per process) and the
check that no process outlives the test that started it (tests/support/leftovers.py)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.cli.app import run
from homelabeazy.config.load import LoadedConfig
from homelabeazy.config.starter import example_text
from homelabeazy.model import Homelab, build
from tests.support.chart_cache import unassembled_subcharts

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = Path(os.environ.get("HOMELAB_SHARED", REPO.parent / "shared"))
"""The read-only reference data (charts, schemas): `$HOMELAB_SHARED`, else ../shared beside the checkout."""
# One variable moves all of it: the helpers that look for the schemas alone read HOMELAB_SCHEMAS.
os.environ.setdefault("HOMELAB_SCHEMAS", str(SHARED / "schemas"))
SHARED_SCHEMAS = Path(os.environ["HOMELAB_SCHEMAS"])
MONITORING_CHART = "kube-prometheus-stack-88.5.3"
"""The chart `needs_subcharts` tests render; the shared copy holds its subcharts in `charts/`."""

pytest_plugins = ["tests.support.leftovers", "tests.support.s3"]
"""The process check, and the `s3_server` fixture (one moto server per test process, reset per test)."""


@pytest.fixture(scope="session", autouse=True)
def _private_tmpdir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`$TMPDIR` (and `tempfile`'s default) inside this process's own pytest temp folder, so what
    the product and the tools it runs put in the temp dir never meets another xdist worker's or
    another test run's (a test that looks for its leftovers there sees only its own)."""
    folder = tmp_path_factory.getbasetemp() / "tmp"
    folder.mkdir(exist_ok=True)
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = None  # the next gettempdir() reads $TMPDIR again


@dataclass
class CliResult:
    """Exit code and captured output of one in-process CLI run."""

    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `homelab ARGS...` in-process; returns exit code, stdout and stderr."""

    def invoke(*args: str) -> CliResult:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


@pytest.fixture(scope="session")
def example_loaded() -> LoadedConfig:
    """The embedded example, validated."""
    return load_config(example_text())


@pytest.fixture(scope="session")
def example_homelab(example_loaded: LoadedConfig) -> Homelab:
    """The model of the embedded example."""
    return build(example_loaded.config)


def monitored_example_data() -> dict[str, Any]:
    """The example as plain data with monitoring switched on (it is off by default: switching it on
    by default is a change of its own)."""
    data: dict[str, Any] = yaml.safe_load(example_text())
    data["services"].setdefault("monitoring", {})["enabled"] = True
    return data


@pytest.fixture(scope="session")
def monitored_homelab() -> Homelab:
    """The model of the example with monitoring on: every ServiceMonitor, scrape policy and rule."""
    return build(load_config(yaml.safe_dump(monitored_example_data(), sort_keys=False)).config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the `needs_subcharts` tests when the chart cache cannot assemble kube-prometheus-stack.

    Not a skip: they are not runnable here (the shared chart itself is incomplete, no tool is
    missing), so they are removed from the run and its counts, reported as deselected, and listed
    in the README, as the pfSense syntax check is. Only tests carrying that marker are affected.

    Then the order xdist hands out the files in (`make test`: `--dist loadfile
    --no-loadscope-reorder`, one file at a time to a worker, so a module's fixtures are built once
    and its tests keep their order): files holding integration tests first, each file in one piece
    and in its own order. They hold the long tests, mostly waiting on servers and tools; started
    early, the quick unit tests fill in at the end instead of a long test starting last."""
    kept, left_out = split_without_subcharts(items, SHARED)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept
    busy = {item.nodeid.split("::", 1)[0] for item in items if item.get_closest_marker("integration")}
    items.sort(key=lambda item: item.nodeid.split("::", 1)[0] not in busy)


def split_without_subcharts(
    items: Sequence[pytest.Item], shared: Path
) -> tuple[list[pytest.Item], list[pytest.Item]]:
    """(kept, left out): the `needs_subcharts` items are left out when `<shared>/charts` (with its
    `extra/` overlay) cannot supply every subchart of the monitoring chart."""
    marked = [item for item in items if item.get_closest_marker("needs_subcharts")]
    if not marked or not unassembled_subcharts(MONITORING_CHART, shared):
        return list(items), []
    return [item for item in items if item not in marked], marked


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List the documentation site's screenshots when the run kept them (`make test` does)."""
    folder = os.environ.get("HOMELAB_DOCS_SCREENSHOTS")
    shots = sorted(Path(folder).glob("*.png")) if folder else []
    if shots:
        terminalreporter.write_sep("-", "documentation site screenshots (headless Chromium)")
        for shot in shots:
            terminalreporter.write_line(str(shot))
