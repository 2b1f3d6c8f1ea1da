"""`homelab validate --deep` runs the rendered playbooks through ansible-playbook --syntax-check."""

from __future__ import annotations

import pytest

from homelabeazy.converge.deep import VALIDATORS
from homelabeazy.converge.files.ansible import validate_ansible
from homelabeazy.model import Homelab
from homelabeazy.render import ansible

pytestmark = pytest.mark.integration


def test_registered() -> None:
    assert validate_ansible in VALIDATORS


def test_rendered_playbooks_pass(example_homelab: Homelab) -> None:
    assert validate_ansible(ansible.render(example_homelab), None) == []


def test_broken_playbook_is_reported(example_homelab: Homelab) -> None:
    files = ansible.render(example_homelab)
    files["ansible/upgrade.yml"] = files["ansible/upgrade.yml"].replace(
        "ansible.builtin.command: /usr/local/bin/k3s --version", "ansible.builtin.no_such_module: {}"
    )
    problems = validate_ansible(files, None)
    assert len(problems) == 1
    assert problems[0].startswith("ansible/upgrade.yml: ansible-playbook --syntax-check failed: ")
    assert "no_such_module" in problems[0]


def test_other_layers_only_is_no_problem() -> None:
    assert validate_ansible({"docs/README.md": "# x\n"}, None) == []
