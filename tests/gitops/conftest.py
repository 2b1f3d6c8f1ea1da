"""Fixtures for the GitOps layer: the schema folder, variant configs, and parsed trees."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.config import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.model import Homelab, build
from homelabeazy.render import kubernetes
from tests.conftest import SHARED_SCHEMAS
from tests.support.integration import require_tool


@pytest.fixture(scope="session")
def schemas() -> Path:
    """The shared upstream schema folder (tests/conftest.py SHARED_SCHEMAS, or $HOMELAB_SCHEMAS)."""
    if not (SHARED_SCHEMAS / "crds").is_dir():
        require_tool(f"upstream schema folder {SHARED_SCHEMAS} is missing (set HOMELAB_SCHEMAS)")
    return SHARED_SCHEMAS


def example_data() -> dict[str, Any]:
    """The embedded example as plain data, to derive variants from."""
    data: dict[str, Any] = yaml.safe_load(example_text())
    return data


@pytest.fixture
def homelab_from() -> Callable[[dict[str, Any]], Homelab]:
    """Validate (schema + checks) and build a config given as data; a refused variant fails the test."""

    def make(data: dict[str, Any]) -> Homelab:
        return build(load_config(yaml.safe_dump(data, sort_keys=False)).config)

    return make


def documents(files: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """(path, object) for every Kubernetes object (a document with a kind) under kubernetes/."""
    return [
        (path, doc)
        for path, text in files.items()
        if path.startswith("kubernetes/") and path.endswith(".yaml")
        for doc in yaml.safe_load_all(text)
        if isinstance(doc, dict) and "kind" in doc
    ]


def render_k8s(homelab: Homelab) -> dict[str, str]:
    """The kubernetes target alone."""
    return kubernetes.render(homelab)
