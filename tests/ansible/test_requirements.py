"""The rendered repo installs its own Ansible dependencies: every collection its playbooks call is
pinned in a requirements.yml, at the version tested (the one the `ansible` package bundles), and
with only ansible-core plus those requirements the playbooks parse.

The integration test is the proof: a fresh virtualenv with ansible-core alone, the pinned
collections installed offline from tarballs the test builds from the `ansible` package's own
copies (ansible-galaxy checks each is the pinned version), then `ansible-playbook --syntax-check`,
which fails with "couldn't resolve module/action" for any module whose collection is missing.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from homelabeazy import toolchain
from homelabeazy.model import Homelab
from homelabeazy.render import render_all
from tests.support.collections import build_tarball, bundled_collections
from tests.support.integration import require_tool

TASK_LISTS = ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always")
PLAYBOOK_TREES = {  # the folder a requirements.yml sits in -> the playbook files it serves
    "ansible": ("site.yml", "upgrade.yml", "reset.yml"),
    "network/proxmox": ("playbook.yml",),
    "network/pfsense": ("playbook.yml",),
}


def _load(text: str) -> Any:
    return YAML(typ="safe").load(text)


def _tasks(node: Any) -> Iterator[dict[str, Any]]:
    """Every task dict below a play, a task list or a block."""
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        nested = [key for key in TASK_LISTS if key in node]
        if not nested and "hosts" not in node:
            yield node
        for key in nested:
            yield from _tasks(node[key])


def collections_called(files: dict[str, str], folder: str) -> set[str]:
    """`ns.name` of every FQCN module the playbooks and role task files under `folder` call."""
    called: set[str] = set()
    for path, text in files.items():
        if not path.startswith(folder + "/") or not path.endswith(".yml"):
            continue
        relative = path[len(folder) + 1 :]
        is_task_file = "/tasks/" in relative or "/handlers/" in relative
        if not (is_task_file or relative in PLAYBOOK_TREES[folder]):
            continue
        for task in _tasks(_load(text)):
            for key in task:
                parts = str(key).split(".")
                if len(parts) == 3 and parts[:2] != ["ansible", "builtin"]:
                    called.add(".".join(parts[:2]))
    return called


def pinned(files: dict[str, str], folder: str) -> dict[str, str]:
    return {c["name"]: c["version"] for c in _load(files[f"{folder}/requirements.yml"])["collections"]}


@pytest.mark.parametrize("folder", sorted(PLAYBOOK_TREES))
def test_every_collection_called_is_pinned_exactly(example_homelab: Homelab, folder: str) -> None:
    files = render_all(example_homelab)
    pins = pinned(files, folder)
    assert collections_called(files, folder) == set(pins)
    for version in pins.values():  # an exact version, not a range: what was tested is what installs
        assert toolchain.parse_version_text(version)
        assert version[0].isdigit()


def test_the_scan_sees_a_collection_module(example_homelab: Homelab) -> None:
    files = render_all(example_homelab)
    assert "community.general" in collections_called(files, "ansible")
    assert "pfsensible.core" in collections_called(files, "network/pfsense")


def bundled_version(root: Path, name: str) -> str:
    namespace, collection = name.split(".")
    manifest = root / namespace / collection / "MANIFEST.json"
    return str(json.loads(manifest.read_text())["collection_info"]["version"])


def test_pins_are_the_versions_the_ansible_package_bundles() -> None:
    root = bundled_collections()
    for collection in (*toolchain.ANSIBLE_COLLECTIONS, *toolchain.PROXMOX_COLLECTIONS):
        assert bundled_version(root, collection.name) == collection.version, collection.name
    assert importlib.metadata.version("ansible-core") == toolchain.ANSIBLE_CORE_TESTED


def test_terraform_floor_is_the_blueprint_required_version() -> None:
    versions = Path(toolchain.__file__).parent / "blueprint" / "terraform" / "versions.tf"
    wanted = toolchain.version_text(toolchain.terraform_min_version())
    assert f'required_version = ">= {wanted}"' in versions.read_text()
    assert toolchain.tool("terraform").minimum == toolchain.terraform_min_version()


# --- integration: ansible-core alone + the requirements ---------------------------------------------


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def core_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a fresh virtualenv holding only ansible-core (the version the `ansible` package uses)."""
    core = importlib.metadata.version("ansible-core")
    home = tmp_path_factory.mktemp("core-only")
    venv.create(home / "venv", with_pip=True, symlinks=True)
    done = _run(
        [str(home / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", f"ansible-core=={core}"],
        home,
        {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    if done.returncode != 0:
        require_tool(f"cannot pip install ansible-core=={core} into a fresh venv: {done.stderr[-300:]}")
    bin_dir = home / "venv" / "bin"
    listed = _run([str(bin_dir / "python"), "-m", "pip", "list", "--format", "json"], home, dict(os.environ))
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "ansible" not in names, "the fresh venv must not hold the `ansible` package"
    return bin_dir


def _isolated_env(bin_dir: Path, home: Path, collections: Path) -> dict[str, str]:
    """Nothing but this venv's ansible-core and the collections installed into `collections`."""
    return {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(home),
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "LANG": "C.UTF-8",
    }


def install_requirements(
    bin_dir: Path, folder: Path, env: dict[str, str], collections: Path, work: Path
) -> None:
    """The folder's requirements.yml, offline: each pin from a tarball built from the `ansible`
    package's copy (ansible-galaxy checks the tarball is the pinned version)."""
    local = []
    for entry in _load((folder / "requirements.yml").read_text())["collections"]:
        name, version = entry["name"], entry["version"]
        tarball = work / f"{name.replace('.', '-')}-{version}.tar.gz"
        if not tarball.exists():
            tarball = build_tarball(bin_dir / "ansible-galaxy", name, version, work, env)
        local.append({"name": str(tarball), "type": "file", "version": version})
    offline = work / f"requirements-{folder.name}.yml"
    offline.write_text(json.dumps({"collections": local}))
    argv = [str(bin_dir / "ansible-galaxy"), "collection", "install", "--offline", "-r", str(offline)]
    done = _run([*argv, "-p", str(collections)], folder, env)
    assert done.returncode == 0, done.stdout + done.stderr


def syntax_check(
    bin_dir: Path, folder: Path, playbook: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    argv = [str(bin_dir / "ansible-playbook"), "--syntax-check", "-i", "inventory.yml", playbook]
    return _run(argv, folder, env)


@pytest.mark.integration
def test_playbooks_parse_with_ansible_core_and_the_requirements_only(
    example_homelab: Homelab, core_only: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    for path, text in render_all(example_homelab).items():
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    work = tmp_path / "tarballs"
    work.mkdir()
    for folder, playbooks in (("ansible", PLAYBOOK_TREES["ansible"]), ("network/proxmox", ("playbook.yml",))):
        collections = tmp_path / "collections" / folder.replace("/", "-")
        env = _isolated_env(core_only, tmp_path, collections)
        before = syntax_check(core_only, repo / folder, playbooks[0], env)
        assert before.returncode != 0, f"{folder}: parsed without its collections, so this proves nothing"
        assert "couldn't resolve module/action" in before.stdout + before.stderr
        install_requirements(core_only, repo / folder, env, collections, work)
        for playbook in playbooks:
            done = syntax_check(core_only, repo / folder, playbook, env)
            assert done.returncode == 0, f"{folder}/{playbook}:\n{done.stdout}{done.stderr}"
