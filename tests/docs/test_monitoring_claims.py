"""What the docs say about kube-prometheus-stack's subcharts follows the shared chart copy (issue 29:
README, the testing guide and the configuration reference still said they were missing, and the
monitoring tests deselected, after the shared copy had gained them and the tests ran)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MONITORING_CHART, SHARED
from tests.support.chart_cache import unassembled_subcharts

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs" / "guides").glob("*.md")),
    ROOT / "docs" / "reference" / "configuration.md",
]
MISSING = ("lacks its subcharts", "subcharts are missing", "cannot render them yet", "deselected while")
"""How the docs said that the subcharts were missing."""


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_says_the_subcharts_are_missing_while_they_are_there(page: Path) -> None:
    if unassembled_subcharts(MONITORING_CHART, SHARED):
        pytest.skip(f"the shared {MONITORING_CHART} lacks subcharts: the claim would be true")
    text = " ".join(page.read_text(encoding="utf-8").split())
    assert not [claim for claim in MISSING if claim in text]
