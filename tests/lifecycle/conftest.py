"""Fixtures for the lifecycle tests: the shared strict fake Proxmox API (tests/support/fake_proxmox.py)."""

from __future__ import annotations

from tests.support.fake_proxmox import fake_proxmox  # noqa: F401 - registers the fixture
