"""What a user's `pip install homelabeazy` brings must be exactly what the code imports.

A module src/ imports but pyproject does not declare works on a developer's machine (some dev tool
pulled it in) and fails for the user with ModuleNotFoundError: issue 13, click. These tests read
the imports with `ast` (no code runs), map each to the distribution that provides it, and compare
with pyproject's `dependencies`. A fast start is checked here too: importing the CLI must not load
the heavy client libraries that only some commands use.
"""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "homelabeazy"
BLUEPRINT = SRC / "blueprint"

USED_WITHOUT_IMPORT = {
    "kubernetes-validate": "its JSON schemas are read as package data (importlib.resources)",
}
"""Declared distributions src/ needs without an import statement, and why."""

HEAVY = (
    *("httpx", "proxmoxer", "kubernetes", "hvac", "ldap3", "jsonschema", "ansible_runner"),
    *("pydantic", "rich", "ruamel", "jinja2", "yaml", "requests", "urllib3", "cryptography", "hcl2", "ssl"),
    *("homelabeazy.config.schema", "homelabeazy.model", "homelabeazy.netpolicy", "homelabeazy.render"),
)
"""What only some commands use: `homelab --help` must not pay for importing them (together they
cost several times the whole --help budget of benchmarks/bench_startup.py)."""


def third_party_imports(root: Path) -> dict[str, set[str]]:
    """Top-level module name -> files under `root` that import it (stdlib and own package left out)."""
    found: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        if BLUEPRINT in path.parents:
            continue  # files of the rendered repository: they run under Ansible, not this package
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top != "homelabeazy":
                    found.setdefault(top, set()).add(str(path.relative_to(root.parent)))
    return found


def declared() -> dict[str, Requirement]:
    """pyproject's runtime dependencies, by canonical distribution name."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [Requirement(text) for text in project["dependencies"]]
    return {canonicalize_name(r.name): r for r in requirements}


def test_every_imported_module_is_a_declared_dependency() -> None:
    providers = importlib.metadata.packages_distributions()
    deps = declared()
    missing = []
    for module, files in sorted(third_party_imports(SRC).items()):
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        assert dists, f"no installed distribution provides `{module}` (imported by {sorted(files)})"
        if not dists & deps.keys():
            missing.append(f"{module} (from {'/'.join(sorted(dists))}), imported by {sorted(files)}")
    assert not missing, "imported but not in pyproject's dependencies:\n" + "\n".join(missing)


def test_every_declared_dependency_is_used() -> None:
    providers = importlib.metadata.packages_distributions()
    imported = {
        canonicalize_name(dist) for module in third_party_imports(SRC) for dist in providers.get(module, [])
    }
    unused = sorted(deps for deps in declared() if deps not in imported and deps not in USED_WITHOUT_IMPORT)
    assert not unused, f"declared but never imported by src/ (drop them, or say why): {unused}"


def test_every_dependency_has_an_upper_bound() -> None:
    """A future breaking release must not reach a user who upgrades nothing else."""
    capped = {"<", "~=", "=="}
    unbounded = [str(r) for r in declared().values() if not any(s.operator in capped for s in r.specifier)]
    assert not unbounded, f"no upper bound: {unbounded}"


def test_the_audit_sees_a_planted_undeclared_import(tmp_path: Path) -> None:
    """The import reader itself: finds plain, dotted and `from` imports, nested ones, skips stdlib."""
    pkg = tmp_path / "homelabeazy"
    pkg.mkdir()
    (pkg / "a.py").write_text(
        "import os\nimport click.core\nfrom rich.console import Console\nfrom . import b\n"
        "def f():\n    import httpx\n",
        encoding="utf-8",
    )
    assert sorted(third_party_imports(pkg)) == ["click", "httpx", "rich"]


@pytest.mark.parametrize("entry", ["homelabeazy.cli.app", "homelabeazy.cli.core_commands"])
def test_importing_the_cli_loads_no_heavy_library(entry: str) -> None:
    """In a fresh interpreter (this one has loaded everything): the CLI's import leaves them unloaded."""
    probe = f"import sys, {entry}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    env_path = {"PYTHONPATH": str(REPO / "src")}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env_path
    )
    assert result.stdout.split() == [], f"`import {entry}` loaded {result.stdout.strip()}"


def test_the_project_metadata_raises_no_build_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """`pip install -e .` printed a deprecation for `project.license` as a TOML table: the build
    backend (the locked setuptools) reads pyproject.toml here with every warning recorded."""
    import warnings

    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    monkeypatch.chdir(REPO)  # the readme and package paths are relative to the project
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        apply_configuration(Distribution(), str(REPO / "pyproject.toml"))
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []
