"""renovate.json: golden file, and the shape Renovate relies on (the real extraction is in
test_renovate_extract.py)."""

from __future__ import annotations

import json

from homelabeazy.model import Homelab
from homelabeazy.model.catalog import REGISTRY
from homelabeazy.render import render_all, renovate
from tests.support.golden import assert_golden


def test_golden(example_homelab: Homelab) -> None:
    assert_golden(render_all(example_homelab, ["renovate"]), "renovate")


def test_only_the_custom_managers_run(example_homelab: Homelab) -> None:
    """Renovate's helm/terraform/ansible-galaxy/github-actions managers would edit rendered files;
    they are off. The one regex manager reads ci.actions (a tag and its commit in one scalar)."""
    data = json.loads(render_all(example_homelab)["renovate.json"])
    assert data["enabledManagers"] == ["custom.jsonata", "custom.regex"]
    kinds = [m["customType"] for m in data["customManagers"]]
    assert kinds.count("regex") == 1
    assert set(kinds) == {"jsonata", "regex"}
    for manager in data["customManagers"]:
        assert manager["fileMatch"] == ["^homelab[.]yaml$"]
        assert len(manager["matchStrings"]) == 1, "one query per manager: an empty one drops its siblings"


def test_says_ci_re_renders(example_homelab: Homelab) -> None:
    description = " ".join(renovate.config(example_homelab)["description"])
    assert "CI re-renders" in description
    assert "homelab validate --deep" in description


def test_jsonata_literals_escape() -> None:
    assert renovate.literal('a"b\\c') == '"a\\"b\\\\c"'
    assert renovate.dep_object({"x": "y"}) == '{"x": y}'


def test_kube_vip_image_and_provider_source_are_what_the_tree_uses(example_homelab: Homelab) -> None:
    """Renovate looks up the image and provider the rendered tree really runs."""
    files = render_all(example_homelab)
    role = files["ansible/roles/k3s_server/defaults/main.yml"]
    assert f"{renovate.KUBE_VIP_IMAGE}:{{{{ kube_vip_version }}}}" in role
    assert f'source = "{renovate.PROVIDER_SOURCE}"' in files["terraform/versions.tf"]


def test_every_core_chart_has_a_manager(example_homelab: Homelab) -> None:
    data = json.loads(render_all(example_homelab)["renovate.json"])
    queries = " ".join(m["matchStrings"][0] for m in data["customManagers"])
    for key, make in REGISTRY.items():
        chart = make(example_homelab.config).chart
        if chart is not None:
            assert f"services.{key}[" in queries
            assert json.dumps(chart.repo) in queries
