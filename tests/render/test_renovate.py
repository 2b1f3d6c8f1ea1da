"""renovate.json: golden file, and the shape Renovate relies on (the real extraction is in
test_renovate_extract.py)."""

from __future__ import annotations

import json
import re

import pytest

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


# --- the rules in renovate.json, each on both sides (the real Renovate runs in test_renovate_extract) --


def _k3s_tag(tag: str) -> dict[str, str] | None:
    """Renovate's regex versioning over `tag` (JavaScript's `(?<name>` is Python's `(?P<name>`)."""
    pattern = renovate.K3S_VERSIONING.removeprefix("regex:").replace("(?<", "(?P<")
    match = re.match(pattern, tag)
    return None if match is None else match.groupdict()


@pytest.mark.parametrize(
    ("tag", "parts"),
    [
        ("v1.31.4+k3s1", {"major": "1", "minor": "31", "patch": "4", "build": "1"}),
        ("v1.34.10+k3s12", {"major": "1", "minor": "34", "patch": "10", "build": "12"}),
        ("v1.31.4", None),  # Kubernetes' tag, not a K3s release
        ("v1.31.4-rc1+k3s1", None),  # a release candidate is never proposed
        ("1.31.4+k3s1", None),
        ("v1.31.4+k3s1x", None),
        ("v1.31+k3s1", None),
    ],
)
def test_k3s_versioning_reads_the_build_as_a_release(tag: str, parts: dict[str, str] | None) -> None:
    assert _k3s_tag(tag) == parts


def _rule(dep_type: str, **wanted: object) -> dict[str, object]:
    rules = [
        r
        for r in renovate.package_rules()
        if r["matchDepTypes"] == [dep_type] and all(r.get(k) == v for k, v in wanted.items())
    ]
    assert len(rules) == 1, rules
    return rules[0]


def test_k3s_is_one_pull_request_per_minor() -> None:
    rule = _rule("k3s")
    assert rule["separateMultipleMinor"] is True
    assert "groupName" not in rule
    assert "homelab upgrade k3s --to {{{newVersion}}}" in rule["prBodyNotes"][0]  # type: ignore[index]


def test_core_charts_group_minor_and_patch_only() -> None:
    grouped = _rule("core-chart", groupName="core service charts")
    assert grouped["matchUpdateTypes"] == ["minor", "patch"]
    assert [
        r for r in renovate.package_rules() if r.get("groupName") and "major" in r.get("matchUpdateTypes", [])
    ] == []
    assert "groupName" not in _rule("app-chart")
    assert _rule("ansible-collection")["groupName"] == "Ansible collections"


@pytest.mark.parametrize(
    ("path", "matched"),
    [
        ("homelab.yaml", True),
        ("homelabxyaml", False),
        ("apps/homelab.yaml", False),
        ("homelab.yaml.orig", False),
    ],
)
def test_only_the_root_homelab_yaml_is_read(example_homelab: Homelab, path: str, matched: bool) -> None:
    for manager in renovate.managers(example_homelab):
        assert bool(re.search(manager["fileMatch"][0], path)) is matched


def test_ci_commits_are_ignored_and_renovate_branches_are_its_own(example_homelab: Homelab) -> None:
    data = renovate.config(example_homelab)
    assert data["gitIgnoredAuthors"] == [renovate.RENDER_BOT_EMAIL]
    assert data["branchPrefix"] == "renovate/"
