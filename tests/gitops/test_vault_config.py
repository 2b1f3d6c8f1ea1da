"""Vault's server configuration (rendered as JSON into the chart values) is read by a real server.

OpenBao (the Vault fork the suite runs) starts from the rendered raft configuration on loopback:
the listener, raft storage, UI and retry-join blocks must parse and take effect. Only what cannot
exist outside Kubernetes is changed: addresses (loopback), the data path (a temp dir), and the
Kubernetes service registration (it needs the pod's environment).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from homelabeazy.model import Homelab
from homelabeazy.model.catalog.vault import METRICS as VAULT_METRICS
from homelabeazy.render.k8s.services.vault import server_config
from tests.support.bao import rendered_bao


@pytest.fixture
def bao_server(example_homelab: Homelab, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with rendered_bao(example_homelab, tmp_path) as server:
        yield server


@pytest.mark.integration
def test_rendered_raft_configuration_runs(bao_server: tuple[str, Path]) -> None:
    url, log = bao_server
    deadline = time.monotonic() + 20
    health = None
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"{url}/v1/sys/health", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    assert health is not None, log.read_text()
    # 501: up and answering, not initialised yet (homelab secrets init does that).
    assert health.status_code == 501
    assert health.json()["initialized"] is False
    assert httpx.get(f"{url}/ui/", timeout=2).status_code == 200
    text = log.read_text()
    assert "Storage: raft (HA available)" in text
    assert 'tls: "disabled"' in text
    assert "raft retry join initiated" in text


def test_chart_receives_the_configuration_as_a_string(example_homelab: Homelab) -> None:
    """The chart fails on a structured `server.ha.raft.config` (its schema allows one)."""
    from homelabeazy.render.k8s.services.vault import values

    config = values(example_homelab, "vault")["server"]["ha"]["raft"]["config"]
    assert isinstance(config, str)
    assert json.loads(config) == server_config(example_homelab, "vault")


@pytest.mark.integration
def test_metrics_answer_prometheus_without_a_token(bao_server: tuple[str, Path]) -> None:
    """What Vault's ServiceMonitor scrapes (/v1/sys/metrics?format=prometheus, no token) answers
    even on a sealed, uninitialised server, with the gauge `HomelabVaultSealed` reads at 0."""
    url, log = bao_server
    path, params = VAULT_METRICS.path, dict(VAULT_METRICS.params)
    deadline = time.monotonic() + 20
    answer = None
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{url}{path}", params=params, timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    assert answer is not None, log.read_text()
    assert answer.status_code == 200, answer.text
    gauge = [line for line in answer.text.splitlines() if line.startswith("vault_core_unsealed")]
    assert [line.rsplit(" ", 1)[1] for line in gauge] == ["0"]
