"""The homelab dashboard is valid Grafana JSON the chart's sidecar picks up, and every panel's
query parses with real promtool (each one checked as a recording rule)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.model import Homelab
from tests.gitops.conftest import render_k8s
from tests.monitoring.conftest import rendered_values
from tests.support.integration import need_binary

DASHBOARDS = "kubernetes/manifests/monitoring/dashboards.yaml"


def _config_map(homelab: Homelab) -> dict[str, Any]:
    (doc,) = [d for d in yaml.safe_load_all(render_k8s(homelab)[DASHBOARDS]) if d]
    assert isinstance(doc, dict)
    return doc


def _dashboard(homelab: Homelab) -> dict[str, Any]:
    (text,) = _config_map(homelab)["data"].values()
    data = json.loads(text)
    assert isinstance(data, dict)
    return data


def test_the_sidecar_label_matches_the_rendered_values(monitored_homelab: Homelab) -> None:
    sidecar = rendered_values(monitored_homelab)["grafana"]["sidecar"]["dashboards"]
    labels = _config_map(monitored_homelab)["metadata"]["labels"]
    assert labels[sidecar["label"]] == sidecar["labelValue"]


def test_the_dashboard_is_a_grafana_model_with_unique_non_overlapping_panels(
    monitored_homelab: Homelab,
) -> None:
    dashboard = _dashboard(monitored_homelab)
    assert dashboard["uid"]
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels) >= 8
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24
        mine = {
            (x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & mine, panel["title"]
        cells |= mine
        assert panel["targets"][0]["expr"]
        assert panel["datasource"]["uid"] == "${datasource}"
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource"]


@pytest.mark.integration
def test_every_panel_query_parses_with_promtool(monitored_homelab: Homelab, tmp_path: Path) -> None:
    panels = _dashboard(monitored_homelab)["panels"]
    rules = [{"record": f"homelab:panel_{p['id']}", "expr": t["expr"]} for p in panels for t in p["targets"]]
    (tmp_path / "panels.yaml").write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    binary = need_binary("promtool", "Debian package `prometheus`")
    result = subprocess.run(
        [binary, "check", "rules", "panels.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout
