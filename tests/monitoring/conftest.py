"""Fixtures for the monitoring tests: the rendered rules and Alertmanager configuration."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from homelabeazy.model import Homelab
from tests.gitops.conftest import homelab_from, render_k8s  # noqa: F401 - the variants fixture, shared

RULES_FILE = "kubernetes/manifests/monitoring/rules.yaml"
VALUES_FILE = "kubernetes/values/monitoring.yaml"


def rendered_rules(homelab: Homelab) -> dict[str, Any]:
    """The rule file Prometheus loads from the rendered PrometheusRule (its spec is that file)."""
    docs = [d for d in yaml.safe_load_all(render_k8s(homelab)[RULES_FILE]) if d]
    (rule,) = [d for d in docs if d["kind"] == "PrometheusRule"]
    return {"groups": rule["spec"]["groups"]}


def rendered_values(homelab: Homelab) -> dict[str, Any]:
    """The kube-prometheus-stack values of the rendered tree."""
    data = yaml.safe_load(render_k8s(homelab)[VALUES_FILE])
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="session")
def example_rules(monitored_homelab: Homelab) -> dict[str, Any]:
    """The example's rules, as Prometheus reads them."""
    return rendered_rules(monitored_homelab)
