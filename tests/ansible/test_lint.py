"""The rendered ansible/ tree passes ansible-lint (production profile) and --syntax-check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from homelabeazy.model import Homelab
from homelabeazy.render import ansible
from tests.support.integration import need_binary

pytestmark = pytest.mark.integration

PLAYBOOKS = ("site.yml", "upgrade.yml", "reset.yml")


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else need_binary(name, "pip install ansible ansible-lint")


@pytest.fixture
def tree(example_homelab: Homelab, tmp_path: Path) -> Path:
    for rel, text in ansible.render(example_homelab).items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return tmp_path / "ansible"


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_syntax_check(tree: Path, playbook: str) -> None:
    done = subprocess.run(
        [_tool("ansible-playbook"), "--syntax-check", playbook],
        cwd=tree,
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_ansible_lint_production_profile(tree: Path) -> None:
    done = subprocess.run(
        [_tool("ansible-lint"), "--profile", "production", "--offline", "--nocolor", "."],
        cwd=tree,
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Profile 'production' was required, and it passed" in done.stderr


def test_ansible_lint_catches_a_violation(tree: Path) -> None:
    """The lint test above can fail: a bare command without changed_when is reported."""
    (tree / "roles/node/tasks/kernel.yml").write_text(
        (tree / "roles/node/tasks/kernel.yml").read_text()
        + "\n- name: Bad task\n  ansible.builtin.command: echo hi\n"
    )
    done = subprocess.run(
        [_tool("ansible-lint"), "--profile", "production", "--offline", "--nocolor", "roles/node"],
        cwd=tree,
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
        timeout=300,
    )
    assert done.returncode != 0
    assert "no-changed-when" in done.stdout + done.stderr
