"""`homelab upgrade k3s` against PodDisruptionBudgets and Vault's seal, with a scripted cluster:
the order of playbook runs, reads and unseals; the refusal before the first node; the stops between
nodes and their texts (never an etcd rollback for a drain). The real playbook against stand-in hosts,
a fake Kubernetes API and real OpenBao servers is tests/ansible/test_upgrade_chroot.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.errors import ExternalSystemError
from homelabeazy.lifecycle.drain_plan import BudgetFact, PodFact
from homelabeazy.lifecycle.k3s_upgrade import ClusterFacts, NodeFact
from homelabeazy.lifecycle.k3s_upgrade_runner import (
    UpgradeFailed,
    UpgradeOutcome,
    UpgradeStopped,
    Waits,
    upgrade_k3s,
)
from homelabeazy.model import build
from homelabeazy.ops.ansible import Failure, HostStats, PlaybookFailed, PlaybookResult

NODES = ("k3s-server-1", "k3s-server-2", "k3s-server-3", "k3s-agent-1", "k3s-agent-2")
START, TARGET = "v1.33.5+k3s1", "v1.33.6+k3s1"
VAULT = {"app.kubernetes.io/name": "vault", "app.kubernetes.io/instance": "vault", "component": "server"}
SELECTOR = {"matchLabels": VAULT}
EVICTION_429 = (
    'error when evicting pods/"{pod}" -n "vault" (will retry after 5s): Cannot evict pod as it would '
    "violate the pod's disruption budget."
)


@dataclass
class Cluster:
    """A scripted cluster: Vault pods on some nodes, the chart's budget, K3s versions per node.

    A run of the playbook drains its nodes in order; a drain evicts the node's Vault pod (refused,
    as the Eviction API would, when the budget has no disruption left) and the pod comes back
    sealed, i.e. unready, until unsealed.
    """

    vault_on: dict[str, str] = field(
        default_factory=lambda: {
            "vault-0": "k3s-server-1",
            "vault-1": "k3s-server-3",
            "vault-2": "k3s-agent-1",
        }
    )
    max_unavailable: int = 1
    sealed: set[str] = field(default_factory=set)
    versions: dict[str, str] = field(default_factory=lambda: dict.fromkeys(NODES, START))
    ready_after_unseal: int = 1
    """Reads after an unseal before the pod reports Ready (the readiness probe's period)."""
    cordoned: set[str] = field(default_factory=set)
    pending: set[str] = field(default_factory=set)
    """Vault pods waiting for their cordoned node (a local-path volume binds them to it)."""
    log: list[str] = field(default_factory=list)
    _unsealed_at: dict[str, int] = field(default_factory=dict)
    _reads: int = 0

    def budget(self) -> BudgetFact:
        expected = len(self.vault_on)
        healthy = sum(1 for pod in self.vault_on if self._ready(pod))
        desired = expected - self.max_unavailable
        return BudgetFact(
            "vault", "vault", SELECTOR, max(0, healthy - desired), healthy, desired, expected, True
        )

    def _ready(self, pod: str) -> bool:
        if pod in self.sealed:
            return False
        unsealed = self._unsealed_at.get(pod)
        return unsealed is None or self._reads - unsealed >= self.ready_after_unseal

    def read(self) -> ClusterFacts:
        self._reads += 1
        self.log.append("read")
        nodes = tuple(NodeFact(name, True, self.versions[name], name in self.cordoned) for name in NODES)
        pods = tuple(
            PodFact("vault", pod, "", VAULT, "Pending", False, "StatefulSet")
            if pod in self.pending
            else PodFact("vault", pod, node, VAULT, "Running", self._ready(pod), "StatefulSet")
            for pod, node in self.vault_on.items()
        )
        return ClusterFacts(nodes, "ok", pods, (self.budget(),))

    def playbook(self, extravars: Mapping[str, Any]) -> PlaybookResult:
        hosts = str(extravars["upgrade_hosts"]).split(",")
        self.log.append(f"run {' '.join(hosts)}" + (" +snapshot" if extravars["upgrade_snapshot"] else ""))
        for host in hosts:
            if self.versions[host] == extravars["k3s_version"]:
                self.cordoned.discard(host)  # "Bring the node back": uncordoned, its pods return sealed
                back = {pod for pod in self.pending if self.vault_on[pod] == host}
                self.pending -= back
                self.sealed |= back
                continue
            for pod in [p for p, node in self.vault_on.items() if node == host]:
                deleted = f"vault/{pod}" in extravars.get("upgrade_delete_first", {}).get(host, [])
                if not deleted and self.budget().disruptions_allowed < 1:
                    failure = Failure(host, "Drain the node", EVICTION_429.format(pod=pod))
                    raise PlaybookFailed("running upgrade.yml", failure.format(), "", (failure,))
                self.sealed.add(pod)
            self.versions[host] = str(extravars["k3s_version"])
        return PlaybookResult("upgrade.yml", {h: HostStats(ok=5, changed=3) for h in hosts})

    def unseal(self, pods: Sequence[str]) -> list[str]:
        self.log.append(f"unseal {' '.join(pods)}")
        for ref in pods:
            self.sealed.discard(ref.split("/")[1])
            self._unsealed_at[ref.split("/")[1]] = self._reads
        return [f"unsealed Vault pod {ref}" for ref in pods]


class Clock:
    """Waits.clock/sleep without waiting: each sleep moves time on."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "homelab.yaml"
    path.write_text(example_text())
    return path


def upgrade(config: Path, cluster: Cluster, *, unseal: bool = True, **kwargs: Any) -> UpgradeOutcome:
    clock = Clock()
    return upgrade_k3s(
        config,
        build(load_config(config.read_text()).config),
        TARGET,
        read_cluster=cluster.read,
        playbook=cluster.playbook,
        unseal=cluster.unseal if unseal else None,
        waits=Waits(timeout=60, interval=5, sleep=clock.sleep, clock=clock.clock),
        **kwargs,
    )


def test_vault_is_unsealed_after_each_node_that_ran_it(config: Path) -> None:
    """drain -> upgrade -> Ready -> uncordon (one run) -> unseal -> wait Ready -> the next drain."""
    cluster = Cluster()
    outcome = upgrade(config, cluster)
    assert cluster.log == [
        "read",  # the preflight
        "run k3s-server-1 +snapshot",
        "read",
        "unseal vault/vault-0",
        "read",  # the readiness probe has not run yet
        "run k3s-server-2 k3s-server-3",
        "read",
        "unseal vault/vault-1",
        "read",
        "run k3s-agent-1",
        "read",
        "unseal vault/vault-2",
        "read",
        "run k3s-agent-2",
        "read",
    ]
    assert outcome.notes == tuple(f"unsealed Vault pod vault/vault-{i}" for i in range(3))
    assert cluster.sealed == set()
    assert f"k3s_version: {TARGET}" in config.read_text()


def test_a_node_left_cordoned_is_brought_back_before_its_pod_is_waited_for(config: Path) -> None:
    """Resuming after a run stopped at k3s-server-1 once upgraded: it is still cordoned and vault-0
    waits Pending for it. The run that uncordons it comes first; then vault-0 is unsealed."""
    cluster = Cluster(cordoned={"k3s-server-1"}, pending={"vault-0"})
    cluster.versions["k3s-server-1"] = TARGET
    upgrade(config, cluster)
    assert cluster.log[:6] == [
        "read",
        "run k3s-server-1 +snapshot",
        "read",
        "unseal vault/vault-0",
        "read",
        "run k3s-server-2 k3s-server-3",
    ]


def test_without_the_keys_it_stops_with_the_commands(config: Path) -> None:
    """No bootstrap file: it stops after the first Vault node, before the next one, and says exactly
    what to run."""
    cluster = Cluster()
    with pytest.raises(UpgradeStopped) as caught:
        upgrade(config, cluster, unseal=False)
    text = str(caught.value)
    assert cluster.log == ["read", "run k3s-server-1 +snapshot", "read"]
    assert text.splitlines()[:2] == [
        f"kubernetes: upgrading K3s to {TARGET} failed: node k3s-server-2 was not upgraded to {TARGET}: "
        "Vault pods restarted sealed, and there is no bootstrap file to unseal them with",
        "  now: Vault pod vault/vault-0 is sealed: run `kubectl -n vault exec -ti vault-0 -- vault operator "
        "unseal` 3 times, one key share each (of 5)",
    ]
    assert f"re-run `homelab upgrade k3s --to {TARGET} {config}`" in text
    assert "cluster-reset" not in text
    assert f"k3s_version: {START}" in config.read_text()


def test_a_single_vault_replica_is_refused_before_the_first_node(config: Path) -> None:
    cluster = Cluster(vault_on={"vault-0": "k3s-agent-1"}, max_unavailable=0)
    with pytest.raises(ExternalSystemError) as caught:
        upgrade(config, cluster)
    assert cluster.log == ["read"]
    assert str(caught.value).startswith(
        f"kubernetes: the preflight for K3s {TARGET} failed: node k3s-agent-1 can never be drained: budget "
        "vault/vault allows no disruption even with every pod healthy, and vault/vault-0 runs there; Vault "
        "runs one replica"
    )
    assert "nothing was changed" in str(caught.value)
    assert f"k3s_version: {START}" in config.read_text()


def test_accepted_downtime_deletes_the_single_replica_first(config: Path) -> None:
    cluster = Cluster(vault_on={"vault-0": "k3s-agent-1"}, max_unavailable=0)
    said: list[str] = []
    played: list[dict[str, Any]] = []
    real = cluster.playbook

    def recording(extravars: Mapping[str, Any]) -> PlaybookResult:
        played.append(dict(extravars))
        return real(extravars)

    cluster.playbook = recording  # type: ignore[method-assign]
    upgrade(config, cluster, accept_downtime=True, say=said.append)
    assert [run.get("upgrade_delete_first") for run in played] == [{"k3s-agent-1": ["vault/vault-0"]}, None]
    assert (
        said[0]
        == "accepted downtime: vault/vault-0 is deleted before k3s-agent-1 drains (budget vault/vault)"
    )
    assert "unseal vault/vault-0" in cluster.log


def test_a_drain_refused_by_a_budget_offers_no_etcd_rollback(config: Path) -> None:
    """The old way, one run for every node and no unseal: the second Vault drain is refused. What it
    says now: the node still runs its old release, nothing to restore, the budget and the sealed pod."""
    cluster = Cluster()

    def one_run(extravars: Mapping[str, Any]) -> PlaybookResult:
        return Cluster.playbook(cluster, {**extravars, "upgrade_hosts": ",".join(NODES)})

    cluster.playbook = one_run  # type: ignore[method-assign]
    with pytest.raises(UpgradeFailed) as caught:
        upgrade(config, cluster, unseal=False)
    lines = str(caught.value).splitlines()
    assert lines[0] == (
        f"ansible: upgrading K3s to {TARGET} failed: node k3s-server-3 was not upgraded to {TARGET}: "
        f"'Drain the node' failed: {EVICTION_429.format(pod='vault-1')}"
    )
    assert lines[1:3] == [
        "  now: budget vault/vault allows no disruption now (2 of 3 pods healthy, 2 needed), so "
        "vault/vault-1 on k3s-server-3 cannot be evicted",
        "  now: Vault pod vault/vault-0 is sealed: run `kubectl -n vault exec -ti vault-0 -- vault operator "
        "unseal` 3 times, one key share each (of 5)",
    ]
    assert f"already at {TARGET}: k3s-server-1, k3s-server-2; still at {START}: k3s-server-3" in lines[3]
    assert "Nothing to roll back: no etcd restore is needed, k3s-server-3 still runs" in lines[4]
    assert lines[-1] == "To put k3s-server-3 back into service meanwhile: `kubectl uncordon k3s-server-3`."
    assert "cluster-reset" not in str(caught.value)
    assert "snapshot" not in str(caught.value)


def test_a_budget_that_stays_short_stops_before_the_drain(config: Path) -> None:
    """vault-1 never becomes Ready again (say its volume is gone): the wait ends, the next Vault
    node is not drained, and the text names the budget and the pod."""
    cluster = Cluster(ready_after_unseal=10_000)
    with pytest.raises(UpgradeStopped) as caught:
        upgrade(config, cluster)
    assert cluster.log.count("run k3s-server-1 +snapshot") == 1
    assert not [line for line in cluster.log if line.startswith("run k3s-server-2")]
    text = str(caught.value)
    assert "after 60 s the cluster is still not ready for the next drain" in text
    assert "  now: Vault pod vault/vault-0 is not ready (sealed?)" in text
    assert "cluster-reset" not in text
