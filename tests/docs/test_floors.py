"""The floors the README and the architecture guide describe are the ones import-linter keeps.

`pyproject.toml` holds the contracts `make lint` runs; the two pages list the same floors in the
same order, name the packages beside them, and no package of `homelabeazy` is left out of both.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "homelabeazy"
BESIDE = ("ops", "importer")
"""Beside the floors, kept there by the `forbidden` contracts."""
NOT_CODE = ("blueprint",)
"""Static files shipped as package data."""


def _contracts() -> list[dict[str, object]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, object]] = data["tool"]["importlinter"]["contracts"]
    return contracts


def _floors() -> list[list[str]]:
    """The layers contract, top floor first, each floor as its packages' short names."""
    (layers,) = [c for c in _contracts() if c["type"] == "layers"]
    floors = layers["layers"]
    assert isinstance(floors, list)
    return [[part.strip().removeprefix("homelabeazy.") for part in floor.split("|")] for floor in floors]


def _readme_floors() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\d+\. (.+?) — ", section, flags=re.M)
    return [re.findall(r"`([a-z_]+)`", row) for row in rows]


def _guide_floors() -> list[list[str]]:
    text = (ROOT / "docs" / "guides" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## The floors", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| \d+ \| (.+?) \|", section, flags=re.M)
    return [re.findall(r"`([a-z_]+)`", row) for row in rows]


def test_the_readme_lists_the_floors_import_linter_keeps() -> None:
    assert _readme_floors() == _floors()


def test_the_architecture_guide_lists_the_floors_import_linter_keeps() -> None:
    assert _guide_floors() == _floors()


def test_every_package_is_on_a_floor_or_beside_them() -> None:
    placed = {name for floor in _floors() for name in floor} | set(BESIDE) | set(NOT_CODE)
    present = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    present |= {p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("__")}
    assert present - placed == set(), "a package on no floor: add it to pyproject's layers and the docs"


@pytest.mark.parametrize("beside", BESIDE)
def test_what_stands_beside_is_kept_there_by_a_contract(beside: str) -> None:
    sources = [c.get("source_modules", []) for c in _contracts() if c["type"] == "forbidden"]
    assert any(f"homelabeazy.{beside}" in s for s in sources if isinstance(s, list))
    text = (ROOT / "README.md").read_text(encoding="utf-8").split("## Architecture", 1)[1]
    assert f"`{beside}`" in text.split("\n## ", 1)[0]
