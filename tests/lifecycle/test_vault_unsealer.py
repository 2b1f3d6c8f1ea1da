"""The upgrade's unseal step for real: a port-forward through the (fake) Kubernetes API's WebSocket
stream into a real OpenBao playing one Vault pod, unsealed with the bootstrap file's keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from homelabeazy.errors import ExternalSystemError
from homelabeazy.lifecycle.k3s_upgrade_runner import vault_unsealer
from homelabeazy.ops.kube import KubeAdapter
from homelabeazy.ops.vault_bootstrap import VaultBootstrap
from tests.secrets.servers import BaoServer
from tests.support.fake_kube import FakeKube, FakeKubeServer

pytestmark = pytest.mark.integration


@pytest.fixture
def sealed_pod(tmp_path: Path) -> Iterator[tuple[FakeKube, Path, BaoServer, VaultBootstrap]]:
    """OpenBao initialised (5 shares, 3 to unseal) and sealed again, reachable as pod vault/vault-1."""
    bao = BaoServer(tmp_path / "bao")
    bao.workdir.mkdir()
    bao.start()
    try:
        init = httpx.put(
            f"{bao.address}/v1/sys/init", json={"secret_shares": 5, "secret_threshold": 3}, timeout=60
        )
        answer = init.json()
        keys = VaultBootstrap(bao.address, 5, 3, tuple(answer["keys"]), answer["root_token"])
        for key in keys.unseal_keys[:3]:
            httpx.put(f"{bao.address}/v1/sys/unseal", json={"key": key}, timeout=30)
        headers = {"X-Vault-Token": keys.root_token}
        httpx.put(f"{bao.address}/v1/sys/seal", headers=headers, timeout=30).raise_for_status()
        assert httpx.get(f"{bao.address}/v1/sys/seal-status", timeout=5).json()["sealed"] is True
        with FakeKubeServer() as kube:
            kube.forwards[("vault", "vault-1", 8200)] = ("127.0.0.1", bao.port)
            yield kube, kube.kubeconfig(tmp_path), bao, keys
    finally:
        bao.stop()


def test_a_sealed_pod_is_unsealed_through_a_port_forward(
    sealed_pod: tuple[FakeKube, Path, BaoServer, VaultBootstrap],
) -> None:
    kube, kubeconfig, bao, keys = sealed_pod
    unseal = vault_unsealer(kubeconfig, keys)
    assert unseal(["vault/vault-1"]) == ["unsealed Vault pod vault/vault-1"]
    assert httpx.get(f"{bao.address}/v1/sys/seal-status", timeout=5).json()["sealed"] is False
    assert unseal(["vault/vault-1"]) == []  # already unsealed: nothing to do, nothing said
    streams = [path for _, _, path in kube.timeline if path.endswith("/portforward")]
    assert streams
    assert set(streams) == {"/api/v1/namespaces/vault/pods/vault-1/portforward"}
    # The keys travel inside the stream only: no request line or path the API server logs holds one.
    logged = " ".join(path for _, _, path in kube.timeline)
    assert not any(key in logged for key in keys.unseal_keys)


def test_a_pod_that_is_not_there_is_the_kubernetes_apis_answer(
    sealed_pod: tuple[FakeKube, Path, BaoServer, VaultBootstrap],
) -> None:
    _, kubeconfig, _, keys = sealed_pod
    with pytest.raises(ExternalSystemError) as caught:
        vault_unsealer(kubeconfig, keys)(["vault/vault-7"])
    assert str(caught.value) == (
        "kubernetes: port-forward to vault/vault-7:8200 failed: Handshake status 404 Not Found — is the pod "
        "running, and may the kubeconfig's user open pods/portforward?"
    )


def test_the_stream_carries_many_requests_and_closes(tmp_path: Path) -> None:
    """One local port, several connections, each its own stream; closed with the context."""
    with FakeKubeServer() as kube:
        server = httpx.Client()
        bao = BaoServer(tmp_path / "bao")
        bao.workdir.mkdir()
        bao.start()
        try:
            kube.forwards[("vault", "vault-0", 8200)] = ("127.0.0.1", bao.port)
            adapter = KubeAdapter(kube.kubeconfig(tmp_path))
            with adapter.port_forward("vault", "vault-0", 8200) as port:
                for _ in range(3):
                    with httpx.Client() as client:  # a new connection each time
                        assert (
                            client.get(f"http://127.0.0.1:{port}/v1/sys/seal-status").json()["initialized"]
                            is False
                        )
            with pytest.raises(httpx.ConnectError):
                server.get(f"http://127.0.0.1:{port}/v1/sys/seal-status", timeout=2)
        finally:
            server.close()
            bao.stop()
    assert sum(1 for _, _, path in kube.timeline if path.endswith("/portforward")) == 4  # 1 probe + 3
