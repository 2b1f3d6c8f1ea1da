"""The one Proxmox privilege list: the commands the README prints grant exactly what preflight checks."""

from __future__ import annotations

import shlex

from homelabeazy.lifecycle import runners
from homelabeazy.model.proxmox_privileges import REQUIRED_PRIVILEGES, ROLE_NAME, pveum_commands
from homelabeazy.render import render_all


def test_the_readme_grants_what_preflight_checks(example_homelab) -> None:
    readme = render_all(example_homelab, ["docs"])["README.md"]
    commands = pveum_commands(example_homelab.config.proxmox.token_id)
    for command in commands:
        assert command in readme
    role = shlex.split(commands[0])
    granted = set(role[role.index("--privs") + 1].split(","))
    assert runners.missing_privileges({"/": granted}) == []
    assert granted == set(REQUIRED_PRIVILEGES)
    assert shlex.split(commands[2]) == [
        "pveum", "acl", "modify", "/", "--users", "terraform@pve", "--roles", ROLE_NAME,
    ]  # fmt: skip
    assert shlex.split(commands[3])[-4:] == ["terraform@pve", "homelab", "--privsep", "0"]
