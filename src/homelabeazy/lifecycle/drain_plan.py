"""`homelab upgrade k3s`: each node's drain planned against the PodDisruptionBudgets, before it starts.

`kubectl drain` evicts a node's pods through the Eviction API, which refuses (HTTP 429) an eviction
that would leave a PodDisruptionBudget with fewer healthy pods than it wants; kubectl retries until
its `--timeout` and the upgrade stops there with the node cordoned. Two things make that certain
rather than bad luck, and both are visible before the first node is touched:

- a budget that allows no disruption even with every pod healthy (Vault's chart gives
  `maxUnavailable: 0` to a single replica): the node running such a pod can never be drained;
- a pod that covers more than one budget: the Eviction API refuses it outright.

And one thing happens between nodes: a pod that comes back unready after its eviction blocks the
next drain of its budget until it is ready again. Vault is the one this homelab knows: a restarted
Vault server starts sealed, its readiness probe (`vault status`) fails, and with three replicas and
`maxUnavailable: 1` the next node running a Vault pod cannot be drained until it is unsealed.

Everything here is a pure function of facts read through the Kubernetes API (pods, budgets); the
Eviction API's rules are Kubernetes' `pkg/registry/core/pod/storage/eviction.go`: terminal, pending
or deleting pods ignore budgets; an unready pod may go when the budget is whole (policy
`IfHealthyBudget`, the default) or always (`AlwaysAllow`); a ready one only while
`disruptionsAllowed` > 0.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from homelabeazy.desired.selectors import as_list, as_map, dig, labels_match
from homelabeazy.model import Homelab
from homelabeazy.model.catalog import vault as vault_catalog

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
"""Static pods' mirrors carry it; drain skips them (kube-vip is one)."""


@dataclass(frozen=True)
class PodFact:
    """One pod as the Kubernetes API reports it (GET /api/v1/pods)."""

    namespace: str
    name: str
    node: str
    labels: Mapping[str, str]
    phase: str
    ready: bool
    owner: str = ""
    """The controller's kind (`StatefulSet`, `ReplicaSet`, `DaemonSet`, …), empty without one."""
    mirror: bool = False
    deleting: bool = False

    @property
    def ref(self) -> str:
        """`namespace/name`."""
        return f"{self.namespace}/{self.name}"

    @property
    def drained(self) -> bool:
        """Whether `kubectl drain --ignore-daemonsets` evicts it (mirror and DaemonSet pods stay)."""
        return not self.mirror and self.owner != "DaemonSet"

    @property
    def guarded(self) -> bool:
        """Whether its eviction is held against a budget (running and not already being deleted)."""
        return self.phase == "Running" and not self.deleting


@dataclass(frozen=True)
class BudgetFact:
    """One PodDisruptionBudget (GET /apis/policy/v1/poddisruptionbudgets)."""

    namespace: str
    name: str
    selector: Mapping[str, Any] | None
    """The label selector; None selects no pod, an empty one every pod of the namespace."""
    disruptions_allowed: int
    current_healthy: int
    desired_healthy: int
    expected_pods: int
    observed: bool
    """The disruption controller has computed the status for the current spec."""
    max_unavailable: int | str | None = None
    min_available: int | str | None = None
    always_allow_unhealthy: bool = False
    """`unhealthyPodEvictionPolicy: AlwaysAllow`."""

    @property
    def ref(self) -> str:
        """`namespace/name`."""
        return f"{self.namespace}/{self.name}"

    def covers(self, pod: PodFact) -> bool:
        """Whether the budget guards `pod` (same namespace, selector matches)."""
        return (
            pod.namespace == self.namespace
            and self.selector is not None
            and labels_match(self.selector, pod.labels)
        )

    def whole_allowance(self, pods: Sequence[PodFact]) -> int:
        """Disruptions the budget allows with every one of its pods healthy (its best case)."""
        expected = self.expected_pods if self.observed else sum(1 for p in pods if self.covers(p))
        return expected - self._desired(expected)

    def _desired(self, expected: int) -> int:
        if self.observed:
            return self.desired_healthy
        if self.max_unavailable is not None:
            return expected - _scaled(self.max_unavailable, expected)
        if self.min_available is not None:
            return _scaled(self.min_available, expected)
        return expected


def _scaled(value: int | str, total: int) -> int:
    """An int, or a percentage of `total` rounded up (as the disruption controller rounds)."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%"):
        return math.ceil(int(text[:-1]) * total / 100)
    return int(text)


def pod_facts(items: Sequence[Mapping[str, Any]]) -> tuple[PodFact, ...]:
    """PodFacts from the API's Pod objects."""
    facts = []
    for item in items:
        meta = as_map(item.get("metadata"))
        owners = [o for o in as_list(meta.get("ownerReferences")) if as_map(o).get("controller")]
        conditions = as_list(dig(item, "status", "conditions"))
        facts.append(
            PodFact(
                namespace=str(meta.get("namespace", "")),
                name=str(meta.get("name", "")),
                node=str(dig(item, "spec", "nodeName") or ""),
                labels={str(k): str(v) for k, v in as_map(meta.get("labels")).items()},
                phase=str(dig(item, "status", "phase") or ""),
                ready=any(
                    as_map(c).get("type") == "Ready" and as_map(c).get("status") == "True" for c in conditions
                ),
                owner=str(as_map(owners[0]).get("kind", "")) if owners else "",
                mirror=MIRROR_ANNOTATION in as_map(meta.get("annotations")),
                deleting=bool(meta.get("deletionTimestamp")),
            )
        )
    return tuple(sorted(facts, key=lambda p: (p.node, p.namespace, p.name)))


def budget_facts(items: Sequence[Mapping[str, Any]]) -> tuple[BudgetFact, ...]:
    """BudgetFacts from the API's PodDisruptionBudget objects."""
    facts = []
    for item in items:
        meta, spec = as_map(item.get("metadata")), as_map(item.get("spec"))
        status = as_map(item.get("status"))
        selector = spec.get("selector")
        observed = bool(status) and int(status.get("observedGeneration", 0)) >= int(meta.get("generation", 0))
        facts.append(
            BudgetFact(
                namespace=str(meta.get("namespace", "")),
                name=str(meta.get("name", "")),
                selector=as_map(selector) if isinstance(selector, Mapping) else None,
                disruptions_allowed=int(status.get("disruptionsAllowed", 0)),
                current_healthy=int(status.get("currentHealthy", 0)),
                desired_healthy=int(status.get("desiredHealthy", 0)),
                expected_pods=int(status.get("expectedPods", 0)),
                observed=observed,
                max_unavailable=spec.get("maxUnavailable"),
                min_available=spec.get("minAvailable"),
                always_allow_unhealthy=spec.get("unhealthyPodEvictionPolicy") == "AlwaysAllow",
            )
        )
    return tuple(sorted(facts, key=lambda b: (b.namespace, b.name)))


@dataclass(frozen=True)
class Blocker:
    """A drain that can never succeed, and what to do about it."""

    node: str
    pod: str
    budget: str
    reason: str
    fix: str
    deletable: bool
    """`--accept-downtime` may delete the pod before the drain instead (one budget, no disruption allowed)."""

    def text(self) -> str:
        """One line for the refusal."""
        return f"node {self.node} can never be drained: {self.reason}; {self.fix}"


@dataclass(frozen=True)
class NodeDrain:
    """One node of the rolling upgrade, as planned."""

    name: str
    guarded: tuple[tuple[str, str], ...] = ()
    """(budget, pod) for every pod on the node whose eviction a budget holds."""
    delete_first: tuple[str, ...] = ()
    """Pods (`namespace/name`) deleted before the drain, bypassing their budget (`--accept-downtime`)."""
    comes_back_sealed: tuple[str, ...] = ()
    """Vault server pods on the node: evicted, they restart sealed and must be unsealed."""
    cordoned: bool = False
    """Left cordoned by an earlier run: its pods come back once the playbook uncordons it."""


@dataclass(frozen=True)
class DrainPlan:
    """The nodes in upgrade order, and the drains that can never succeed."""

    nodes: tuple[NodeDrain, ...]
    blockers: tuple[Blocker, ...] = ()
    downtime: tuple[str, ...] = field(default=())
    """What `--accept-downtime` costs, one line per pod deleted before its drain."""


def vault_namespace(homelab: Homelab) -> str | None:
    """Where the homelab's Vault runs, None when it has none."""
    for entry in homelab.services:
        if entry.name == "vault":
            return entry.namespace
    return None


def is_vault_server(homelab: Homelab, pod: PodFact) -> bool:
    """A Vault server pod of this homelab: it restarts sealed (vault_catalog.SERVER_LABELS)."""
    return pod.namespace == vault_namespace(homelab) and all(
        pod.labels.get(k) == v for k, v in vault_catalog.SERVER_LABELS.items()
    )


def _fix(homelab: Homelab, pod: PodFact, budget: BudgetFact) -> str:
    if is_vault_server(homelab, pod):
        return (
            f"Vault runs one replica, so its budget {budget.ref} allows no eviction: set "
            "services.vault.replicas: 3 (render, commit, let ArgoCD sync, `homelab secrets unseal`), "
            "or pass --accept-downtime to delete the pod before the drain (Vault is down until the "
            "node is back and it is unsealed)"
        )
    return (
        f"raise the replicas of {pod.ref}'s workload or allow its budget {budget.ref} a disruption "
        "(maxUnavailable ≥ 1), or pass --accept-downtime to delete the pod before the drain"
    )


def _blocker(
    homelab: Homelab, node: str, pod: PodFact, budgets: list[BudgetFact], pods: Sequence[PodFact]
) -> Blocker | None:
    if len(budgets) > 1:
        names = " and ".join(b.ref for b in budgets)
        return Blocker(
            node,
            pod.ref,
            names,
            f"pod {pod.ref} is guarded by more than one budget ({names}); the Eviction API refuses such pods",
            "delete one of the budgets",
            False,
        )
    budget = budgets[0]
    if budget.whole_allowance(pods) > 0:
        return None
    if not pod.ready and budget.always_allow_unhealthy:
        return None  # an unready pod goes whatever the budget says
    return Blocker(
        node,
        pod.ref,
        budget.ref,
        f"budget {budget.ref} allows no disruption even with every pod healthy, and {pod.ref} runs there",
        _fix(homelab, pod, budget),
        True,
    )


def plan_drains(
    homelab: Homelab,
    order: Sequence[str],
    pods: Sequence[PodFact],
    budgets: Sequence[BudgetFact],
    *,
    upgrading: Collection[str] | None = None,
    cordoned: Collection[str] = (),
    accept_downtime: bool = False,
) -> DrainPlan:
    """Every node in `order` planned against the budgets; drains that can never succeed are blockers
    (or, with `accept_downtime`, pods to delete before that drain). Nodes not `upgrading` (already
    at the release) are not drained and plan nothing."""
    nodes: list[NodeDrain] = []
    blockers: list[Blocker] = []
    downtime: list[str] = []
    for node in order:
        if upgrading is not None and node not in upgrading:
            nodes.append(NodeDrain(node, cordoned=node in cordoned))
            continue
        guarded: list[tuple[str, str]] = []
        delete_first: list[str] = []
        for pod in (p for p in pods if p.node == node and p.drained and p.guarded):
            covering = [b for b in budgets if b.covers(pod)]
            if not covering:
                continue
            guarded += [(b.ref, pod.ref) for b in covering]
            blocker = _blocker(homelab, node, pod, covering, pods)
            if blocker is None:
                continue
            if accept_downtime and blocker.deletable:
                delete_first.append(pod.ref)
                downtime.append(f"{pod.ref} is deleted before {node} drains (budget {blocker.budget})")
            else:
                blockers.append(blocker)
        sealed = tuple(p.ref for p in pods if p.node == node and p.guarded and is_vault_server(homelab, p))
        nodes.append(NodeDrain(node, tuple(guarded), tuple(delete_first), sealed, node in cordoned))
    return DrainPlan(tuple(nodes), tuple(blockers), tuple(downtime))


def batches(plan: DrainPlan) -> list[tuple[str, ...]]:
    """The nodes cut into playbook runs: a run ends after each node that drains a guarded pod (or
    is uncordoned, letting pods back), so the budgets (and Vault's seal) are checked again before
    the next drain."""
    runs: list[tuple[str, ...]] = []
    current: list[str] = []
    for node in plan.nodes:
        current.append(node.name)
        if node.guarded or node.comes_back_sealed or node.delete_first or node.cordoned:
            runs.append(tuple(current))
            current = []
    if current:
        runs.append(tuple(current))
    return runs


def drain_waits(node: NodeDrain, pods: Sequence[PodFact], budgets: Sequence[BudgetFact]) -> list[str]:
    """Why `node`'s drain would be refused right now (budgets short of healthy pods), or nothing."""
    waits = []
    by_ref = {b.ref: b for b in budgets}
    ready = {p.ref: p.ready for p in pods}
    for budget_ref, pod_ref in node.guarded:
        budget = by_ref.get(budget_ref)
        if budget is None or pod_ref in node.delete_first:
            continue
        if ready.get(pod_ref, False) and budget.disruptions_allowed < 1:
            waits.append(
                f"budget {budget_ref} allows no disruption now ({budget.current_healthy} of "
                f"{budget.expected_pods} pods healthy, {budget.desired_healthy} needed), so {pod_ref} "
                f"on {node.name} cannot be evicted"
            )
    return sorted(set(waits))


def sealed_vault_pods(homelab: Homelab, pods: Sequence[PodFact]) -> list[PodFact]:
    """Vault server pods running but not ready: sealed (the chart's readiness probe is `vault status`)."""
    return [p for p in pods if is_vault_server(homelab, p) and p.phase == "Running" and not p.ready]


def pending_vault_pods(homelab: Homelab, pods: Sequence[PodFact]) -> list[PodFact]:
    """Vault server pods not running yet (scheduled back once their node is uncordoned)."""
    return [p for p in pods if is_vault_server(homelab, p) and p.phase != "Running" and not p.deleting]
