"""The terraform layer through the CLI: `render` writes it, `validate --deep` checks it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from homelabeazy.config.starter import example_text


def test_render_writes_the_terraform_tree(tmp_path: Path, cli: Callable[..., Any]) -> None:
    config = tmp_path / "homelab.yaml"
    config.write_text(example_text(), encoding="utf-8")
    result = cli("render", str(config))
    assert result.code == 0, result.err
    tfvars = json.loads((tmp_path / "terraform" / "homelab.auto.tfvars.json").read_text())
    assert sorted(tfvars["nodes"]) == [
        "k3s-agent-1",
        "k3s-agent-2",
        "k3s-server-1",
        "k3s-server-2",
        "k3s-server-3",
    ]
    assert (tmp_path / "terraform" / ".gitignore").is_file()
    again = cli("render", str(config))
    assert again.code == 0
    assert "0 created, 0 updated, 0 deleted" in again.err


@pytest.mark.slow  # the whole deep validation
def test_validate_deep_runs_the_terraform_validator(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The convergence proof (real Helm over every chart) has its own tests in tests/converge.
    from homelabeazy.converge import build as converge_build
    from homelabeazy.converge import deep
    from homelabeazy.converge.engine import Report
    from homelabeazy.desired.state import DesiredState

    empty = converge_build.BuiltState(DesiredState((), ()), None, ())  # type: ignore[arg-type]
    monkeypatch.setattr(converge_build, "build_proof", lambda *_args: empty)
    monkeypatch.setattr(deep, "run_checks", lambda *_args, **_kw: Report((), {}, (), 0))
    config = tmp_path / "homelab.yaml"
    config.write_text(example_text(), encoding="utf-8")
    result = cli("validate", str(config), "--deep")
    assert result.code == 0, result.err
