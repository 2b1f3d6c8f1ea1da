"""The rendered pfSense playbook, run by real ansible-playbook with stand-ins for pfsensible.core.

pfsensible.core is not installable here and no pfSense runs here. Everything else of the playbook
is real: the slurp of config.xml (a fixture on this machine), the conflict check, the filter plugin
as rendered, Ansible's templating of the module arguments (types, `default(omit)`, text that looks
like Jinja). Each pfsensible module is replaced by a stand-in that records the arguments Ansible
hands it, and those go through the model of the real module (tests/support/pfsensible.py): what
lands in config.xml keeps everything that is not the homelab's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from homelabeazy.render.network import PFSENSE_FILTERS
from tests.support import pfsensible_resolver
from tests.support.integration import need_binary
from tests.support.pfsense_config import USER, foreign_view, playbook_vars, rendered, resolver_owned

pytestmark = pytest.mark.integration

MODULES = ("pfsense_vlan", "pfsense_interface", "pfsense_alias", "pfsense_rule", "pfsense_dns_resolver")
STAND_IN = '''#!/usr/bin/python
"""Stand-in for pfsensible.core.{name}: records the arguments Ansible hands the module."""
import json
import os

from ansible.module_utils.basic import AnsibleModule, _load_params

params = {{key: value for key, value in _load_params().items() if not key.startswith("_ansible_")}}
module = AnsibleModule(argument_spec={{key: {{"type": "raw"}} for key in params}}, supports_check_mode=True)
with open(os.environ["HOMELAB_CAPTURE"], "a", encoding="utf-8") as out:
    out.write(json.dumps({{"module": "{name}", "args": params}}) + "\\n")
module.exit_json(changed=True)
'''


def _playbook_binary() -> str:
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.is_file() else need_binary("ansible-playbook", "pip install ansible")


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        if rel.startswith("network/pfsense/"):
            target = tmp_path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    modules = tmp_path / "collections/ansible_collections/pfsensible/core/plugins/modules"
    modules.mkdir(parents=True)
    for name in MODULES:
        (modules / f"{name}.py").write_text(STAND_IN.format(name=name), encoding="utf-8")
    return tmp_path / "network/pfsense"


def _run(
    tmp_path: Path, files: dict[str, str], config_xml: str
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    folder = _tree(tmp_path, files)
    config = tmp_path / "config.xml"
    config.write_text(config_xml, encoding="utf-8")
    capture = tmp_path / "capture.jsonl"
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "collections"),
        "ANSIBLE_NOCOLOR": "1",
        "HOMELAB_CAPTURE": str(capture),
    }
    result = subprocess.run(
        [
            _playbook_binary(),
            "-i",
            "pfsense,",
            "-e",
            f"ansible_connection=local ansible_python_interpreter={sys.executable} "
            f"pfsense_config_xml={config}",
            "playbook.yml",
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    calls = (
        [json.loads(line) for line in capture.read_text(encoding="utf-8").splitlines()]
        if capture.exists()
        else []
    )
    return result, calls


def test_the_rendered_playbook_hands_the_module_what_keeps_the_users_resolver(tmp_path: Path) -> None:
    files = rendered(gateway=True)
    assert PFSENSE_FILTERS in files
    result, calls = _run(tmp_path, files, USER)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "bcrypt-hash" not in result.stdout, "config.xml must never be logged"
    data = playbook_vars(files)
    by_module: dict[str, list[dict[str, Any]]] = {}
    for call in calls:
        by_module.setdefault(call["module"], []).append(call["args"])
    assert [a["vlan_id"] for a in by_module["pfsense_vlan"]] == [v["id"] for v in data["homelab_vlans"]]
    assert [a["name"] for a in by_module["pfsense_rule"]] == [r["name"] for r in data["homelab_rules"]]
    (args,) = by_module["pfsense_dns_resolver"]
    # Ansible's own templating: booleans stay booleans, text that looks like Jinja stays text
    assert args["forwarding"] is True
    assert args["regdhcp"] is False
    assert "{{ lookup('env', 'HOME') }}" in args["custom_options"]
    assert "tlsport" not in args, "an option pfSense does not hold is omitted, not passed empty"
    before = ET.fromstring(USER)
    after = ET.fromstring(USER)
    assert pfsensible_resolver.apply_resolver(after, args)
    assert foreign_view(after, resolver_owned) == foreign_view(before, resolver_owned)


def test_the_playbook_stops_before_its_first_change_on_a_conflict(tmp_path: Path) -> None:
    files = rendered()
    taken = USER.replace("<tag>99</tag>", "<tag>10</tag>").replace("igb1.99", "igb1.10")
    result, calls = _run(tmp_path, files, taken)
    assert result.returncode != 0
    assert "VLAN 10 on igb1 already exists as 'IoT devices'" in result.stdout
    assert calls == [], "no pfsensible module may run"
