"""`homelab upgrade k3s` end to end against Debian 12 chroot hosts: the real rendered upgrade.yml
run by real Ansible through lifecycle/k3s_upgrade_runner.py, against a K3s stand-in, a fake
Kubernetes API and a real three-member OpenBao raft cluster playing Vault's pods.

What is real: the playbook, Ansible, the hosts' filesystems, the airgap checksum, the serial/
any_errors_fatal stop, the Kubernetes client (reads, port-forward streams), OpenBao's seal and
unseal, the homelab.yaml edit. What is a stand-in: the k3s binary (tests/support/chroot_lab.py),
whose kubectl (tests/support/standin_kubectl.py) drains, cordons, waits and deletes through the fake
API; the API's Eviction subresource applies the PodDisruptionBudget rules of the real one
(tests/support/fake_eviction.py); the cluster's controllers are tests/support/upgrade_world.py:
an evicted Vault pod waits Pending for its (local-path) node, then its OpenBao member restarts,
sealed, so unready, so the chart's budget (maxUnavailable 1 of 3) lets no other Vault pod go until
it is unsealed. One lab per module, tests in order: refused skip, patch upgrade (the order drain ->
upgrade -> Ready -> uncordon -> unseal -> next), a failing node on the minor upgrade, its resume, a
no-op re-run, then one Vault replica: refused before the first node, and with --accept-downtime.
"""

from __future__ import annotations

import json
import re
import stat
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from homelabeazy.checks import load_config
from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.lifecycle.k3s_upgrade import ClusterFacts
from homelabeazy.lifecycle.k3s_upgrade_runner import (
    UpgradeFailed,
    UpgradeOutcome,
    Waits,
    kube_reader,
    upgrade_k3s,
    vault_unsealer,
)
from homelabeazy.model import Homelab, build
from homelabeazy.ops.ansible import PlaybookResult
from homelabeazy.ops.vault_bootstrap import VaultBootstrap
from tests.secrets.servers import bao_binary
from tests.support.chroot_lab import (
    STANDIN_STATE,
    ChrootLab,
    build_lab,
    lab_config_text,
    write_airgap,
)
from tests.support.fake_kube import TOKEN, FakeKube, FakeKubeServer
from tests.support.integration import need_binary, need_root
from tests.support.rootfs import base_image, hosts_under, mounts_below
from tests.support.upgrade_world import UpgradeWorld
from tests.support.vault_members import Member, vault_members

pytestmark = pytest.mark.integration

SERVERS = ("k3s-server-1", "k3s-server-2", "k3s-server-3")
AGENT = "k3s-agent-1"
NODES = (*SERVERS, AGENT)
START, PATCH, MINOR, LAST = "v1.33.5+k3s1", "v1.33.6+k3s1", "v1.34.1+k3s1", "v1.34.2+k3s1"
VELERO_PREFIX = "      prefix: velero\n"
S3_KEYS = {
    "HOMELAB_ETCD_S3_ACCESS_KEY": "AKIATESTETCDACCESS01",
    "HOMELAB_ETCD_S3_SECRET_KEY": "etcd-secret-key-never-in-the-repo-0123456789",
}
PLACEMENT = {"vault-0": "k3s-server-1", "vault-1": "k3s-server-3", "vault-2": AGENT}
"""Where each Vault pod's (local-path) volume binds it, one per node as the chart's anti-affinity wants."""


@dataclass
class Upgrades:
    lab: ChrootLab
    config: Path
    base: Path
    kube: FakeKube
    world: UpgradeWorld
    members: Mapping[str, Member]
    keys: VaultBootstrap
    kubeconfig: Path
    reads: list[int]

    def homelab(self) -> Homelab:
        return build(load_config(self.config.read_text()).config)

    def read_cluster(self) -> ClusterFacts:
        """Through the real Kubernetes client, from the fake API the world keeps current."""
        self.reads.append(1)
        return kube_reader(self.kubeconfig)()

    def playbook(self, extravars: Mapping[str, Any]) -> PlaybookResult:
        version = str(extravars["k3s_version"])
        airgap = write_airgap(self.base / f"airgap-{version}", version)
        return self.lab.run("upgrade.yml", homelab_cluster_api=True, k3s_airgap_dir=str(airgap), **extravars)

    def upgrade(self, target: str, *, accept_downtime: bool = False) -> UpgradeOutcome:
        return upgrade_k3s(
            self.config,
            self.homelab(),
            target,
            read_cluster=self.read_cluster,
            playbook=self.playbook,
            unseal=vault_unsealer(self.kubeconfig, self.keys),
            accept_downtime=accept_downtime,
            waits=Waits(timeout=120, interval=0.5),
        )

    def forwards(self, since: int = 0) -> list[tuple[int, str]]:
        """(ns, pod) of every port-forward stream opened (the unseal step's)."""
        return [
            (stamp, path.split("/")[6])
            for stamp, method, path in self.kube.timeline
            if stamp >= since and method == "GET" and path.endswith("/portforward")
        ]

    def unschedulable(self, node: str) -> bool:
        return bool(self.kube.objects[f"/api/v1/nodes/{node}"]["spec"].get("unschedulable"))


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


def stamp_of(lab: ChrootLab, args: str, since: int = 0) -> int:
    """When the stand-in was called with exactly `args` (the first time after `since`)."""
    found = [stamp for stamp, _, _, called in calls(lab)[since:] if called == args]
    assert found, args
    return found[0]


def installed_at(lab: ChrootLab, host: str) -> int:
    """When the host's K3s binary was last written (Ansible's copy)."""
    return (lab.roots[host] / "usr/local/bin/k3s").stat().st_mtime_ns


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
    bao_binary()
    image = base_image()
    base = tmp_path_factory.mktemp("upgrade-lab")
    # The example's Velero prefix: the etcd snapshots are copied to S3 too (model/etcd_snapshots.py).
    text = lab_config_text(servers=3, agents=1)
    assert VELERO_PREFIX in text
    with hosts_under(base), FakeKubeServer() as kube, vault_members(base / "vault") as (members, keys):
        lab = build_lab(build(load_config(text).config), base, image)
        config = lab.repo / "homelab.yaml"
        config.write_text(text)
        lab.run(secrets=S3_KEYS)  # the cluster at START, as `homelab up` leaves it
        api = json.dumps({"url": f"http://127.0.0.1:{kube.port}", "token": TOKEN})
        for host in NODES:
            (lab.roots[host] / STANDIN_STATE / "api.json").write_text(api)
        for pod, member in members.items():
            kube.forwards[("vault", pod, 8200)] = ("127.0.0.1", member.api)
        world = UpgradeWorld(kube, NODES, lambda node: binary_version(lab, node), members, dict(PLACEMENT))
        world.install()
        kubeconfig = kube.kubeconfig(base)
        yield Upgrades(lab, config, base, kube, world, members, keys, kubeconfig, [])
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
        "etcd-s3-retention": 28,  # K3s v1.33.4+ keeps 5 per server in S3 without it
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


def test_patch_upgrade_rolls_node_by_node_and_unseals_vault_between(upgrades: Upgrades) -> None:
    """drain -> new binary -> Ready -> uncordon -> the Vault pod back (sealed) -> unsealed -> next drain."""
    original = upgrades.config.read_text()
    start = len(calls(upgrades.lab))
    began = time.time_ns()
    outcome = upgrades.upgrade(PATCH)
    assert outcome.changed_tasks > 0
    assert outcome.config_updated
    assert outcome.notes == tuple(f"unsealed Vault pod vault/{pod}" for pod in PLACEMENT)
    for host in NODES:
        assert binary_version(upgrades.lab, host) == PATCH, host
    assert actions(upgrades.lab, start) == rolling(PATCH)
    forwards = upgrades.forwards(began)
    for index, node in enumerate(NODES):
        kubectl = "k3s-server-3" if node == "k3s-server-1" else "k3s-server-1"
        drained = stamp_of(
            upgrades.lab,
            f"kubectl drain {node} --ignore-daemonsets --delete-emptydir-data --timeout=300s",
            start,
        )
        ready = stamp_of(
            upgrades.lab, f"kubectl wait --for=condition=Ready node/{node} --timeout=300s", start
        )
        back = stamp_of(upgrades.lab, f"kubectl uncordon {node}", start)
        assert drained < installed_at(upgrades.lab, node) < ready < back, node
        pods = [pod for pod, where in PLACEMENT.items() if where == node]
        following = [
            stamp_of(
                upgrades.lab,
                f"kubectl drain {later} --ignore-daemonsets --delete-emptydir-data --timeout=300s",
                start,
            )
            for later in NODES[index + 1 :]
        ]
        for pod in pods:
            restarted = upgrades.members[pod].starts[-1]
            unsealed = [stamp for stamp, forwarded in forwards if forwarded == pod]
            assert back < restarted < unsealed[0], pod  # scheduled back once uncordoned, sealed
            assert all(unsealed[-1] < drain for drain in following), (pod, kubectl)
    assert [pod for _, pod in forwards] == sorted(pod for _, pod in forwards)  # one pod at a time
    assert not any(member.sealed() for member in upgrades.members.values())
    # Only the version line changed: every comment, key order and quote of the example survives.
    assert upgrades.config.read_text() == original.replace(f"k3s_version: {START}", f"k3s_version: {PATCH}")
    assert original.count("#") > 20


def test_failing_node_stops_the_upgrade_there(upgrades: Upgrades) -> None:
    config_before = upgrades.config.read_text()
    upgrades.world.broken["k3s-server-2"] = MINOR  # once on MINOR, its kubelet never becomes Ready
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
    assert (
        "--cluster-reset-restore-path=/var/lib/rancher/k3s/server/db/snapshots/<that file> --etcd-s3=false`"
        in message
    )
    assert (
        "on k3s-server-1 (the first server: the reset refuses to run where config.yaml has `server:`)"
        in message
    )
    assert f"-e k3s_version={PATCH} -e homelab_cluster_api=false -e homelab_start_services=false" in message
    assert "on k3s-server-2, k3s-server-3: `rm -rf /var/lib/rancher/k3s/server/db`" in message
    # Stopped at server-2: server-3 and the agent never drained, never got the new binary.
    assert actions(upgrades.lab, start) == rolling(MINOR)[:6]
    assert [binary_version(upgrades.lab, h) for h in NODES] == [MINOR, MINOR, PATCH, PATCH]
    assert upgrades.unschedulable("k3s-server-2")
    assert upgrades.config.read_text() == config_before


def test_resume_finishes_what_the_failed_run_left(upgrades: Upgrades) -> None:
    del upgrades.world.broken["k3s-server-2"]
    start = len(calls(upgrades.lab))
    outcome = upgrades.upgrade(MINOR)
    assert outcome.config_updated
    assert [binary_version(upgrades.lab, h) for h in NODES] == [MINOR] * 4
    snapshot = ("k3s-server-1", "etcd-snapshot save --name pre-upgrade-v1.34.1-k3s1")
    # server-1 is skipped, server-2 (upgraded but cordoned) is only waited for and uncordoned.
    assert actions(upgrades.lab, start) == [snapshot, *rolling(MINOR)[5:]]
    assert outcome.notes == ("unsealed Vault pod vault/vault-1", "unsealed Vault pod vault/vault-2")
    assert not any(upgrades.unschedulable(node) for node in NODES)
    assert f"\n  k3s_version: {MINOR}\n" in upgrades.config.read_text()


def test_rerun_after_success_changes_nothing(upgrades: Upgrades) -> None:
    config_before = upgrades.config.read_text()
    start = len(calls(upgrades.lab))
    began = time.time_ns()
    outcome = upgrades.upgrade(MINOR)
    assert (outcome.changed_tasks, outcome.config_updated) == (0, False)
    assert outcome.summary(upgrades.config) == f"every node already runs {MINOR}; nothing changed"
    assert actions(upgrades.lab, start) == []
    assert upgrades.forwards(began) == []
    assert upgrades.config.read_text() == config_before


def _one_vault_replica(upgrades: Upgrades) -> None:
    """As `services.vault.replicas: 1` renders it: one pod (on the agent), budget maxUnavailable 0."""
    world = upgrades.world
    with world.lock:
        for pod in ("vault-1", "vault-2"):
            del world.placement[pod]
            upgrades.kube.objects.pop(f"/api/v1/namespaces/vault/pods/{pod}")
            upgrades.members[pod].stop()
        world.placement["vault-0"] = AGENT
        upgrades.kube.objects["/api/v1/namespaces/vault/pods/vault-0"]["spec"]["nodeName"] = AGENT
        world.max_unavailable = 0
        world.reset_budget()


def test_a_single_vault_replica_is_refused_before_the_first_node(upgrades: Upgrades) -> None:
    _one_vault_replica(upgrades)
    start, reads = len(calls(upgrades.lab)), len(upgrades.reads)
    with pytest.raises(ExternalSystemError) as caught:
        upgrades.upgrade(LAST)
    assert str(caught.value).startswith(
        f"kubernetes: the preflight for K3s {LAST} failed: node k3s-agent-1 can never be drained: budget "
        "vault/vault allows no disruption even with every pod healthy, and vault/vault-0 runs there"
    )
    assert "set services.vault.replicas: 3" in str(caught.value)
    assert "--accept-downtime" in str(caught.value)
    assert calls(upgrades.lab)[start:] == []
    assert len(upgrades.reads) == reads + 1


def test_accepted_downtime_deletes_the_pod_before_its_drain(upgrades: Upgrades) -> None:
    start = len(calls(upgrades.lab))
    began = time.time_ns()
    outcome = upgrades.upgrade(LAST, accept_downtime=True)
    assert outcome.config_updated
    assert outcome.notes == ("unsealed Vault pod vault/vault-0",)
    done = actions(upgrades.lab, start)
    cordon = ("k3s-server-1", f"kubectl cordon {AGENT}")
    delete = ("k3s-server-1", "kubectl delete pod --namespace vault vault-0 --timeout=120s")
    drain = (
        "k3s-server-1",
        f"kubectl drain {AGENT} --ignore-daemonsets --delete-emptydir-data --timeout=300s",
    )
    assert done.index(cordon) + 1 == done.index(delete) == done.index(drain) - 1
    back = stamp_of(upgrades.lab, f"kubectl uncordon {AGENT}", start)
    [(unsealed, pod), *_] = upgrades.forwards(began)
    assert back < upgrades.members["vault-0"].starts[-1] < unsealed
    assert pod == "vault-0"
    assert not upgrades.members["vault-0"].sealed()
