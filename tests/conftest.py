"""Shared test fixtures: the example config, the CLI runner, and the integration-skip policy."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from homelabeazy.cli.app import run
from homelabeazy.config import LoadedConfig, load_config
from homelabeazy.config.starter import example_text
from homelabeazy.model import Homelab, build

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = Path(os.environ.get("HOMELAB_SHARED", REPO.parent / "shared"))
"""The read-only reference data (charts, schemas): `$HOMELAB_SHARED`, else ../shared beside the checkout."""
# One variable moves all of it: the helpers that look for the schemas alone read HOMELAB_SCHEMAS.
os.environ.setdefault("HOMELAB_SCHEMAS", str(SHARED / "schemas"))
SHARED_SCHEMAS = Path(os.environ["HOMELAB_SCHEMAS"])


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
