"""Ansible collection artifacts built offline from the copies the `ansible` package bundles, for
tests that install a rendered requirements.yml without Galaxy (or from a Galaxy on loopback)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

from tests.support.integration import require_tool

GALAXY_KEYS = (
    "namespace",
    "name",
    "version",
    "readme",
    "authors",
    "description",
    "license",
    "tags",
    "dependencies",
)


def bundled_collections() -> Path:
    """site-packages/ansible_collections of the `ansible` package (skip/fail when not installed)."""
    spec = importlib.util.find_spec("ansible_collections")
    if spec is None or not spec.submodule_search_locations:
        require_tool(
            "the `ansible` package (with its bundled collections) is not installed: pip install ansible"
        )
    assert spec is not None
    assert spec.submodule_search_locations is not None
    return Path(next(iter(spec.submodule_search_locations)))


def build_tarball(galaxy: Path, name: str, version: str, work: Path, env: dict[str, str]) -> Path:
    """A collection artifact built with `ansible-galaxy collection build` from the `ansible`
    package's installed copy of `name`.

    An installed copy has MANIFEST.json but no galaxy.yml (and lacks files its FILES.json lists, so
    it cannot simply be tarred up): copy it, write galaxy.yml from the manifest, build.
    """
    namespace, collection = name.split(".")
    target = work / f"{namespace}-{collection}-{version}.tar.gz"
    if target.exists():
        return target
    installed = bundled_collections() / namespace / collection
    info = json.loads((installed / "MANIFEST.json").read_text())["collection_info"]
    assert info["version"] == version, (
        f"{name}: the `ansible` package bundles {info['version']}, pinned {version}"
    )
    source = work / "src" / name
    shutil.copytree(
        installed, source, ignore=shutil.ignore_patterns("__pycache__", "MANIFEST.json", "FILES.json")
    )
    galaxy_yml = {key: info[key] for key in GALAXY_KEYS if info.get(key) not in (None, "", [])}
    (source / "galaxy.yml").write_text(json.dumps(galaxy_yml))  # JSON is YAML
    argv = [str(galaxy), "collection", "build", str(source), "--output-path", str(work)]
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return target
