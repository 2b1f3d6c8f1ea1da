"""`homelab doctor` end to end, with stand-in executables on PATH (tiny shell scripts that print a
version the way each real tool does) and the strict fake Proxmox."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.support.fake_proxmox import DEFAULT_TOKEN

COLLECTIONS = {"ansible.posix": {"version": "2.1.0"}, "community.general": {"version": "11.4.2"}}

STAND_INS = {
    "terraform": """echo '{"terraform_version": "1.9.8", "platform": "linux_amd64"}'""",
    "ansible-playbook": "echo 'ansible-playbook [core 2.18.6]'; echo '  python version = 3.11'",
    "ansible-galaxy": f"echo '{json.dumps({'/c/ansible_collections': COLLECTIONS})}'",
    "helm": "echo 'v3.16.4+g7877b45'",
    "kubectl": "echo 'Client Version: v1.31.2'; echo 'Kustomize Version: v5.4.2'",
    "ssh": "echo 'OpenSSH_9.6p1 Ubuntu-3ubuntu13, OpenSSL 3.0.13' >&2",
    "git": "echo 'git version 2.43.0'",
}


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH holding only the stand-ins, and a Python whose own bin/ has no ansible in it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in STAND_INS.items():
        write_tool(bin_dir, name, body)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "venv" / "bin" / "python"))
    for name in ("PROXMOX_VE_ENDPOINT", "PROXMOX_VE_API_TOKEN", "PROXMOX_VE_INSECURE"):
        monkeypatch.delenv(name, raising=False)
    return bin_dir


def write_tool(bin_dir: Path, name: str, body: str) -> None:
    script = bin_dir / name
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)


def rows(cli, *args: str) -> tuple[int, dict[str, dict[str, str]]]:
    result = cli("doctor", "--json", *args)
    report = json.loads(result.out)
    assert report["ok"] == (result.code == 0)
    return result.code, {r["check"]: r for r in report["checks"]}


def test_all_present(cli, tools: Path) -> None:
    code, found = rows(cli)
    assert code == 0
    assert found["terraform"]["found"] == f"1.9.8 at {tools}/terraform"
    assert found["ansible-playbook"]["version"] == "2.18.6"
    assert found["helm"]["version"] == "3.16.4"
    assert found["kubectl"]["version"] == "1.31.2"
    assert found["ssh"]["version"] == "9.6"
    assert found["git"]["version"] == "2.43.0"
    assert found["collection community.general"]["status"] == "ok"
    assert found["collection pfsensible.core"]["level"] == "warn"
    assert found["Proxmox API"]["status"] == "not configured"
    text = cli("doctor")
    assert text.code == 0
    assert "everything homelab runs is here" in text.err
    assert f"1.9.8 at {tools}/terraform; needs >= 1.6" in text.out


def test_missing_tool_exits_1_and_says_how_to_install(cli, tools: Path) -> None:
    (tools / "helm").unlink()
    code, found = rows(cli)
    assert code == 1
    assert found["helm"]["status"] == "missing"
    assert found["helm"]["fix"].startswith("install Helm >= 3.16")
    text = cli("doctor")
    assert text.code == 1
    assert "1 required check(s) failed: helm" in text.err
    assert "→ helm: install Helm >= 3.16" in text.out


def test_too_old_tool_exits_1(cli, tools: Path) -> None:
    write_tool(tools, "terraform", """echo '{"terraform_version": "1.5.7"}'""")
    code, found = rows(cli)
    assert code == 1
    assert (found["terraform"]["status"], found["terraform"]["found"]) == (
        "too old",
        f"1.5.7 at {tools}/terraform",
    )


def test_missing_ansible_takes_the_collections_down_with_it(cli, tools: Path) -> None:
    (tools / "ansible-playbook").unlink()
    (tools / "ansible-galaxy").unlink()
    code, found = rows(cli)
    assert code == 1
    assert found["ansible-playbook"]["status"] == "missing"
    assert found["collection community.general"]["status"] == "unknown"


def test_missing_collection_exits_1(cli, tools: Path) -> None:
    write_tool(tools, "ansible-galaxy", 'echo \'{"/c": {"ansible.posix": {"version": "2.1.0"}}}\'')
    code, found = rows(cli)
    assert code == 1
    assert found["collection community.general"]["status"] == "missing"
    assert (
        "ansible-galaxy collection install -r requirements.yml"
        in found["collection community.general"]["fix"]
    )


def test_optional_kubectl_missing_is_a_warning(cli, tools: Path) -> None:
    (tools / "kubectl").unlink()
    code, found = rows(cli)
    assert code == 0
    assert (found["kubectl"]["status"], found["kubectl"]["level"]) == ("missing", "warn")


@pytest.mark.fake
def test_proxmox_reachable_and_unreachable(cli, tools: Path, fake_proxmox, monkeypatch) -> None:
    server = fake_proxmox("homelab", tls=False)
    monkeypatch.setenv("PROXMOX_VE_ENDPOINT", server.url)
    monkeypatch.setenv("PROXMOX_VE_API_TOKEN", DEFAULT_TOKEN)
    code, found = rows(cli)
    assert code == 0
    assert found["Proxmox API"]["found"] == f"Proxmox VE {server.estate.version['version']} at {server.url}"
    server.stop()
    result = cli("doctor", "--json")
    assert result.code == 1
    assert DEFAULT_TOKEN.split("=")[1] not in result.out + result.err
    assert json.loads(result.out)["checks"][-1]["status"] == "unreachable"
