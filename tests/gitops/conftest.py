"""Fixtures for the GitOps layer: variant configs and parsed trees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.model import Homelab, build
from homelabeazy.render import kubernetes


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
