"""Variants of the example config for the terraform layer's tests."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from ruamel.yaml import YAML

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.model import Homelab, build

Edit = Callable[[dict[str, Any]], None]


def homelab_from(edit: Edit) -> Homelab:
    """The example with `edit` applied to its YAML data, validated and built like a user's file."""
    yaml = YAML(typ="safe", pure=True)
    data = yaml.load(example_text())
    edit(data)
    stream = io.StringIO()
    yaml.dump(data, stream)
    return build(load_config(stream.getvalue()).config)


@pytest.fixture
def variant() -> Callable[[Edit], Homelab]:
    """Build a Homelab from the example changed by a function of its YAML data."""
    return homelab_from


def two_hosts(data: dict[str, Any]) -> None:
    """A second Proxmox host, as big as the first."""
    data["proxmox"]["hosts"].append({"name": "pve2", "address": "10.10.30.3", "cpus": 32, "memory_mb": 65536})
