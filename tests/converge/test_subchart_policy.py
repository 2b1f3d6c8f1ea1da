"""`needs_subcharts` tests are left out of the run (not runnable here, listed in the README) exactly
when the shared kube-prometheus-stack, with the `charts/extra/` overlay, lacks a subchart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MONITORING_CHART, split_without_subcharts
from tests.support.chart_cache import ESO, ESO_BUNDLE, build_chart_cache, unassembled_subcharts

SUBCHARTS = {"kube-state-metrics": "6.4.*", "grafana": "10.1.2"}


def _shared(tmp_path: Path, overlay: dict[str, str]) -> Path:
    """A shared folder whose monitoring chart names SUBCHARTS; `overlay` puts some in extra/."""
    chart = tmp_path / "charts" / MONITORING_CHART
    (chart / "charts" / "crds").mkdir(parents=True)
    deps = "".join(f"  - name: {n}\n    version: '{v}'\n" for n, v in SUBCHARTS.items())
    (chart / "Chart.yaml").write_text(f"name: kube-prometheus-stack\ndependencies:\n{deps}")
    # the cache always rebuilds External Secrets' CRD templates: an empty bundle is enough here
    (tmp_path / "charts" / ESO).mkdir()
    (tmp_path / "charts" / ESO / "Chart.yaml").write_text("name: external-secrets\n")
    (tmp_path / "charts" / ESO_BUNDLE).parent.mkdir()
    (tmp_path / "charts" / ESO_BUNDLE).write_text("")
    for folder, version in overlay.items():
        sub = tmp_path / "charts" / "extra" / f"{folder}-{version}"
        sub.mkdir(parents=True)
        (sub / "Chart.yaml").write_text(f"name: {folder}\nversion: {version}\n")
    return tmp_path


class _Item:
    """What the hook reads and writes of a collected test."""

    def __init__(self, marked: bool) -> None:
        self.marked = marked
        self.added: list[Any] = []

    def get_closest_marker(self, name: str) -> object | None:
        return object() if self.marked and name == "needs_subcharts" else None

    def add_marker(self, marker: Any) -> None:
        self.added.append(marker)


def test_missing_subcharts_are_named_and_the_overlay_supplies_them(tmp_path: Path) -> None:
    partial = _shared(tmp_path / "partial", {"grafana": "10.1.2"})
    assert unassembled_subcharts(MONITORING_CHART, partial) == ["kube-state-metrics"]
    full = _shared(tmp_path / "full", {"grafana": "10.1.2", "kube-state-metrics": "6.4.1"})
    assert unassembled_subcharts(MONITORING_CHART, full) == []
    cache = build_chart_cache(tmp_path / "cache", full)
    assert sorted(p.name for p in (cache / MONITORING_CHART / "charts").iterdir()) == [
        "crds",
        "grafana",
        "kube-state-metrics",
    ]
    assert unassembled_subcharts("absent-1.0.0", full) == ["absent-1.0.0"]


@pytest.mark.parametrize(
    ("overlay", "left_out"), [({}, True), ({"grafana": "10.1.2", "kube-state-metrics": "6.4.0"}, False)]
)
def test_only_marked_tests_are_left_out_and_only_without_subcharts(
    tmp_path: Path, overlay: dict[str, str], left_out: bool
) -> None:
    marked, plain = _Item(marked=True), _Item(marked=False)
    kept, removed = split_without_subcharts([marked, plain], _shared(tmp_path, overlay))  # type: ignore[list-item]
    assert kept == ([plain] if left_out else [marked, plain])
    assert removed == ([marked] if left_out else [])
    assert marked.added == plain.added == []
