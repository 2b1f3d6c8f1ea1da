"""The docs target: golden files of the example's README, ARCHITECTURE (Mermaid) and .gitignore."""

from __future__ import annotations

from homelabeazy.model import Homelab
from homelabeazy.render import render_all
from homelabeazy.render.docs import mermaid
from tests.support.golden import assert_golden


def test_docs_golden(example_homelab: Homelab) -> None:
    assert_golden(render_all(example_homelab, ["docs"]), "docs")


def test_render_is_deterministic(example_homelab: Homelab) -> None:
    assert render_all(example_homelab, ["docs"]) == render_all(example_homelab, ["docs"])


def test_mermaid_shows_this_homelab(example_homelab: Homelab) -> None:
    diagram = mermaid(example_homelab)
    for node in example_homelab.nodes:
        assert f"{node.name}<br/>{node.role} {node.ip}" in diagram
    for route in example_homelab.routes:
        assert route.host in diagram
    for zone in example_homelab.zones:
        assert f"VLAN {zone.vlan_id} {zone.name} {zone.cidr}" in diagram
    assert "API VIP 10.10.10.10" in diagram
