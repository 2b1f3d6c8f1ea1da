"""`homelab validate`: all problems at once, JSON output, and the real process (main, exit codes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "config"


def test_every_problem_is_reported_at_once(cli: Any, tmp_path: Path) -> None:
    text = (FIXTURES / "valid" / "example.yaml").read_text()
    text = text.replace("vip: 10.10.10.10", "vip: 10.10.20.5").replace("count: 3", "count: 4", 1)
    text = text.replace("bridge: vmbr0", "bridgee: vmbr0")
    config = tmp_path / "homelab.yaml"
    config.write_text(text)
    result = cli("validate", str(config))
    assert result.code == 2
    # a shape error stops before the semantic checks: fix it and the rest are listed together
    assert "proxmox.bridgee: unknown key 'bridgee' (did you mean 'bridge'?)" in result.err
    config.write_text(text.replace("bridgee:", "bridge:"))
    result = cli("validate", str(config))
    assert result.code == 2
    assert "cluster.vip: 10.10.20.5 is not inside the services VLAN" in result.err
    assert "cluster.servers.count: 4 servers" in result.err
    assert "2 error(s)" in result.err


def test_json_output(cli: Any) -> None:
    result = cli("validate", "--json", str(FIXTURES / "invalid" / "vip-outside-services-vlan.yaml"))
    assert result.code == 2
    problems = json.loads(result.out)
    vip = next(p for p in problems if p["path"] == "cluster.vip")
    expected = json.loads((FIXTURES / "invalid" / "vip-outside-services-vlan.expected").read_text())
    assert vip["line"] == expected["line"]
    source = (FIXTURES / "invalid" / "vip-outside-services-vlan.yaml").read_text().splitlines()
    assert source[vip["line"] - 1].lstrip().startswith("vip:")
    assert vip["check"] == "cluster-in-services-vlan"
    assert vip["severity"] == "error"


def test_warnings_do_not_fail(cli: Any) -> None:
    result = cli("validate", str(FIXTURES / "warnings" / "tls-verify-off.yaml"))
    assert result.code == 0
    assert "warning:" in result.err
    assert "proxmox.verify_tls" in result.err


def run_process(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(
        [sys.executable, "-m", "homelabeazy", *args], capture_output=True, text=True, env=env, check=False
    )


@pytest.mark.slow  # three new Python processes
def test_python_dash_m_exit_codes() -> None:
    assert run_process("--version").stdout.strip() == "homelab 0.1.0"
    bad = run_process("validate", str(FIXTURES / "invalid" / "yaml-tab-indent.yaml"))
    assert bad.returncode == 2
    assert "yaml-tab-indent.yaml:22:1: YAML syntax error" in bad.stderr
    assert "Traceback" not in bad.stderr
    good = run_process("validate", str(FIXTURES / "valid" / "minimal.yaml"))
    assert good.returncode == 0, good.stderr
    assert run_process("validate", "--no-such-option").returncode == 2
