"""Fixtures of the convergence-check tests: models of the valid config fixtures."""

from __future__ import annotations

import pytest

from homelabeazy.config import load_config
from homelabeazy.model import Homelab, build
from tests.conftest import FIXTURES


def _homelab(name: str) -> Homelab:
    return build(load_config((FIXTURES / "config" / "valid" / f"{name}.yaml").read_text()).config)


@pytest.fixture(scope="session")
def minimal_homelab() -> Homelab:
    """One app deployed from the user's own manifest folder (`apps/blog`)."""
    return _homelab("minimal")


@pytest.fixture(scope="session")
def longhorn_homelab() -> Homelab:
    """Three hosts, Longhorn enabled."""
    homelab = _homelab("three-hosts")
    assert homelab.enabled("longhorn")
    return homelab
