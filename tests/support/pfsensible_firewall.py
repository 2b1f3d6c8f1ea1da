"""The model of pfsensible.core's `pfsense_vlan`, `pfsense_interface`, `pfsense_alias` and `pfsense_rule`
(tag 0.7.1), from their source: how each finds its target, where it puts a new element, what else it
edits (rule separators). Read tests/support/pfsensible.py first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree as ET

from tests.support.pfsensible import ModuleFailed, new_element

# ----------------------------------------------------------------- VLANs, interfaces, aliases, rules


def _child(parent: ET.Element, tag: str) -> ET.Element:
    found = parent.find(tag)
    if found is None:
        found = new_element(tag)
        parent.append(found)
    return found


def _fill(element: ET.Element, fields: Mapping[str, str]) -> None:
    for key, value in fields.items():
        child = element.find(key)
        if child is None:
            child = ET.SubElement(element, key)
        child.text = value


def apply_vlan(root: ET.Element, trunk: str, vlan_id: int, descr: str) -> str:
    """pfsense_vlan (module_utils/vlan.py 0.7.1): the target is the `<vlan>` with this `if` and `tag`
    (`_find_target` -> pfsense.find_vlan, pfsense.py lines 540-550); found, its tag/if/pcp/descr/vlanif
    are rewritten (`_copy_and_update_target`); not found, a new one is appended to `<vlans>`."""
    vlans = _child(root, "vlans")
    fields = {"if": trunk, "tag": str(vlan_id), "pcp": "", "descr": descr, "vlanif": f"{trunk}.{vlan_id}"}
    for element in vlans.findall("vlan"):
        if element.findtext("if") == trunk and element.findtext("tag") == str(vlan_id):
            _fill(element, fields)
            return "updated"
    element = new_element("vlan")
    _fill(element, fields)
    vlans.append(element)
    return "created"


def apply_interface(root: ET.Element, descr: str, port: str, address: str, prefixlen: int) -> str:
    """pfsense_interface (module_utils/interface.py 0.7.1 lines 297-315): the target is the interface
    with this port and description, else the one with this description (failing when the port is
    taken), else the one on this port (renamed); a new one is `lan` if missing, else the first free
    `optN` (`_create_target`), appended to `<interfaces>`."""
    interfaces = _child(root, "interfaces")

    def matches(element: ET.Element, by_port: bool, by_name: bool) -> bool:
        same_port = (element.findtext("if") or "").strip() == port
        same_name = (element.findtext("descr") or "").strip().lower() == descr.lower()
        return (not by_port or same_port) and (not by_name or same_name)

    fields = {"descr": descr, "if": port, "enable": "", "ipaddr": address, "subnet": str(prefixlen)}
    for by_port, by_name in ((True, True), (False, True), (True, False)):
        for element in list(interfaces):
            if element.find("descr") is None and by_name:
                continue
            if matches(element, by_port, by_name):
                if (by_port, by_name) == (False, True) and any(
                    (e.findtext("if") or "").strip() == port for e in interfaces
                ):
                    raise ModuleFailed(f"Port {port} is already in use")
                _fill(element, fields)
                return "updated"
    if interfaces.find("lan") is None:
        name = "lan"
    else:
        number = 1
        while interfaces.find(f"opt{number}") is not None:
            number += 1
        name = f"opt{number}"
    element = new_element(name)
    _fill(element, fields)
    interfaces.append(element)
    return "created"


def apply_alias(root: ET.Element, name: str, kind: str, address: str, descr: str) -> str:
    """pfsense_alias (module_utils/alias.py 0.7.1 line 70: root `aliases`, node `alias`, key `name`;
    module_config_base finds by that key): found, rewritten; not found, appended."""
    aliases = _child(root, "aliases")
    fields = {"name": name, "type": kind, "address": address, "descr": descr}
    for element in aliases.findall("alias"):
        if element.findtext("name") == name:
            _fill(element, fields)
            return "updated"
    element = new_element("alias")
    _fill(element, fields)
    aliases.append(element)
    return "created"


def interface_by_display_name(root: ET.Element, display: str) -> str:
    """pfsense.parse_interface: an interface's internal name from its description (or its name)."""
    interfaces = root.find("interfaces")
    for element in list(interfaces) if interfaces is not None else []:
        if (
            element.findtext("descr") or ""
        ).strip().lower() == display.lower() or element.tag == display.lower():
            return element.tag
    raise ModuleFailed(f"{display} is not a valid interface")


def apply_rule(root: ET.Element, args: Mapping[str, Any]) -> str:
    """pfsense_rule (module_utils/rule.py 0.7.1): the target is the rule on this interface whose descr
    is the name (`_find_rule`, lines 389-397); else a rule on it with the same content (lines 362-387,
    which the playbook's conflict check rules out before any task runs); a new rule is inserted at the
    expected position of its interface (`_insert`, lines 487-493: `after: top` -> before the
    interface's first rule, `after: NAME` -> right after that rule) and the interface's separators
    at or below it move down one row (`_adjust_separators`, lines 262-292); a found rule is moved
    there when it is elsewhere (`_update_rule_position`, lines 499-516)."""
    filter_elt = _child(root, "filter")
    interface = interface_by_display_name(root, str(args["interface"]))
    rules = filter_elt.findall("rule")

    def on_interface(element: ET.Element) -> bool:
        return element.find("floating") is None and (element.findtext("interface") or "").lower() == interface

    def position(element: ET.Element) -> int:
        return [e for e in filter_elt.findall("rule") if on_interface(e)].index(element)

    found = next((e for e in rules if on_interface(e) and e.findtext("descr") == args["name"]), None)
    after = str(args["after"])
    if found is not None:
        current = position(found)
        expected = 0 if after == "top" else position(_named(filter_elt, interface, after, on_interface)) + 1
        if current == expected:
            return "unchanged"
        _adjust_separators(filter_elt, interface, current, add=False)
        filter_elt.remove(found)
        _insert(filter_elt, found, interface, after, on_interface)
        return "moved"
    element = new_element("rule")
    _fill(element, {"descr": str(args["name"]), "interface": interface, "type": str(args["action"])})
    _insert(filter_elt, element, interface, after, on_interface)
    return "created"


def _named(filter_elt: ET.Element, interface: str, name: str, on_interface: Any) -> ET.Element:
    for element in filter_elt.findall("rule"):
        if on_interface(element) and element.findtext("descr") == name:
            return element
    raise ModuleFailed(f"Failed to insert after rule={name} interface={interface}")


def _insert(
    filter_elt: ET.Element, element: ET.Element, interface: str, after: str, on_interface: Any
) -> None:
    children = list(filter_elt)
    if after == "top":
        first = next((e for e in children if e.tag == "rule" and on_interface(e)), None)
        index = children.index(first) if first is not None else len(children)
    else:
        index = children.index(_named(filter_elt, interface, after, on_interface)) + 1
    filter_elt.insert(index, element)
    rules = [e for e in filter_elt.findall("rule") if on_interface(e)]
    _adjust_separators(filter_elt, interface, rules.index(element), add=True)


def _adjust_separators(filter_elt: ET.Element, interface: str, start: int, add: bool) -> None:
    """rule.py 0.7.1 lines 262-292 (with before=False: a separator at or below the row moves)."""
    separators = filter_elt.find(f"separator/{interface}")
    if separators is None:
        return
    for separator in separators:
        row = separator.find("row")
        if row is None or row.text is None or separator.findtext("if") != interface:
            continue
        match = re.match(r"fr(\d+)", row.text)
        if match is None:
            continue
        index = int(match.group(1))
        if add and index >= start:
            row.text = f"fr{index + 1}"
        elif not add and index > start:
            row.text = f"fr{index - 1}"
