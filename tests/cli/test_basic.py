"""The foundation commands end to end, in-process."""

from __future__ import annotations

from pathlib import Path


def test_init_validate_render_check(cli, tmp_path: Path) -> None:
    assert cli("init", str(tmp_path)).code == 0
    config = tmp_path / "homelab.yaml"
    assert (tmp_path / "homelab.schema.json").exists()
    assert cli("validate", str(config)).code == 0
    assert cli("render", str(config)).code == 0
    assert cli("render", "--check", str(config)).code == 0
    (tmp_path / "README.md").write_text("changed\n")
    result = cli("render", str(config))
    assert result.code == 1
    assert "README.md" in result.err


def test_validate_reports_located_errors(cli, tmp_path: Path) -> None:
    cli("init", str(tmp_path))
    config = tmp_path / "homelab.yaml"
    text = config.read_text().replace("vip: 10.10.10.10", "vip: 10.10.20.5")
    config.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "vip: 10.10.20.5" in row)
    result = cli("validate", str(config))
    assert result.code == 2
    assert f"homelab.yaml:{line}:8: cluster.vip: 10.10.20.5 is not inside the services VLAN" in result.err
    assert "Traceback" not in result.err


def test_missing_file_is_exit_2(cli, tmp_path: Path) -> None:
    result = cli("validate", str(tmp_path / "nope.yaml"))
    assert result.code == 2
    assert "no such file" in result.err


def test_version(cli) -> None:
    result = cli("--version")
    assert result.code == 0
    assert "homelab 0.1.0" in result.out


def test_every_config_reading_command_takes_dash_c(cli, tmp_path: Path) -> None:
    cli("init", str(tmp_path))
    config = str(tmp_path / "homelab.yaml")
    assert cli("validate", "-c", config).code == 0
    assert cli("render", "--config", config).code == 0
    assert cli("render", "--check", "-c", config).code == 0
    assert cli("net", "matrix", "-c", config).code == 0


def test_two_different_configs_are_refused(cli, tmp_path: Path) -> None:
    cli("init", str(tmp_path))
    result = cli("validate", str(tmp_path / "homelab.yaml"), "-c", str(tmp_path / "other.yaml"))
    assert result.code == 2
    assert "two configs given" in result.err
