"""`validate --deep` says every tool it runs that is missing, at once, before it renders anything,
with the same words and fixes as `homelab doctor` (one source: toolchain.TOOLS).

Stand-in executables on a PATH of their own, as in test_doctor_cli.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from homelabeazy import toolchain
from tests.lifecycle.test_doctor_cli import STAND_INS, tools, write_tool

__all__ = ["tools"]  # the fixture, shared


@pytest.fixture
def config(cli, tmp_path: Path) -> Path:
    cli("init", str(tmp_path / "lab"))
    return tmp_path / "lab" / "homelab.yaml"


@pytest.fixture
def nothing_rendered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rendering (or proving) anything fails the test: the refusal must come first."""
    from homelabeazy.converge import deep

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("validate --deep rendered before saying what is missing")

    monkeypatch.setattr(deep, "validate_deep", refuse)


@pytest.mark.usefixtures("nothing_rendered")
def test_every_missing_tool_at_once_before_rendering(cli, tools: Path, config: Path) -> None:
    (tools / "helm").unlink()
    (tools / "ansible-playbook").unlink()
    result = cli("validate", "--deep", str(config))
    assert result.code == 1
    for name in ("helm", "ansible-playbook"):
        assert f"{name}: missing (not on PATH)" in result.err
        assert toolchain.tool(name).install.split(" (")[0] in " ".join(result.err.split())
    assert "nothing was checked yet" in result.err


@pytest.mark.usefixtures("nothing_rendered")
def test_deep_and_doctor_give_the_same_fix(cli, tools: Path, config: Path) -> None:
    (tools / "ansible-playbook").unlink()
    deep = " ".join(cli("validate", "--deep", str(config)).err.split())
    report = json.loads(cli("doctor", "--json").out)
    (row,) = [r for r in report["checks"] if r["check"] == "ansible-playbook"]
    assert row["fix"] in deep


@pytest.mark.usefixtures("nothing_rendered")
def test_a_too_old_helm_is_refused_up_front(cli, tools: Path, config: Path) -> None:
    write_tool(tools, "helm", "echo 'v3.15.9+gabc'")
    result = cli("validate", "--deep", str(config))
    assert result.code == 1
    assert "helm: too old (3.15.9" in result.err


def test_helm_exactly_at_the_floor_passes_the_preflight(cli, tools: Path, config: Path, monkeypatch) -> None:
    write_tool(tools, "helm", f"echo 'v{toolchain.version_text(toolchain.HELM_MIN_VERSION)}.0+gabc'")
    from homelabeazy.converge import deep

    reached: list[bool] = []

    def stop(*_args: object, **_kwargs: object) -> None:
        reached.append(True)
        raise SystemExit(0)

    monkeypatch.setattr(deep, "validate_deep", stop)
    with pytest.raises(SystemExit):
        cli("validate", "--deep", str(config))
    assert reached == [True]


def test_the_deep_extra_brings_what_pip_can() -> None:
    import tomllib

    data = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text("utf-8"))
    extra = data["project"]["optional-dependencies"]["deep"]
    assert any(req.startswith("ansible>=") for req in extra)
    assert toolchain.DEEP_EXTRA in toolchain.tool("ansible-playbook").install


def test_stand_ins_cover_every_deep_tool() -> None:
    assert {t.name for t in toolchain.TOOLS if t.for_deep} <= set(STAND_INS)
