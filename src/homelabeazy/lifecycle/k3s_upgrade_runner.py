"""`homelab upgrade k3s --to VERSION`: check, preflight, roll the nodes, record the version.

The order is what makes it safe to re-run at any point:
1. the version step is checked before anything is read or run (a bad, older or minor-skipping
   version is a usage error, exit 2);
2. the preflight reads the cluster through the Kubernetes API (every node Ready, etcd healthy, no
   node ahead of the target, none more than one minor behind it) and plans every drain against the
   PodDisruptionBudgets (lifecycle/drain_plan.py): a drain that can never succeed is refused here,
   before the first node, with every problem at once;
3. the rendered upgrade.yml runs in parts (`upgrade_hosts`): each part ends after a node that
   drains a pod a budget guards. Between parts the Vault pods the drain restarted (sealed, so
   unready, so Vault's budget lets no other Vault pod go) are unsealed through a port-forward with
   the bootstrap file's keys (or the run stops and says exactly what to run), and the next drain
   waits until its budgets are whole again. drain -> upgrade -> Ready -> uncordon -> unseal -> next;
4. only after every node succeeded (and Vault is unsealed) is `cluster.k3s_version` written.
Idempotent: nodes already at the version are skipped by the playbook, no snapshot is taken when
none is behind, and homelab.yaml is not rewritten when it already says the version.

The cluster, Ansible and Vault are reached through callables (`ClusterReader`, `PlaybookCall`,
`VaultUnsealer`), so the chroot tests drive the very same code with the real playbook, a fake
Kubernetes API and real OpenBao servers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homelabeazy.atomic_file import write_atomic
from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.lifecycle.drain_plan import (
    NodeDrain,
    batches,
    budget_facts,
    drain_waits,
    pending_vault_pods,
    plan_drains,
    pod_facts,
    sealed_vault_pods,
)
from homelabeazy.lifecycle.journal import exclusive_run
from homelabeazy.lifecycle.k3s_upgrade import (
    ClusterFacts,
    check_step,
    drain_stop_text,
    failure_text,
    node_facts,
    node_order,
    nodes_behind,
    oldest_version,
    parse_version,
    preflight_problems,
    set_k3s_version,
    unseal_instructions,
)
from homelabeazy.model import Homelab
from homelabeazy.model.k3s_release import K3sVersion
from homelabeazy.render.ansible import TOKEN_ENV

if TYPE_CHECKING:
    from homelabeazy.ops.ansible import PlaybookResult, TaskResult
    from homelabeazy.ops.kube import KubeAdapter
    from homelabeazy.ops.vault_bootstrap import VaultBootstrap

ClusterReader = Callable[[], ClusterFacts]
PlaybookCall = Callable[[Mapping[str, Any]], "PlaybookResult"]
"""Runs the rendered upgrade.yml with these extra vars; raises ops.ansible.PlaybookFailed."""
VaultUnsealer = Callable[[Sequence[str]], list[str]]
"""Unseals the Vault pods (`namespace/name`) it is given; returns what it did; raises
ExternalSystemError when a pod cannot be reached or unsealed."""


def _quiet(_line: str) -> None:
    return None


@dataclass(frozen=True)
class Waits:
    """How long the upgrade waits between nodes for pods to come back, and how it waits."""

    timeout: float = 300.0
    """The longest wait for Vault pods to run and budgets to be whole (kubectl drain's own is 300 s)."""
    interval: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


class UpgradeFailed(ExternalSystemError):
    """upgrade.yml stopped at a node; the message says which, and how to resume or roll back."""

    def __init__(self, target: K3sVersion, text: str, node: str) -> None:
        super().__init__("ansible", f"upgrading K3s to {target.text}", text)
        self.node = node


class UpgradeStopped(ExternalSystemError):
    """The upgrade stopped between two nodes: a drain that cannot succeed, or Vault left sealed."""

    def __init__(self, target: K3sVersion, text: str, node: str) -> None:
        super().__init__("kubernetes", f"upgrading K3s to {target.text}", text)
        self.node = node


@dataclass(frozen=True)
class UpgradeOutcome:
    """What a successful run did."""

    target: K3sVersion
    previous: K3sVersion
    changed_tasks: int
    config_updated: bool
    notes: tuple[str, ...] = ()
    """What happened between nodes (Vault pods unsealed)."""

    def summary(self, config: Path) -> str:
        """One line for the user, with what to do next."""
        if self.changed_tasks == 0 and not self.config_updated:
            return f"every node already runs {self.target.text}; nothing changed"
        nodes = "every node runs" if self.changed_tasks else "the nodes already ran"
        recorded = f"{config} now says {self.target.text}" if self.config_updated else f"{config} unchanged"
        return (
            f"{nodes} {self.target.text} ({self.changed_tasks} changed task(s)); {recorded}: run "
            "`homelab render` and commit homelab.yaml with the re-rendered repo"
        )


def upgrade_k3s(
    config: Path,
    homelab: Homelab,
    target_text: str,
    *,
    read_cluster: ClusterReader,
    playbook: PlaybookCall,
    unseal: VaultUnsealer | None = None,
    accept_downtime: bool = False,
    waits: Waits = Waits(),
    say: Callable[[str], None] = _quiet,
) -> UpgradeOutcome:
    """Check, preflight, roll the nodes part by part, then record the version (see module doc)."""
    target = parse_version(target_text)
    previous = parse_version(homelab.cluster.k3s_version, "cluster.k3s_version")
    check_step(previous, target)
    facts = read_cluster()
    oldest = oldest_version(facts, homelab)
    if oldest is not None:
        check_step(oldest, target)
    problems = preflight_problems(homelab, facts, target)
    plan = plan_drains(
        homelab,
        node_order(homelab),
        facts.pods,
        facts.budgets,
        upgrading=nodes_behind(facts, target),
        accept_downtime=accept_downtime,
    )
    problems += [blocker.text() for blocker in plan.blockers]
    if problems:
        raise ExternalSystemError(
            "kubernetes",
            f"the preflight for K3s {target.text}",
            "; ".join(problems),
            "nothing was changed: fix the above, then re-run",
        )
    for line in plan.downtime:
        say(f"accepted downtime: {line}")
    roll = _Roll(homelab, str(config), target, previous, read_cluster, playbook, unseal, waits, say)
    with exclusive_run(config.resolve().parent):
        changed = roll.nodes(facts, accept_downtime)
        updated = _record_version(config, target)
    return UpgradeOutcome(target, previous, changed, updated, tuple(roll.notes))


@dataclass
class _Roll:
    """One rolling upgrade in progress: the parts of upgrade.yml and what happens between them."""

    homelab: Homelab
    config: str
    target: K3sVersion
    previous: K3sVersion
    read_cluster: ClusterReader
    playbook: PlaybookCall
    unseal: VaultUnsealer | None
    waits: Waits
    say: Callable[[str], None]
    notes: list[str] = field(default_factory=list)

    def nodes(self, facts: ClusterFacts, accept_downtime: bool) -> int:
        """Run the parts in order; returns how many tasks changed."""
        remaining = node_order(self.homelab)
        changed = 0
        first = True
        while remaining:
            plan = plan_drains(
                self.homelab,
                remaining,
                facts.pods,
                facts.budgets,
                upgrading=nodes_behind(facts, self.target),
                cordoned={n.name for n in facts.nodes if n.unschedulable},
                accept_downtime=accept_downtime,
            )
            if plan.blockers:  # a pod moved onto a later node since the preflight
                blocker = plan.blockers[0]
                raise UpgradeStopped(
                    self.target,
                    self._stop(blocker.node, blocker.reason, [blocker.text()], False),
                    blocker.node,
                )
            run = batches(plan)[0]
            facts = self.ready_for(plan.nodes[: len(run)], facts)
            delete_first = {n.name: list(n.delete_first) for n in plan.nodes[: len(run)] if n.delete_first}
            changed += self._run(run, first, delete_first).changed
            first = False
            remaining = remaining[len(run) :]
            facts = self.read_cluster()
        self.ready_for((), facts)
        return changed

    def ready_for(self, nodes: Sequence[NodeDrain], facts: ClusterFacts) -> ClusterFacts:
        """Wait until the Vault pods run and are unsealed, and `nodes`' drains would be let through."""
        deadline = self.waits.clock() + self.waits.timeout
        tried: set[str] = set()
        while True:
            sealed = [p.ref for p in sealed_vault_pods(self.homelab, facts.pods) if p.ref not in tried]
            if sealed:
                self._unseal(sealed, nodes)
                tried.update(sealed)
            # A pod bound to a node an earlier run left cordoned runs again only once this run
            # uncordons that node: waiting for it here would wait for ever.
            returning = any(node.cordoned for node in nodes)
            pending = [] if returning else [p.ref for p in pending_vault_pods(self.homelab, facts.pods)]
            unready = [p.ref for p in sealed_vault_pods(self.homelab, facts.pods)]
            waits = sorted({w for node in nodes for w in drain_waits(node, facts.pods, facts.budgets)})
            if not (pending or unready or waits):
                return facts
            if self.waits.clock() >= deadline:
                now = [f"Vault pod {ref} is not running yet" for ref in pending]
                now += [f"Vault pod {ref} is not ready (sealed?)" for ref in unready]
                now += waits
                node = nodes[-1].name if nodes else node_order(self.homelab)[-1]
                what = f"after {self.waits.timeout:.0f} s the cluster is still not ready for the next drain"
                raise UpgradeStopped(self.target, self._stop(node, what, now, False), node)
            self.waits.sleep(self.waits.interval)
            facts = self.read_cluster()

    def _unseal(self, pods: list[str], nodes: Sequence[NodeDrain]) -> None:
        if self.unseal is None:
            node = nodes[0].name if nodes else node_order(self.homelab)[-1]
            what = "Vault pods restarted sealed, and there is no bootstrap file to unseal them with"
            raise UpgradeStopped(
                self.target, self._stop(node, what, unseal_instructions(self.homelab, pods), False), node
            )
        for line in self.unseal(pods):
            self.notes.append(line)
            self.say(line)

    def _stop(self, node: str, what: str, now: Sequence[str], cordoned: bool) -> str:
        return drain_stop_text(
            self.homelab,
            self.config,
            node=node,
            what=what,
            now=now,
            target=self.target,
            previous=self.previous,
            cordoned=cordoned,
        )

    def _run(
        self, run: Sequence[str], snapshot: bool, delete_first: Mapping[str, list[str]]
    ) -> PlaybookResult:
        from homelabeazy.ops.ansible import PlaybookFailed  # noqa: PLC0415 - heavy, only when running

        extravars: dict[str, Any] = {
            "k3s_version": self.target.text,
            "upgrade_hosts": ",".join(run),
            "upgrade_snapshot": snapshot,
        }
        if delete_first:
            extravars["upgrade_delete_first"] = dict(delete_first)
        try:
            return self.playbook(extravars)
        except PlaybookFailed as exc:
            if not exc.failures:
                raise
            first = exc.failures[0]
            text = failure_text(
                self.homelab,
                self.config,
                failed_node=first.host,
                task=first.task,
                answer=first.message,
                target=self.target,
                previous=self.previous,
                now=self._blocking_now(first.host),
            )
            raise UpgradeFailed(self.target, text, first.host) from None

    def _blocking_now(self, node: str) -> list[str]:
        """What a fresh look finds in the way of `node`'s drain (best effort: it may be unreachable)."""
        try:
            facts = self.read_cluster()
        except ExternalSystemError:
            return []
        plan = plan_drains(self.homelab, [node], facts.pods, facts.budgets)
        lines = [w for drain in plan.nodes for w in drain_waits(drain, facts.pods, facts.budgets)]
        sealed = [p.ref for p in sealed_vault_pods(self.homelab, facts.pods)]
        if sealed and self.unseal is not None:
            lines.append(
                f"Vault pods {', '.join(sealed)} are sealed: the re-run unseals them before the next drain"
            )
        else:
            lines += unseal_instructions(self.homelab, sealed)
        return lines


def _record_version(config: Path, target: K3sVersion) -> bool:
    """Write the version into homelab.yaml atomically (same mode); False when it already said so."""
    from homelabeazy.checks import load_config  # noqa: PLC0415 - pydantic, only at the end

    text = config.read_text(encoding="utf-8")
    new = set_k3s_version(text, target)
    if new == text:
        return False
    load_config(new, file=str(config))  # the edit must leave a valid file, or nothing is written
    write_atomic(config, new.encode("utf-8"), "the new K3s version", mode=0o666)  # keeps the file's mode
    return True


def kube_adapter(kubeconfig: Path) -> KubeAdapter:
    """The cluster at `kubeconfig` (a usage error when the file is missing)."""
    from homelabeazy.ops.kube import KubeAdapter  # noqa: PLC0415 - the client is heavy

    if not kubeconfig.exists():
        raise UsageError(f"no kubeconfig at {kubeconfig} (`homelab up` fetches it; or pass --kubeconfig)")
    return KubeAdapter(kubeconfig)


def kube_reader(kubeconfig: Path) -> ClusterReader:
    """The facts from the cluster at `kubeconfig`: nodes, the etcd readiness check, every pod and
    every PodDisruptionBudget (the drains are planned against them)."""

    def read() -> ClusterFacts:
        kube = kube_adapter(kubeconfig)
        return ClusterFacts(
            node_facts(kube.list_items("/api/v1/nodes")),
            kube.health_check("etcd"),
            pod_facts(kube.list_items("/api/v1/pods")),
            budget_facts(kube.list_items("/apis/policy/v1/poddisruptionbudgets")),
        )

    return read


VAULT_PORT = 8200
"""The Vault server's API port inside its pod (render/k8s/services/vault.py's listener)."""


def vault_unsealer(kubeconfig: Path, keys: VaultBootstrap) -> VaultUnsealer:
    """Unseal Vault pods one by one through a port-forward to each, with the bootstrap file's keys.

    The route (Traefik) spreads requests over every Vault pod, so it cannot reach one sealed pod
    for sure; a port-forward reaches exactly that pod, and runs through the API server rather than
    the pod network, which Vault's NetworkPolicies close to everything but Traefik and ESO.
    """

    def unseal(pods: Sequence[str]) -> list[str]:
        from homelabeazy.lifecycle.secrets import Report, unseal_member  # noqa: PLC0415
        from homelabeazy.ops.vault import VaultAdapter  # noqa: PLC0415 - hvac is heavy

        kube = kube_adapter(kubeconfig)
        report = Report()
        for pod in pods:
            namespace, name = pod.split("/", 1)
            with kube.port_forward(namespace, name, VAULT_PORT) as port:
                vault = VaultAdapter(f"http://127.0.0.1:{port}", timeout=30.0)
                try:
                    unseal_member(vault, keys, report, f"Vault pod {pod}")
                finally:
                    vault.close()
        return list(report.done)

    return unseal


def join_token(token_file: Path, environ: Mapping[str, str]) -> str:
    """The cluster's existing join token: never a new one (K3s would refuse the restarted nodes)."""
    token = environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    if token_file.exists():
        return token_file.read_text(encoding="utf-8").strip()
    raise UsageError(
        f"the K3s join token is needed to upgrade: export {TOKEN_ENV} (it is in Vault, see "
        f"ansible/group_vars/k3s_cluster.yml: k3s_token_vault_path) or keep {token_file}"
    )


def ansible_playbook(
    repo: Path,
    token: str,
    scratch: Path,
    progress: Callable[[TaskResult], None] | None = None,
) -> PlaybookCall:
    """upgrade.yml of the rendered repo through ops.ansible, the join token in its environment."""

    def run(extravars: Mapping[str, Any]) -> PlaybookResult:
        from homelabeazy.ops.ansible import run_playbook  # noqa: PLC0415 - ansible-runner is heavy

        return run_playbook(
            repo / "ansible",
            "upgrade.yml",
            extravars=extravars,
            secret_env={TOKEN_ENV: token},
            progress=progress,
            scratch=scratch,
        )

    return run
