"""Numbers the docs state about the code are the code's (issue: "181 lines, 117 files" stayed after
the example grew to 223 and 133). Each pattern below is searched in every hand-written page; every
occurrence must match what the code says today."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from homelabeazy.checks import CHECKS
from homelabeazy.config.starter import example_text

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _example_files() -> int:
    from homelabeazy.checks import load_config
    from homelabeazy.model import build
    from homelabeazy.render.registry import render_all

    return len(render_all(build(load_config(example_text()).config)))


FACTS: dict[str, tuple[str, Callable[[], tuple[int, ...]]]] = {
    "semantic checks": (r"\b(\d+) semantic checks", lambda: (len(CHECKS),)),
    "the example's size": (
        r"the example \((\d+) lines, (\d+) files\)",
        lambda: (len(example_text().splitlines()), _example_files()),
    ),
}


@pytest.mark.parametrize("fact", sorted(FACTS))
def test_the_docs_state_the_codes_numbers(fact: str) -> None:
    pattern, truth = FACTS[fact]
    want = truth()
    found = [
        (page.relative_to(ROOT), tuple(int(n) for n in match.groups()))
        for page in PAGES
        for match in re.finditer(pattern, page.read_text(encoding="utf-8"))
    ]
    assert found, f"no page states {fact} any more: drop it from FACTS"
    stale = [(str(page), said) for page, said in found if said != want]
    assert stale == [], f"{fact} is {want} today"
