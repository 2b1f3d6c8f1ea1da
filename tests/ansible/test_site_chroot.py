"""site.yml, upgrade.yml and reset.yml for real against Debian 12 chroot hosts.

One lab per module: 3 servers + 1 agent, so the first server (cluster-init), joining servers and
an agent are all exercised. site.yml runs twice; the second run must change nothing on any host.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import stat
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from homelabeazy.checks import load_config
from homelabeazy.errors import ExternalSystemError
from homelabeazy.model import build
from homelabeazy.ops.ansible import PlaybookResult
from tests.support.chroot_lab import TOKEN, ChrootLab, build_lab, lab_config_text, write_airgap
from tests.support.integration import need_binary, need_root
from tests.support.rootfs import base_image, hosts_under, mounts_below

pytestmark = pytest.mark.integration

SERVERS = ("k3s-server-1", "k3s-server-2", "k3s-server-3")
VELERO_PREFIX = "      prefix: velero\n"
AGENT = "k3s-agent-1"


@dataclass
class Runs:
    lab: ChrootLab
    first: PlaybookResult
    second: PlaybookResult


@pytest.fixture(scope="session")
def rootfs() -> Path:
    need_root("chroot hosts")
    need_binary("debootstrap", "apt install debootstrap")
    need_binary("chroot", "coreutils")
    return base_image()


@pytest.fixture(scope="module")
def runs(rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    base = tmp_path_factory.mktemp("chroot-lab")
    with hosts_under(base):
        # Without the example's Velero prefix: the snapshots stay on the servers (their S3 copy is
        # test_upgrade_chroot's).
        text = lab_config_text(servers=3, agents=1)
        assert VELERO_PREFIX in text
        homelab = build(load_config(text.replace(VELERO_PREFIX, "", 1)).config)
        lab = build_lab(homelab, base, rootfs)
        first = lab.run()
        second = lab.run()
        yield Runs(lab, first, second)
    assert not mounts_below(base), "a chroot mount survived the lab"


def _yaml(path: Path) -> object:
    return YAML(typ="safe").load(path.read_text())


def test_first_run_configures_every_host(runs: Runs) -> None:
    assert sorted(runs.first.recap) == sorted((*SERVERS, AGENT))
    for host, stats in runs.first.recap.items():
        assert stats.failed == stats.unreachable == 0, host
        assert stats.changed > 5, host


def test_second_run_changes_nothing(runs: Runs) -> None:
    assert sorted(runs.second.recap) == sorted((*SERVERS, AGENT))
    for host, stats in runs.second.recap.items():
        assert (stats.changed, stats.failed, stats.unreachable) == (0, 0, 0), host
        assert stats.ok > 20, host
    assert runs.second.changed == 0


def test_progress_reports_each_task_per_host(runs: Runs) -> None:
    seen = {(e.host, e.task) for e in runs.lab.events}
    assert ("k3s-server-1", "Write the K3s server configuration") in seen
    assert (AGENT, "Write the K3s agent configuration") in seen
    assert (AGENT, "Harden sshd (no root login, keys only)") in seen
    assert {e.status for e in runs.lab.events} >= {"ok", "changed", "skipped"}


def test_first_server_initialises_the_cluster(runs: Runs) -> None:
    config = _yaml(runs.lab.roots["k3s-server-1"] / "etc/rancher/k3s/config.yaml")
    assert config == {
        "cluster-init": True,
        "token-file": "/etc/rancher/k3s/cluster-token",
        "node-name": "k3s-server-1",
        "node-ip": "10.10.10.20",
        "tls-san": ["10.10.10.10", "k3s.home.example.com"],
        "disable": ["traefik", "servicelb"],
        "write-kubeconfig-mode": "0600",
        "etcd-expose-metrics": True,
        # The lab's Velero target has no prefix: snapshots stay on the servers (no etcd-s3).
        "etcd-snapshot-schedule-cron": "0 */6 * * *",
        "etcd-snapshot-retention": 28,
    }


@pytest.mark.parametrize(("host", "ip"), [("k3s-server-2", "10.10.10.21"), ("k3s-server-3", "10.10.10.22")])
def test_other_servers_join_through_the_vip(runs: Runs, host: str, ip: str) -> None:
    config = _yaml(runs.lab.roots[host] / "etc/rancher/k3s/config.yaml")
    assert config == {
        "server": "https://10.10.10.10:6443",
        "token-file": "/etc/rancher/k3s/cluster-token",
        "node-name": host,
        "node-ip": ip,
        "tls-san": ["10.10.10.10", "k3s.home.example.com"],
        "disable": ["traefik", "servicelb"],
        "write-kubeconfig-mode": "0600",
        "etcd-expose-metrics": True,
        # The lab's Velero target has no prefix: snapshots stay on the servers (no etcd-s3).
        "etcd-snapshot-schedule-cron": "0 */6 * * *",
        "etcd-snapshot-retention": 28,
    }


def test_agent_joins_through_the_vip(runs: Runs) -> None:
    config = _yaml(runs.lab.roots[AGENT] / "etc/rancher/k3s/config.yaml")
    assert config == {
        "server": "https://10.10.10.10:6443",
        "token-file": "/etc/rancher/k3s/cluster-token",
        "node-name": AGENT,
        "node-ip": "10.10.10.25",
    }
    assert not (runs.lab.roots[AGENT] / "var/lib/rancher/k3s/agent/pod-manifests/kube-vip.yaml").exists()


@pytest.mark.parametrize("host", SERVERS)
def test_kube_vip_static_pod_holds_the_vip(runs: Runs, host: str) -> None:
    path = runs.lab.roots[host] / "var/lib/rancher/k3s/agent/pod-manifests/kube-vip.yaml"
    pod = _yaml(path)
    assert isinstance(pod, dict)
    kubernetes_validate.validate(
        pod, runs.lab.homelab.cluster.kubernetes_version.rsplit(".", 1)[0], strict=True
    )
    container = pod["spec"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["address"] == "10.10.10.10"
    assert env["port"] == "6443"
    assert env["cp_enable"] == env["vip_arp"] == env["vip_leaderelection"] == "true"
    assert env["vip_subnet"] == "32"
    # kube-vip's metrics on the server's own address, where Prometheus's kube-vip job scrapes them
    node = next(n for n in runs.lab.homelab.nodes if n.name == host)
    assert env["prometheus_server"] == f"{node.ip}:2112"
    assert container["image"] == "ghcr.io/kube-vip/kube-vip:v1.0.1"
    assert pod["spec"]["volumes"][0]["hostPath"]["path"] == "/etc/rancher/k3s/k3s.yaml"


@pytest.mark.parametrize("host", [*SERVERS, AGENT])
def test_join_token_only_in_a_0600_file(runs: Runs, host: str) -> None:
    root = runs.lab.roots[host]
    token = root / "etc/rancher/k3s/cluster-token"
    assert token.read_text() == TOKEN + "\n"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert TOKEN not in (root / "etc/rancher/k3s/config.yaml").read_text()
    assert not any(TOKEN in text for text in _tree_texts(runs.lab.repo))


def _tree_texts(folder: Path) -> Iterator[str]:
    for path in folder.rglob("*"):
        if path.is_file():
            yield path.read_text(errors="replace")


@pytest.mark.parametrize("host", [*SERVERS, AGENT])
def test_sshd_effective_config_is_hardened(runs: Runs, host: str) -> None:
    root = runs.lab.roots[host]
    dropin = (root / "etc/ssh/sshd_config.d/10-homelab-hardening.conf").read_text()
    assert "PermitRootLogin no\n" in dropin
    assert "PasswordAuthentication no\n" in dropin
    # What sshd itself would run with, Debian's sshd_config and its includes resolved.
    effective = subprocess.run(
        ["chroot", str(root), "/usr/sbin/sshd", "-T", "-C", "user=homelab,host=x,addr=10.0.0.1"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    for line in ("permitrootlogin no", "passwordauthentication no", "kbdinteractiveauthentication no"):
        assert line in effective


def test_kernel_settings_written_not_applied(runs: Runs) -> None:
    root = runs.lab.roots[AGENT]
    sysctls = (root / "etc/sysctl.d/90-kubernetes.conf").read_text().splitlines()
    assert sysctls == [
        "net.bridge.bridge-nf-call-iptables=1",
        "net.bridge.bridge-nf-call-ip6tables=1",
        "net.ipv4.ip_forward=1",
        "net.ipv6.conf.all.forwarding=1",
        "fs.inotify.max_user_instances=8192",
        "fs.inotify.max_user_watches=524288",
    ]
    modules = (root / "etc/modules-load.d/kubernetes.conf").read_text().splitlines()
    assert modules[1:] == ["overlay", "br_netfilter"]
    assert "# /swapfile none swap sw 0 0" in (root / "etc/fstab").read_text().splitlines()
    # No enabled service of the example needs anything more from the node (Longhorn is off).
    assert not (root / "etc/modules-load.d/homelab-services.conf").exists()
    assert not (root / "etc/sysctl.d/91-homelab-services.conf").exists()


@pytest.mark.parametrize("host", [*SERVERS, AGENT])
def test_metrics_firewall_written_and_enabled_not_loaded(runs: Runs, host: str) -> None:
    """The ruleset is on disk and enabled at boot; no chroot loads it (it would land in this machine's
    kernel). Its packets are tested in test_site_chroot_longhorn."""
    root = runs.lab.roots[host]
    rules = (root / "etc/homelab/node-metrics.nft").read_text()
    assert "tcp dport { 2112, 2381 } jump metrics" in rules
    nodes = ", ".join(str(n.ip) for n in runs.lab.homelab.nodes)
    assert f"elements = {{ 10.42.0.0/16, {nodes} }}" in rules
    assert (root / "etc/systemd/system/sysinit.target.wants/homelab-node-metrics.service").is_symlink()


def test_time_ntp_and_upgrades(runs: Runs) -> None:
    root = runs.lab.roots["k3s-server-2"]
    assert os.readlink(root / "etc/localtime") == "/usr/share/zoneinfo/Europe/Berlin"
    assert (root / "etc/timezone").read_text() == "Europe/Berlin\n"
    assert "server pool.ntp.org iburst" in (root / "etc/chrony/sources.d/homelab.sources").read_text()
    auto = (root / "etc/apt/apt.conf.d/20auto-upgrades").read_text()
    assert 'APT::Periodic::Unattended-Upgrade "1";' in auto
    assert (root / "etc/systemd/system/multi-user.target.wants/chrony.service").is_symlink()


def test_k3s_installed_from_airgap_and_enabled(runs: Runs) -> None:
    for host in (*SERVERS, AGENT):
        root = runs.lab.roots[host]
        binary = root / "usr/local/bin/k3s"
        assert binary.read_bytes() == (runs.lab.airgap / "k3s").read_bytes()
        assert stat.S_IMODE(binary.stat().st_mode) == 0o755
        images = root / "var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.zst"
        assert images.read_bytes() == (runs.lab.airgap / "k3s-airgap-images-amd64.tar.zst").read_bytes()
        unit = "k3s-agent.service" if host == AGENT else "k3s.service"
        assert (root / f"etc/systemd/system/multi-user.target.wants/{unit}").is_symlink()
        assert (
            f"ExecStart=/usr/local/bin/k3s {'agent' if host == AGENT else 'server'}"
            in (root / f"etc/systemd/system/{unit}").read_text()
        )


def test_kubeconfig_fetched_outside_the_repo(runs: Runs) -> None:
    path = runs.lab.kubeconfig
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.resolve().is_relative_to(runs.lab.repo.resolve())
    config = _yaml(path)
    assert isinstance(config, dict)
    assert config["clusters"][0]["cluster"]["server"] == "https://10.10.10.10:6443"
    assert config["current-context"] == "homelab"


def test_tampered_airgap_binary_is_refused(runs: Runs, tmp_path: Path) -> None:
    bad = write_airgap(tmp_path / "airgap", "v0")
    (bad / "k3s").write_text("#!/bin/sh\necho tampered\n")
    before = (runs.lab.roots["k3s-server-1"] / "usr/local/bin/k3s").read_bytes()
    with pytest.raises(ExternalSystemError) as caught:
        runs.lab.run(limit="k3s-server-1", k3s_airgap_dir=str(bad))
    message = str(caught.value)
    assert (
        f"k3s-server-1: Verify the airgap files against the checksum list: {bad}/k3s is missing "
        "or does not match sha256sum-amd64.txt"
    ) in message
    assert TOKEN not in message
    assert (runs.lab.roots["k3s-server-1"] / "usr/local/bin/k3s").read_bytes() == before


def test_upgrade_is_a_no_op_at_the_pinned_version(runs: Runs) -> None:
    result = runs.lab.run("upgrade.yml")
    assert result.changed == 0
    assert sorted(result.recap) == sorted((*SERVERS, AGENT))


def test_upgrade_replaces_binaries_one_node_at_a_time(runs: Runs, tmp_path: Path) -> None:
    newer = "v1.34.1+k3s1"
    airgap = write_airgap(tmp_path / "airgap", newer)
    upgraded = runs.lab.run("upgrade.yml", k3s_version=newer, k3s_airgap_dir=str(airgap))
    for host in (*SERVERS, AGENT):
        assert upgraded.recap[host].changed > 0, host
        assert newer in (runs.lab.roots[host] / "usr/local/bin/k3s").read_text()
    order = [e.host for e in runs.lab.events if e.task == "Copy the K3s binary" and e.status == "changed"]
    assert order[-4:] == [*SERVERS, AGENT]
    again = runs.lab.run("upgrade.yml", k3s_version=newer, k3s_airgap_dir=str(airgap))
    assert again.changed == 0


def test_sshd_hardening_refuses_to_lock_out_the_admin(runs: Runs) -> None:
    keys = runs.lab.roots[AGENT] / "home/homelab/.ssh/authorized_keys"
    saved = keys.read_text()
    keys.unlink()
    try:
        with pytest.raises(ExternalSystemError) as caught:
            runs.lab.run(limit=AGENT)
    finally:
        keys.write_text(saved)
    assert (
        f"{AGENT}: Fail when key login for the admin user is not set up: user homelab has no "
        "~/.ssh/authorized_keys; refusing to disable password login"
    ) in str(caught.value)


@pytest.fixture
def release_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A K3s release mirror on loopback: (base URL, folder it serves)."""
    folder = tmp_path / "releases"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_download_mode_verifies_the_release_checksum(runs: Runs, release_server: tuple[str, Path]) -> None:
    """The default (non-airgap) install: get_url checks the binary against the release's sha256 list."""
    url, folder = release_server
    version = "v1.35.0+k3s1"
    write_airgap(folder / "good", version)
    switches = {"homelab_airgap": False, "node_apt_update_cache": False, "k3s_version": version}
    result = runs.lab.run(limit=AGENT, k3s_common_release_url=f"{url}/good", **switches)
    assert result.recap[AGENT].changed > 0
    assert version in (runs.lab.roots[AGENT] / "usr/local/bin/k3s").read_text()

    bad = write_airgap(folder / "bad", "v9.9.9")
    (bad / "k3s").write_text("#!/bin/sh\necho swapped on the mirror\n")
    with pytest.raises(ExternalSystemError) as caught:
        runs.lab.run(limit=AGENT, k3s_common_release_url=f"{url}/bad", **switches)
    assert f"{AGENT}: Download the K3s binary: The checksum for" in str(caught.value)
    assert version in (runs.lab.roots[AGENT] / "usr/local/bin/k3s").read_text()


def test_reset_refuses_without_confirmation(runs: Runs) -> None:
    with pytest.raises(ExternalSystemError) as caught:
        runs.lab.run("reset.yml")
    message = str(caught.value)
    assert message.startswith("ansible: running reset.yml failed: ")
    assert "k3s-server-1: Refuse to reset without confirmation: reset.yml deletes the cluster" in message
    assert (runs.lab.roots["k3s-server-1"] / "usr/local/bin/k3s").exists()


def test_reset_removes_k3s(runs: Runs) -> None:
    """Last: it tears down what the tests above inspect."""
    result = runs.lab.run("reset.yml", homelab_reset_confirm=True)
    assert all(stats.failed == 0 for stats in result.recap.values())
    for host in (*SERVERS, AGENT):
        root = runs.lab.roots[host]
        for gone in (
            "usr/local/bin/k3s",
            "etc/rancher/k3s",
            "var/lib/rancher/k3s",
            "etc/systemd/system/k3s.service",
        ):
            assert not (root / gone).exists(), (host, gone)
        assert (root / "etc/ssh/sshd_config.d/10-homelab-hardening.conf").exists()
    shutil.rmtree(runs.lab.kubeconfig.parent, ignore_errors=True)
