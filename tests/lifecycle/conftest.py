"""Fixtures for the lifecycle tests, shared with the areas that own them: the strict fake Proxmox
API (tests/support/fake_proxmox.py) and the secrets tests' fresh OpenBao server."""

from __future__ import annotations

from tests.secrets.conftest import bao  # noqa: F401 - registers the fixture
from tests.support.fake_proxmox import fake_proxmox  # noqa: F401 - registers the fixture
