"""`homelab upgrade k3s` end to end against Debian 12 chroot hosts: the real rendered upgrade.yml
run by real Ansible through lifecycle/k3s_upgrade_runner.py, against a K3s stand-in.

What is real: the playbook, Ansible, the hosts' filesystems, the airgap checksum, the serial/
any_errors_fatal stop, the homelab.yaml edit. What is a stand-in (tests/support/chroot_lab.py):
the k3s binary. It answers the commands the playbook runs (version, etcd-snapshot save, kubectl
drain / get node / wait / uncordon), logs each call with a timestamp, keeps cordon marks, and fails
`kubectl wait` for the nodes a test lists; the cluster facts of the preflight are read from the
hosts' installed binaries. One lab per module, tests in order: refused skip, patch upgrade, a
failing node on the minor upgrade, its resume, a no-op re-run.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from homelabeazy.checks import load_config
from homelabeazy.errors import UsageError
from homelabeazy.lifecycle.k3s_upgrade import ClusterFacts, NodeFact
from homelabeazy.lifecycle.k3s_upgrade_runner import UpgradeFailed, UpgradeOutcome, upgrade_k3s
from homelabeazy.model import Homelab, build
from homelabeazy.ops.ansible import PlaybookResult
from tests.support.chroot_lab import (
    STANDIN_STATE,
    ChrootLab,
    build_lab,
    lab_config_text,
    write_airgap,
)
from tests.support.integration import need_binary, need_root
from tests.support.rootfs import base_image, hosts_under, mounts_below

pytestmark = pytest.mark.integration

SERVERS = ("k3s-server-1", "k3s-server-2", "k3s-server-3")
AGENT = "k3s-agent-1"
NODES = (*SERVERS, AGENT)
START, PATCH, MINOR = "v1.33.5+k3s1", "v1.33.6+k3s1", "v1.34.1+k3s1"
VELERO_PREFIX = "      prefix: velero\n"
S3_KEYS = {
    "HOMELAB_ETCD_S3_ACCESS_KEY": "AKIATESTETCDACCESS01",
    "HOMELAB_ETCD_S3_SECRET_KEY": "etcd-secret-key-never-in-the-repo-0123456789",
}


@dataclass
class Upgrades:
    lab: ChrootLab
    config: Path
    base: Path
    reads: list[int]

    def homelab(self) -> Homelab:
        return build(load_config(self.config.read_text()).config)

    def read_cluster(self) -> ClusterFacts:
        """The stand-in cluster: every node Ready, at the version its installed binary reports."""
        self.reads.append(1)
        nodes = tuple(NodeFact(host, True, binary_version(self.lab, host)) for host in NODES)
        return ClusterFacts(nodes, "ok")

    def playbook(self, extravars: Mapping[str, Any]) -> PlaybookResult:
        version = str(extravars["k3s_version"])
        airgap = write_airgap(self.base / f"airgap-{version}", version)
        return self.lab.run("upgrade.yml", homelab_cluster_api=True, k3s_airgap_dir=str(airgap), **extravars)

    def upgrade(self, target: str) -> UpgradeOutcome:
        return upgrade_k3s(
            self.config, self.homelab(), target, read_cluster=self.read_cluster, playbook=self.playbook
        )


def binary_version(lab: ChrootLab, host: str) -> str:
    text = (lab.roots[host] / "usr/local/bin/k3s").read_text()
    match = re.search(r"k3s version (\S+)", text)
    assert match, host
    return match.group(1)


def calls(lab: ChrootLab) -> list[tuple[int, str, str, str]]:
    """Every stand-in call on every host, in time order: (ns, host, binary version, arguments)."""
    merged = []
    for host in NODES:
        log = lab.roots[host] / STANDIN_STATE / "calls.log"
        for line in log.read_text().splitlines() if log.exists() else []:
            stamp, version, args = line.split(" ", 2)
            merged.append((int(stamp), host, version, args))
    return sorted(merged)


def actions(lab: ChrootLab, since: int = 0) -> list[tuple[str, str]]:
    """The calls that change something (not --version / get node), as (host, arguments)."""
    return [
        (host, args)
        for _, host, _, args in calls(lab)[since:]
        if not args.startswith(("--version", "kubectl get node"))
    ]


def rolling(target: str) -> list[tuple[str, str]]:
    """The order a correct run takes: snapshot on the first server, then node by node."""
    snapshot = f"pre-upgrade-{target.replace('+', '-')}"
    expected = [("k3s-server-1", f"etcd-snapshot save --name {snapshot}")]
    for node in NODES:
        kubectl = "k3s-server-3" if node == "k3s-server-1" else "k3s-server-1"
        expected += [
            (kubectl, f"kubectl drain {node} --ignore-daemonsets --delete-emptydir-data --timeout=300s"),
            (kubectl, f"kubectl wait --for=condition=Ready node/{node} --timeout=300s"),
            (kubectl, f"kubectl uncordon {node}"),
        ]
    return expected


@pytest.fixture(scope="module")
def upgrades(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upgrades]:
    need_root("chroot hosts")
    need_binary("debootstrap", "apt install debootstrap")
    need_binary("chroot", "coreutils")
    image = base_image()
    base = tmp_path_factory.mktemp("upgrade-lab")
    # The example's Velero prefix: the etcd snapshots are copied to S3 too (model/etcd_snapshots.py).
    text = lab_config_text(servers=3, agents=1)
    assert VELERO_PREFIX in text
    with hosts_under(base):
        lab = build_lab(build(load_config(text).config), base, image)
        config = lab.repo / "homelab.yaml"
        config.write_text(text)
        lab.run(secrets=S3_KEYS)  # the cluster at START, as `homelab up` leaves it
        yield Upgrades(lab, config, base, [])
    assert not mounts_below(base), "a chroot mount survived the lab"


@pytest.mark.parametrize("host", SERVERS)
def test_servers_snapshot_etcd_on_schedule_to_s3(upgrades: Upgrades, host: str) -> None:
    root = upgrades.lab.roots[host]
    config = YAML(typ="safe").load((root / "etc/rancher/k3s/config.yaml").read_text())
    etcd = {key: value for key, value in config.items() if key.startswith("etcd-s")}
    assert etcd == {
        "etcd-snapshot-schedule-cron": "0 */6 * * *",
        "etcd-snapshot-retention": 28,
        "etcd-s3": True,
        "etcd-s3-endpoint": "minio.home.example.com",
        "etcd-s3-bucket": "homelab-backups",
        "etcd-s3-region": "us-east-1",
        "etcd-s3-folder": "k3s-etcd",
    }
    keys = root / "etc/rancher/k3s/config.yaml.d/50-etcd-s3-credentials.yaml"
    assert YAML(typ="safe").load(keys.read_text()) == {
        "etcd-s3-access-key": S3_KEYS["HOMELAB_ETCD_S3_ACCESS_KEY"],
        "etcd-s3-secret-key": S3_KEYS["HOMELAB_ETCD_S3_SECRET_KEY"],
    }
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.parent.stat().st_mode) == 0o700
    assert all(value not in (root / "etc/rancher/k3s/config.yaml").read_text() for value in S3_KEYS.values())


def test_agent_has_no_etcd_settings(upgrades: Upgrades) -> None:
    root = upgrades.lab.roots[AGENT]
    assert "etcd" not in (root / "etc/rancher/k3s/config.yaml").read_text()
    assert not (root / "etc/rancher/k3s/config.yaml.d").exists()


def test_no_s3_key_in_the_rendered_repo(upgrades: Upgrades) -> None:
    texts = [p.read_bytes() for p in upgrades.lab.repo.rglob("*") if p.is_file()]
    assert len(texts) > 20
    for value in S3_KEYS.values():
        assert not any(value.encode() in text for text in texts)
    assert b"HOMELAB_ETCD_S3_SECRET_KEY" in b"".join(texts)  # what is there: the variable's name


def test_a_run_without_the_keys_keeps_them(upgrades: Upgrades) -> None:
    """Re-running site.yml without the environment (a laptop without Vault access) changes nothing."""
    result = upgrades.lab.run(limit="k3s-server-2")
    assert result.changed == 0
    keys = upgrades.lab.roots["k3s-server-2"] / "etc/rancher/k3s/config.yaml.d/50-etcd-s3-credentials.yaml"
    assert S3_KEYS["HOMELAB_ETCD_S3_SECRET_KEY"] in keys.read_text()
    said = [e for e in upgrades.lab.events if e.task == "Say the etcd snapshots cannot reach S3 without keys"]
    assert said
    assert said[-1].host == "k3s-server-2"


def test_skipped_minor_is_refused_before_anything(upgrades: Upgrades) -> None:
    before = (upgrades.config.read_text(), calls(upgrades.lab))
    with pytest.raises(UsageError) as caught:
        upgrades.upgrade("v1.35.0+k3s1")
    assert str(caught.value) == (
        "--to v1.35.0+k3s1 skips Kubernetes 1.34: K3s upgrades one minor version at a time; "
        "upgrade to the newest v1.34.x+k3sN first, then to v1.35.0+k3s1"
    )
    assert upgrades.reads == []
    assert (upgrades.config.read_text(), calls(upgrades.lab)) == before


def test_patch_upgrade_rolls_node_by_node(upgrades: Upgrades) -> None:
    original = upgrades.config.read_text()
    start = len(calls(upgrades.lab))
    outcome = upgrades.upgrade(PATCH)
    assert outcome.changed_tasks > 0
    assert outcome.config_updated
    for host in NODES:
        assert binary_version(upgrades.lab, host) == PATCH, host
    assert actions(upgrades.lab, start) == rolling(PATCH)
    copies = [
        e.host for e in upgrades.lab.events if e.task == "Copy the K3s binary" and e.status == "changed"
    ]
    assert copies[-4:] == list(NODES)
    # Only the version line changed: every comment, key order and quote of the example survives.
    assert upgrades.config.read_text() == original.replace(f"k3s_version: {START}", f"k3s_version: {PATCH}")
    assert original.count("#") > 20


def test_failing_node_stops_the_upgrade_there(upgrades: Upgrades) -> None:
    config_before = upgrades.config.read_text()
    for host in NODES:  # the cluster reports k3s-server-2 never Ready again
        (upgrades.lab.roots[host] / STANDIN_STATE / "not-ready").write_text("k3s-server-2\n")
    start = len(calls(upgrades.lab))
    with pytest.raises(UpgradeFailed) as caught:
        upgrades.upgrade(MINOR)
    message = str(caught.value)
    assert caught.value.node == "k3s-server-2"
    assert message.startswith(
        f"ansible: upgrading K3s to {MINOR} failed: node k3s-server-2 failed to upgrade to {MINOR} at "
        "'Wait for the node to be Ready': error: timed out waiting for the condition on nodes/k3s-server-2"
    )
    assert f"already at {MINOR}: k3s-server-1; not touched: k3s-server-3, k3s-agent-1" in message
    assert (
        f"To resume, fix k3s-server-2 and re-run `homelab upgrade k3s --to {MINOR} {upgrades.config}`"
        in message
    )
    assert "the etcd snapshot pre-upgrade-v1.34.1-k3s1 was taken first" in message
    assert "k3s server --cluster-reset --cluster-reset-restore-path=" in message
    assert f"-e k3s_version={PATCH} -e homelab_cluster_api=false -e homelab_start_services=false" in message
    assert "on k3s-server-2, k3s-server-3: `rm -rf /var/lib/rancher/k3s/server/db`" in message
    # Stopped at server-2: server-3 and the agent never drained, never got the new binary.
    assert actions(upgrades.lab, start) == rolling(MINOR)[:6]
    assert [binary_version(upgrades.lab, h) for h in NODES] == [MINOR, MINOR, PATCH, PATCH]
    assert (upgrades.lab.roots["k3s-server-1"] / STANDIN_STATE / "cordoned/k3s-server-2").exists()
    assert upgrades.config.read_text() == config_before


def test_resume_finishes_what_the_failed_run_left(upgrades: Upgrades) -> None:
    for host in NODES:
        (upgrades.lab.roots[host] / STANDIN_STATE / "not-ready").unlink()
    start = len(calls(upgrades.lab))
    outcome = upgrades.upgrade(MINOR)
    assert outcome.config_updated
    assert [binary_version(upgrades.lab, h) for h in NODES] == [MINOR] * 4
    snapshot = ("k3s-server-1", "etcd-snapshot save --name pre-upgrade-v1.34.1-k3s1")
    # server-1 is skipped, server-2 (upgraded but cordoned) is only waited for and uncordoned.
    assert actions(upgrades.lab, start) == [snapshot, *rolling(MINOR)[5:]]
    assert not list((upgrades.lab.roots["k3s-server-1"] / STANDIN_STATE / "cordoned").iterdir())
    assert f"\n  k3s_version: {MINOR}\n" in upgrades.config.read_text()


def test_rerun_after_success_changes_nothing(upgrades: Upgrades) -> None:
    config_before = upgrades.config.read_text()
    start = len(calls(upgrades.lab))
    outcome = upgrades.upgrade(MINOR)
    assert (outcome.changed_tasks, outcome.config_updated) == (0, False)
    assert outcome.summary(upgrades.config) == f"every node already runs {MINOR}; nothing changed"
    assert actions(upgrades.lab, start) == []
    assert upgrades.config.read_text() == config_before
