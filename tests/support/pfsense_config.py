"""What the pfSense proofs share: the user's config.xml fixtures, the rendered playbook's own filter
plugin and module arguments, and the canonical comparison of what is not the homelab's.

Canonical form: whitespace-only text between elements removed (pfSense's XML reader ignores it, and
the pfsensible modules rewrite the whole file through ElementTree anyway, so neither CDATA nor
indentation is the user's data); everything else, byte for byte.
"""

from __future__ import annotations

import importlib.util
import io
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from xml.etree import ElementTree as ET

from ruamel.yaml import YAML

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.model import build
from homelabeazy.netpolicy.pfsense import OWNED_TAG
from homelabeazy.render.network import PFSENSE_FILTERS, render
from tests.support import pfsensible, pfsensible_resolver

FIXTURES = Path(__file__).parents[1] / "fixtures" / "pfsense"
USER = (FIXTURES / "config-user.xml").read_text(encoding="utf-8")
FACTORY = (FIXTURES / "config-factory.xml").read_text(encoding="utf-8")


def rendered(gateway: bool = False, edit: Callable[[dict[str, Any]], None] | None = None) -> dict[str, str]:
    yaml = YAML(typ="safe", pure=True)
    data = yaml.load(example_text())
    data["services"]["dns_gateway"]["enabled"] = gateway
    if edit is not None:
        edit(data)
    out = io.StringIO()
    yaml.dump(data, out)
    return render(build(load_config(out.getvalue()).config))


def rendered_filters(files: dict[str, str], tmp_path: Path) -> ModuleType:
    """The rendered filter plugin, loaded from the text the user gets."""
    path = tmp_path / "homelab_pfsense.py"
    path.write_text(files[PFSENSE_FILTERS], encoding="utf-8")
    spec = importlib.util.spec_from_file_location("rendered_homelab_pfsense", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def playbook_vars(files: dict[str, str]) -> dict[str, Any]:
    return YAML(typ="safe", pure=True).load(files["network/pfsense/vars/homelab.yml"])


def resolver_task(files: dict[str, str]) -> dict[str, Any]:
    (play,) = YAML(typ="safe", pure=True).load(files["network/pfsense/playbook.yml"])
    (task,) = [t for t in play["tasks"] if "pfsensible.core.pfsense_dns_resolver" in t]
    return dict(task["pfsensible.core.pfsense_dns_resolver"])


def task_args(files: dict[str, str], filters: ModuleType, config_xml: str) -> dict[str, Any]:
    """What Ansible hands the module: the rendered task's arguments, templated.

    The task's values are of three forms: a literal, `{{ VAR }}` for a playbook variable, and
    `{{ homelab_resolver.NAME [| default(omit)] }}` for what the filter computed from config.xml.
    The integration test (test_pfsense_playbook_run.py) proves real Ansible renders the same.
    """
    data = playbook_vars(files)
    merged = filters.homelab_resolver(
        config_xml, data["homelab_dns_hosts"], data["homelab_dns_domains"], data["homelab_dns_tag"]
    )
    args: dict[str, Any] = {}
    for name, value in resolver_task(files).items():
        match = re.fullmatch(r"\{\{ (\w+)(?:\.(\w+))?( \| default\(omit\))? \}\}", str(value))
        if match is None:
            args[name] = value
        elif match.group(2) is None:
            args[name] = data[match.group(1)]
        elif match.group(2) in merged:
            args[name] = merged[match.group(2)]
        else:
            assert match.group(3), f"{name}: {value} is not optional"
    return args


# --------------------------------------------------------------------------- canonical comparison


def _strip(element: ET.Element) -> ET.Element:
    """A copy without whitespace-only text and tails: what pfSense's parser keeps."""
    copy = ET.Element(element.tag, element.attrib)
    copy.text = element.text if element.text and element.text.strip() else None
    for child in element:
        copy.append(_strip(child))
    return copy


def canonical(element: ET.Element) -> bytes:
    return ET.tostring(_strip(element), encoding="utf-8", short_empty_elements=False)


def ours(element: ET.Element) -> bool:
    """A resolver entry the homelab owns: its description carries the tag."""
    return element.tag in ("hosts", "domainoverrides") and (element.findtext("descr") or "").startswith(
        OWNED_TAG
    )


def foreign_view(root: ET.Element, owned: Callable[[ET.Element, ET.Element], bool]) -> bytes:
    """config.xml without what the homelab owns and without pfSense's own revision stamp."""
    copy = ET.fromstring(canonical(root))

    def prune(parent: ET.Element) -> None:
        for child in list(parent):
            if owned(parent, child) or (parent is copy and child.tag == "revision"):
                parent.remove(child)
            else:
                prune(child)

    prune(copy)
    return canonical(copy)


def resolver_owned(parent: ET.Element, child: ET.Element) -> bool:
    return parent.tag == "unbound" and ours(child)


def apply_to(
    config_xml: str, args: dict[str, Any], version: pfsensible.Version = "0.7.1"
) -> tuple[ET.Element, bool]:
    root = ET.fromstring(config_xml)
    changed = pfsensible_resolver.apply_resolver(root, args, version)
    return ET.fromstring(ET.tostring(root)), changed


def owned_entries(root: ET.Element, tag: str) -> list[dict[str, str]]:
    unbound = root.find("unbound")
    assert unbound is not None
    return [
        {child.tag: child.text or "" for child in entry if child.tag != "aliases"}
        for entry in unbound.findall(tag)
        if ours(entry)
    ]
