"""The pfSense playbook's VLAN, interface, alias and rule tasks keep every object of the user's.

The pfsensible modules find their target by a key (VLAN tag on the trunk, interface port or name,
alias name, rule name or content) and rewrite it; they never delete anything else. On the user's
config.xml fixture, through the model of the modules (tests/support/pfsensible_firewall.py), the
user's rules, aliases, VLANs and interfaces stay byte-identical in canonical form; the user's WAN
separators move down one row per homelab rule put above them (the rule module keeps each separator
with its rule). Where a task would take over an object of the user's, the playbook's conflict check
(the rendered filter) stops it first, and the model shows what would have happened.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from tests.support import pfsensible_firewall
from tests.support.pfsense_config import (
    USER,
    canonical,
    foreign_view,
    playbook_vars,
    rendered,
    rendered_filters,
)

# ----------------------------------------------------------------- VLANs, interfaces, aliases, rules


def _apply_firewall(root: ET.Element, data: dict[str, Any]) -> dict[str, list[str]]:
    """The VLAN, interface, alias and rule tasks, in the playbook's order, item by item."""
    outcome: dict[str, list[str]] = {"vlan": [], "interface": [], "alias": [], "rule": []}
    trunk = data["pfsense_trunk_interface"]
    for vlan in data["homelab_vlans"]:
        outcome["vlan"].append(pfsensible_firewall.apply_vlan(root, trunk, vlan["id"], vlan["descr"]))
    for vlan in data["homelab_vlans"]:
        outcome["interface"].append(
            pfsensible_firewall.apply_interface(
                root, vlan["interface"], f"{trunk}.{vlan['id']}", vlan["address"], vlan["prefixlen"]
            )
        )
    for alias in data["homelab_aliases"]:
        outcome["alias"].append(
            pfsensible_firewall.apply_alias(
                root, alias["name"], alias["type"], alias["address"], alias["descr"]
            )
        )
    for rule in data["homelab_rules"]:
        outcome["rule"].append(pfsensible_firewall.apply_rule(root, rule))
    return outcome


def _firewall_owned(data: dict[str, Any]) -> Callable[[ET.Element, ET.Element], bool]:
    vlans = {str(v["id"]) for v in data["homelab_vlans"]}
    interfaces = {v["interface"] for v in data["homelab_vlans"]}
    aliases = {a["name"] for a in data["homelab_aliases"]}
    rules = {r["name"] for r in data["homelab_rules"]}

    def owned(parent: ET.Element, child: ET.Element) -> bool:
        if parent.tag == "vlans":
            return child.findtext("tag") in vlans and child.findtext("if") == data["pfsense_trunk_interface"]
        if parent.tag == "interfaces":
            return child.findtext("descr") in interfaces
        if parent.tag == "aliases":
            return child.findtext("name") in aliases
        if parent.tag == "filter" and child.tag == "rule":
            return child.findtext("descr") in rules
        return parent.tag.startswith("sep") and child.tag == "row"  # moved with their rules: asserted apart

    return owned


def _separator_rows(root: ET.Element) -> list[str | None]:
    return [row.text for row in root.findall("filter/separator/wan/*/row")]


def test_firewall_tasks_keep_every_rule_alias_vlan_and_interface_of_the_user(tmp_path: Path) -> None:
    files = rendered()
    data = playbook_vars(files)
    assert (
        rendered_filters(files, tmp_path).homelab_pfsense_conflicts(
            USER,
            data["pfsense_trunk_interface"],
            data["homelab_vlans"],
            data["homelab_aliases"],
            data["homelab_rules"],
        )
        == []
    )
    before = ET.fromstring(USER)
    after = ET.fromstring(USER)
    outcome = _apply_firewall(after, data)
    assert set(outcome["vlan"]) == set(outcome["interface"]) == set(outcome["alias"]) == {"created"}
    owned = _firewall_owned(data)
    assert foreign_view(after, owned) == foreign_view(before, owned)
    # the user's WAN separators stay above the same user rules: one homelab rule went in at the top
    wan_rules = sum(1 for r in data["homelab_rules"] if r["interface"] == "wan")
    assert _separator_rows(before) == ["fr0", "fr1"]
    assert _separator_rows(after) == [f"fr{wan_rules}", f"fr{1 + wan_rules}"]
    users_wan = [
        e.findtext("descr") for e in after.findall("filter/rule") if e.findtext("interface") == "wan"
    ]
    assert users_wan[wan_rules:] == ["NAT Plex", "WireGuard in"], "the user's WAN rules keep their order"
    # a re-run finds every object by its key and moves nothing
    again = _apply_firewall(after, data)
    assert set(again["vlan"]) == set(again["interface"]) == set(again["alias"]) == {"updated"}
    assert set(again["rule"]) == {"unchanged"}


@pytest.mark.parametrize(
    ("edit", "words", "users"),
    [
        (
            lambda x: x.replace("<tag>99</tag>", "<tag>10</tag>").replace("igb1.99", "igb1.10"),
            "VLAN 10 on igb1 already exists as 'IoT devices'",
            "vlans/vlan[tag='10']",
        ),
        (
            lambda x: x.replace("<descr><![CDATA[IOT]]>", "<descr><![CDATA[VLAN20_GUESTS]]>"),
            "interface VLAN20_GUESTS already exists on port igb1.99",
            "interfaces/opt1",
        ),
        (
            lambda x: x.replace(
                "<name>web_ports</name>\n\t\t\t<type>port</type>",
                "<name>hl_net_10</name>\n\t\t\t<type>network</type>",
            ),
            "alias hl_net_10 already exists",
            "aliases/alias[name='hl_net_10']",
        ),
    ],
    ids=["vlan-tag-taken", "interface-name-taken", "alias-name-taken"],
)
def test_an_object_the_tasks_would_take_over_stops_the_playbook(
    edit: Callable[[str], str], words: str, users: str, tmp_path: Path
) -> None:
    files = rendered()
    data = playbook_vars(files)
    config = edit(USER)
    conflicts = rendered_filters(files, tmp_path).homelab_pfsense_conflicts(
        config,
        data["pfsense_trunk_interface"],
        data["homelab_vlans"],
        data["homelab_aliases"],
        data["homelab_rules"],
    )
    assert any(words in c for c in conflicts), conflicts
    # without the check, the module would rewrite the user's object: the model shows it
    before, after = ET.fromstring(config), ET.fromstring(config)
    _apply_firewall(after, data)
    mine_before, mine_after = before.find(users), after.find(users)
    assert mine_before is not None
    assert mine_after is not None
    assert canonical(mine_after) != canonical(mine_before)


def test_a_hand_written_rule_with_the_homelabs_content_is_not_adopted(tmp_path: Path) -> None:
    """pfsense_rule adopts (renames, moves) a rule of the same content when none has its name."""
    files = rendered()
    data = playbook_vars(files)
    rule = next(r for r in data["homelab_rules"] if r["interface"] == "wan")
    config = USER.replace(
        "\t\t<separator>",
        "\t\t<rule><type>block</type><interface>wan</interface><ipprotocol>inet</ipprotocol>"
        "<source><address>hl_vlans</address><not></not></source>"
        f"<destination><address>{rule['destination']}</address></destination>"
        "<descr>keep management dark</descr></rule>\n\t\t<separator>",
        1,
    )
    conflicts = rendered_filters(files, tmp_path).homelab_pfsense_conflicts(
        config,
        data["pfsense_trunk_interface"],
        data["homelab_vlans"],
        data["homelab_aliases"],
        data["homelab_rules"],
    )
    assert any("'keep management dark' on wan has the content of the homelab's" in c for c in conflicts), (
        conflicts
    )
