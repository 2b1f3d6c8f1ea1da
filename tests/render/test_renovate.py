"""renovate.json: golden file, and the shape Renovate relies on (the real extraction is in
test_renovate_extract.py)."""

from __future__ import annotations

import json

from homelabeazy.model import Homelab
from homelabeazy.render import render_all, renovate
from tests.support.golden import assert_golden


def test_golden(example_homelab: Homelab) -> None:
    assert_golden(render_all(example_homelab, ["renovate"]), "renovate")


def test_only_the_custom_managers_run(example_homelab: Homelab) -> None:
    """Renovate's helm/terraform/ansible-galaxy managers would edit rendered files; they are off."""
    data = json.loads(render_all(example_homelab)["renovate.json"])
    assert data["enabledManagers"] == ["custom.jsonata"]
    assert {m["customType"] for m in data["customManagers"]} == {"jsonata"}
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
