"""A model of what pfsensible.core's modules do to pfSense's config.xml, written from their source.

pfsensible.core cannot be installed here (Galaxy only), and no pfSense runs here, so the proof that
the pfSense playbook keeps what is not the homelab's runs the playbook's arguments through this
model instead. Every function names the upstream file and lines it follows (github.com/pfsensible/core,
tag 0.7.1 = 208776c4641eaaa4e6a287ae8faed88c20e89168, and tag 0.6.0 =
0786ddd14f80ec00413cb57a75d3e2ca83092934 for the release the playbook used before). Nothing is
copied: the behaviour is re-stated, including its quirks (positional list overwrite, elements kept
under a scalar, whitespace tails), because the proof depends on exactly those.

This file holds what the modules share (`copy_dict_to_element` and the parameter helpers of
module_base); pfsensible_resolver.py and pfsensible_firewall.py the modules themselves.

Only what the playbook's tasks reach is modelled: `pfsense_dns_resolver` completely (argument
normalisation, `_params_to_obj`, `_validate_params`, `copy_dict_to_element`, the removal of unset
booleans); for `pfsense_vlan`, `pfsense_interface`, `pfsense_alias` and `pfsense_rule` how each finds
its target, where it puts a new element and what else it edits (rule separators). The content those
four write into their own target is the homelab's and is reduced to its identifying fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from xml.etree import ElementTree as ET

Version = Literal["0.6.0", "0.7.1"]


class ModuleFailed(Exception):
    """What `module.fail_json(msg=...)` would report: the module stops and writes nothing."""


# --------------------------------------------------------------------------- module_base / pfsense helpers


def get_param(obj: dict[str, Any], params: Mapping[str, Any], name: str) -> None:
    """PFSenseModuleBase._get_ansible_param (module_base.py 0.7.1 lines 164-178): a value that is not
    None is copied, an int as its str."""
    if params.get(name) is not None:
        value = params[name]
        obj[name] = str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def get_param_bool(obj: dict[str, Any], params: Mapping[str, Any], name: str, version: Version) -> None:
    """PFSenseModuleBase._get_ansible_param_bool with value='' (module_base.py 0.7.1 lines 180-196,
    0.6.0 lines 63-74): True writes ''; False deletes the key in 0.7.1 (value_false None) and does
    nothing in 0.6.0."""
    if params.get(name) is not None:
        if params[name]:
            obj[name] = ""
        elif version == "0.7.1" and name in obj:
            del obj[name]


def new_element(tag: str, text: str | None = "\n\t\t\t") -> ET.Element:
    """PFSenseModule.new_element (pfsense.py 0.7.1 lines 116-122)."""
    element = ET.Element(tag)
    element.text = text
    element.tail = "\n\t\t"
    return element


def copy_dict_to_element(
    src: Mapping[str, Any],
    top: ET.Element,
    version: Version,
    sub: int = 0,
    prev: ET.Element | None = None,
) -> bool:
    """PFSenseModule.copy_dict_to_element (pfsense.py 0.7.1 lines 249-343, 0.6.0 lines 244-320).

    Keys of `src` create or overwrite children (found with `find`, i.e. the FIRST child of that tag);
    a list overwrites the children of that tag by position, dropping surplus ones from the end and
    appending missing ones; below the top level (`sub` > 0) any child not named in `src` is removed.
    A scalar written over an element keeps that element's own children. The tails are set as the
    module sets them (it imitates pfSense's indentation). 0.6.0 reports a change for an empty list
    whose tag does not exist yet and does not touch tails.
    """
    changed = False
    for key, value in src.items():
        this = top.find(key)
        if this is None:
            if isinstance(value, dict):
                changed = True
                element = ET.Element(key)
                element.text = "\n" + "\t" * (sub + 4)
                element.tail = "\n" + "\t" * (sub + (2 if version == "0.7.1" else 3))
                if version == "0.7.1":
                    if prev is not None:
                        prev.tail = "\n" + "\t" * (sub + 2)
                    prev = element
                    copy_dict_to_element(value, element, version, sub + 1, prev)
                else:
                    copy_dict_to_element(value, element, version, sub + 1)
                top.append(element)
            elif isinstance(value, list):
                if value or version == "0.6.0":
                    changed = True
                if value and version == "0.7.1" and prev is not None:
                    prev.tail = "\n" + "\t" * (sub + 2)
                for item in value:
                    element = new_element(key)
                    if version == "0.7.1":
                        prev = element
                    if isinstance(item, dict):
                        copy_dict_to_element(
                            item, element, version, sub + 1, prev if version == "0.7.1" else None
                        )
                    else:
                        element.text = item
                    top.append(element)
            else:
                changed = True
                element = ET.Element(key)
                element.text = value
                element.tail = "\n" + "\t" * (sub + (2 if version == "0.7.1" else 3))
                if version == "0.7.1":
                    if prev is not None:
                        prev.tail = "\n" + "\t" * (sub + 2)
                    prev = element
                top.append(element)
        else:
            if isinstance(value, dict):
                if copy_dict_to_element(value, this, version, sub + 1, this if version == "0.7.1" else None):
                    changed = True
            elif isinstance(value, list):
                existing = top.findall(key)
                while len(existing) > len(value):
                    top.remove(existing.pop())
                    changed = True
                while len(existing) < len(value):
                    element = new_element(key)
                    top.append(element)
                    existing.append(element)
                    changed = True
                    if version == "0.7.1":
                        prev = element
                for index, item in enumerate(value):
                    if isinstance(item, str):
                        if existing[index].text is None and item == "":
                            pass
                        elif existing[index].text != item:
                            existing[index].text = item
                            changed = True
                    elif copy_dict_to_element(
                        item, existing[index], version, sub + 1, prev if version == "0.7.1" else None
                    ):
                        changed = True
            elif this.text is None and value == "":
                pass
            elif this.text != value:
                this.text = value
                changed = True
            if version == "0.7.1":
                prev = this
    if sub:
        for child in list(top):
            if child.tag not in src:
                changed = True
                top.remove(child)
    if version == "0.7.1" and prev is not None:
        prev.tail = "\n" + "\t" * (sub + 1)
    return changed
