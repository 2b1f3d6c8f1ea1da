"""`make demo` installs requirements/demo.lock (the package's run-time closure, ansible-core and the
build backend), not the whole dev lock (issue 29: 161 packages, 4 min 36 s on a fresh clone for a
demo that needs the package and Helm). The file is dev.lock's own entries, hashes and all, and
tools/ci_lock.py keeps it fresh (`make lock`)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from homelabeazy import toolchain
from homelabeazy.model import Homelab
from homelabeazy.render import ansible
from tests.support.integration import require_tool

REPO = Path(__file__).resolve().parents[2]
DEMO_LOCK = REPO / "requirements" / "demo.lock"


def _ci_lock() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_lock", REPO / "tools" / "ci_lock.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_demo_lock_is_fresh_and_copied_from_the_dev_lock() -> None:
    ci_lock = _ci_lock()
    text = DEMO_LOCK.read_text(encoding="utf-8")
    assert text == ci_lock.render_demo(), "run `make lock` (tools/ci_lock.py)"
    demo = ci_lock.lock_blocks(text)
    dev = ci_lock.lock_blocks(ci_lock.DEV_LOCK.read_text(encoding="utf-8"))
    assert {name: dev[name] for name in demo} == demo
    assert {"setuptools", "ansible-core", "pydantic", "typer", "pyyaml"} <= set(demo)
    assert not {"pytest", "mypy", "ruff", "homelabeazy"} & set(demo)
    assert len(demo) < len(dev) / 2


def _plan(target: str, tmp_path: Path) -> str:
    """What `make TARGET` would run for a fresh clone (an empty venv folder), without running it."""
    make = shutil.which("make")
    if make is None:
        pytest.fail("make is needed (the Makefile is what is tested)")
    result = subprocess.run(
        [make, "-n", "--no-print-directory", target, f"VENV={tmp_path / 'venv'}", f"SHARED={tmp_path}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_make_demo_installs_the_demo_lock_and_never_the_dev_lock(tmp_path: Path) -> None:
    demo = _plan("demo", tmp_path)
    assert "--require-hashes --no-deps -r requirements/demo.lock" in demo
    assert "requirements/dev.lock" not in demo
    assert "helm version" in demo
    assert "tests.support.chart_cache" in demo
    assert "homelab validate --deep" in demo
    setup = _plan("setup", tmp_path)
    assert "--require-hashes --no-deps -r requirements/dev.lock" in setup


@pytest.mark.integration
def test_the_demo_collections_alone_resolve_every_playbook(example_homelab: Homelab, tmp_path: Path) -> None:
    """The two collections tools/demo_collections.py unpacks from dev.lock's `ansible` wheel are all
    the rendered playbooks need: their syntax check passes with nothing else on the collection path."""
    playbook = Path(sys.executable).parent / "ansible-playbook"
    if not playbook.is_file():
        require_tool("ansible-playbook not beside this Python (make setup)")
    pip = Path(sys.executable).parent / "pip"
    collections = tmp_path / "collections"
    subprocess.run(
        [sys.executable, str(REPO / "tools" / "demo_collections.py"), str(pip), str(collections)], check=True
    )
    manifests = (collections / "ansible_collections").glob("*/*/MANIFEST.json")
    found = {p.parent.relative_to(collections / "ansible_collections").as_posix() for p in manifests}
    assert found == {c.name.replace(".", "/") for c in toolchain.ANSIBLE_COLLECTIONS}
    for rel, text in ansible.render(example_homelab).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "PATH": f"{playbook.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for name in ("site.yml", "upgrade.yml", "reset.yml"):
        done = subprocess.run(
            [str(playbook), "--syntax-check", name],
            cwd=tmp_path / "ansible",
            check=False,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
