"""The Proxmox vlan_bridge role run for real by ansible-playbook against a copy of an interfaces file.

The role's `vlan_bridge_interfaces_file` points at a temp file and `vlan_bridge_apply=false`
keeps the handler from running `ifreload -a` on this machine; everything else is the real role.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from homelabeazy.model import Homelab
from homelabeazy.render.network import render
from tests.support.integration import require_tool

PROXMOX_INTERFACES = """\
auto lo
iface lo inet loopback

iface eno1 inet manual

auto vmbr0
iface vmbr0 inet static
\taddress 10.10.30.2/24
\tgateway 10.10.30.1
\tbridge-ports eno1
\tbridge-stp off
\tbridge-fd 0

iface wlp2s0 inet manual

source /etc/network/interfaces.d/*
"""

pytestmark = pytest.mark.integration


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        require_tool(f"`{name}` not found (pip install ansible ansible-lint)")
    assert found is not None
    return found


@pytest.fixture
def proxmox_dir(example_homelab: Homelab, tmp_path: Path) -> Path:
    for rel, text in render(example_homelab).items():
        target = tmp_path / "repo" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return tmp_path / "repo" / "network" / "proxmox"


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
        ANSIBLE_REMOTE_TEMP=str(tmp_path / "ansible-tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def _run_role(proxmox_dir: Path, tmp_path: Path, interfaces: Path) -> subprocess.CompletedProcess[str]:
    inventory = tmp_path / "local-inventory.yml"
    inventory.write_text(
        "proxmox:\n  hosts:\n    pve-test:\n      ansible_connection: local\n"
        f"      ansible_python_interpreter: {sys.executable}\n",
        encoding="utf-8",
    )
    return subprocess.run(
        [
            _tool("ansible-playbook"),
            "-i",
            str(inventory),
            "playbook.yml",
            "-e",
            f"vlan_bridge_interfaces_file={interfaces}",
            "-e",
            "vlan_bridge_apply=false",
        ],
        cwd=proxmox_dir,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _recap(output: str) -> dict[str, int]:
    match = re.search(r"pve-test\s+:\s+(.*)", output)
    assert match, output
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def test_syntax_check_and_lint(proxmox_dir: Path, tmp_path: Path) -> None:
    env = _env(tmp_path)
    syntax = subprocess.run(
        [_tool("ansible-playbook"), "-i", "inventory.yml", "playbook.yml", "--syntax-check"],
        cwd=proxmox_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
    lint = subprocess.run(
        [_tool("ansible-lint"), "--offline", "--profile", "production", "playbook.yml"],
        cwd=proxmox_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_role_makes_the_bridge_vlan_aware_idempotently(proxmox_dir: Path, tmp_path: Path) -> None:
    interfaces = tmp_path / "interfaces"
    interfaces.write_text(PROXMOX_INTERFACES, encoding="utf-8")
    first = _run_role(proxmox_dir, tmp_path, interfaces)
    assert first.returncode == 0, first.stdout + first.stderr
    assert _recap(first.stdout)["changed"] == 1  # one task changed the file (two options, one task)
    text = interfaces.read_text(encoding="utf-8")
    stanza = text.split("auto vmbr0\n")[1].split("\n\n")[0]
    assert "\tbridge-vlan-aware yes" in stanza.splitlines()
    assert "\tbridge-vids 10 20 30" in stanza.splitlines()
    # nothing outside the bridge's two options changed
    expected = PROXMOX_INTERFACES.replace(
        "\tbridge-fd 0\n", "\tbridge-fd 0\n\tbridge-vlan-aware yes\n\tbridge-vids 10 20 30\n"
    )
    assert text == expected
    second = _run_role(proxmox_dir, tmp_path, interfaces)
    assert second.returncode == 0, second.stdout + second.stderr
    assert _recap(second.stdout)["changed"] == 0
    assert interfaces.read_text(encoding="utf-8") == expected


def test_role_replaces_other_vids(proxmox_dir: Path, tmp_path: Path) -> None:
    interfaces = tmp_path / "interfaces"
    interfaces.write_text(
        PROXMOX_INTERFACES.replace(
            "\tbridge-fd 0\n", "\tbridge-fd 0\n\tbridge-vlan-aware yes\n\tbridge-vids 2-4094\n"
        ),
        encoding="utf-8",
    )
    result = _run_role(proxmox_dir, tmp_path, interfaces)
    assert result.returncode == 0, result.stdout + result.stderr
    text = interfaces.read_text(encoding="utf-8")
    assert "bridge-vids 10 20 30" in text
    assert "2-4094" not in text


def test_role_fails_clearly_without_the_bridge(proxmox_dir: Path, tmp_path: Path) -> None:
    interfaces = tmp_path / "interfaces"
    interfaces.write_text(PROXMOX_INTERFACES.replace("vmbr0", "vmbr1"), encoding="utf-8")
    result = _run_role(proxmox_dir, tmp_path, interfaces)
    assert result.returncode != 0
    assert "has no 'iface vmbr0' stanza" in result.stdout
    assert interfaces.read_text(encoding="utf-8") == PROXMOX_INTERFACES.replace("vmbr0", "vmbr1")
