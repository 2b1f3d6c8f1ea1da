"""Configs for the network tests: the example with extra firewall rules, written to a temp folder."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from homelabeazy.config.starter import example_text


def example_with(network: dict[str, Any] | None = None, rules: list[dict[str, Any]] | None = None) -> str:
    """The example homelab.yaml with `network` keys replaced and `rules` appended to its rules."""
    yaml = YAML(typ="safe", pure=True)
    data = yaml.load(example_text())
    data["network"].update(network or {})
    data["network"]["firewall"]["rules"].extend(rules or [])
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a variant of the example to tmp_path/homelab.yaml and return its path."""

    def write(network: dict[str, Any] | None = None, rules: list[dict[str, Any]] | None = None) -> Path:
        path = tmp_path / "homelab.yaml"
        path.write_text(example_with(network, rules), encoding="utf-8")
        return path

    return write
