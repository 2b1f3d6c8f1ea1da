"""Fixtures for the import tests: the fake Proxmox server and the parsed fixture estates."""

from __future__ import annotations

import pytest

from homelabeazy.importer import parse_guest
from homelabeazy.importer.guests import Guest
from tests.support.fake_proxmox import Estate, fake_proxmox  # noqa: F401 - registers the fixture


def parsed_estate(name: str) -> list[Guest]:
    """Every guest of a fixture estate, parsed (no server involved)."""
    estate = Estate.load(name)
    return [parse_guest(g.kind, g.node, g.vmid, g.status, g.config) for g in estate.guests]


@pytest.fixture
def token_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """PROXMOX_VE_API_TOKEN set to the fake's token; returns the variable's name."""
    from tests.support.fake_proxmox import DEFAULT_TOKEN

    monkeypatch.setenv("PROXMOX_VE_API_TOKEN", DEFAULT_TOKEN)
    return "PROXMOX_VE_API_TOKEN"
