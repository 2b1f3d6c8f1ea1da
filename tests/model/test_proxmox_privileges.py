"""The one Proxmox privilege list: the commands the README prints grant exactly what preflight checks,
for each supported Proxmox VE major."""

from __future__ import annotations

import shlex

import pytest

from homelabeazy.lifecycle.proxmox_preflight import missing_privileges
from homelabeazy.model.proxmox_privileges import (
    ROLE_NAME,
    SUPPORTED_MAJORS,
    pveum_commands,
    required_privileges,
)
from homelabeazy.render import render_all


@pytest.mark.parametrize("major", SUPPORTED_MAJORS)
def test_the_readme_grants_what_preflight_checks(example_homelab, major: int) -> None:
    readme = render_all(example_homelab, ["docs"])["README.md"]
    commands = pveum_commands(example_homelab.config.proxmox.token_id, major)
    block = readme[readme.index(f"Proxmox VE {major}.x (") :]
    for command in commands:
        assert command in block.split("```", 2)[1]
    role = shlex.split(commands[0])
    granted = set(role[role.index("--privs") + 1].split(","))
    assert missing_privileges({"/": granted}, major) == []
    assert granted == set(required_privileges(major))
    assert shlex.split(commands[2]) == [
        "pveum", "acl", "modify", "/", "--users", "terraform@pve", "--roles", ROLE_NAME,
    ]  # fmt: skip
    assert shlex.split(commands[3])[-4:] == ["terraform@pve", "homelab", "--privsep", "0"]


def test_each_version_names_only_its_own_guest_agent_privilege() -> None:
    assert "VM.Monitor" in required_privileges(8)
    assert "VM.GuestAgent.Audit" not in required_privileges(8)
    assert "VM.GuestAgent.Audit" in required_privileges(9)
    assert "VM.Monitor" not in required_privileges(9)
    with pytest.raises(ValueError, match=r"Proxmox VE 7\.x is not supported"):
        required_privileges(7)
