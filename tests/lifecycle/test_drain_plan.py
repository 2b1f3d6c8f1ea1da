"""Drains planned against PodDisruptionBudgets (lifecycle/drain_plan.py): the budgets Vault's chart
renders (maxUnavailable 1 for 3 replicas, 0 for one), the Eviction API's other refusals, what drain
skips, and the waits between nodes. Budgets and pods are the API's own JSON shapes."""

from __future__ import annotations

from typing import Any

import pytest

from homelabeazy.lifecycle.drain_plan import (
    BudgetFact,
    DrainPlan,
    NodeDrain,
    PodFact,
    batches,
    budget_facts,
    drain_waits,
    plan_drains,
    pod_facts,
    sealed_vault_pods,
)
from homelabeazy.model import Homelab

NODES = ("k3s-server-1", "k3s-server-2", "k3s-server-3", "k3s-agent-1", "k3s-agent-2")
VAULT_LABELS = {
    "app.kubernetes.io/name": "vault",
    "app.kubernetes.io/instance": "vault",
    "component": "server",
}


def pod(
    name: str,
    node: str,
    *,
    namespace: str = "vault",
    labels: dict[str, str] | None = None,
    ready: bool = True,
    phase: str = "Running",
    owner: str = "StatefulSet",
    mirror: bool = False,
) -> dict[str, Any]:
    """A Pod as GET /api/v1/pods lists it."""
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": VAULT_LABELS if labels is None else labels,
        "ownerReferences": [{"kind": owner, "name": "x", "controller": True}] if owner else [],
    }
    if mirror:
        meta["annotations"] = {"kubernetes.io/config.mirror": "abc"}
    return {
        "metadata": meta,
        "spec": {"nodeName": node},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def budget(
    name: str = "vault",
    *,
    namespace: str = "vault",
    selector: dict[str, Any] | None = None,
    max_unavailable: int | str | None = 1,
    status: tuple[int, int, int, int] | None = (1, 3, 2, 3),
    policy: str | None = None,
) -> dict[str, Any]:
    """A PodDisruptionBudget; status is (disruptionsAllowed, currentHealthy, desiredHealthy, expectedPods)."""
    spec: dict[str, Any] = {"selector": {"matchLabels": VAULT_LABELS} if selector is None else selector}
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    if policy:
        spec["unhealthyPodEvictionPolicy"] = policy
    doc: dict[str, Any] = {"metadata": {"name": name, "namespace": namespace, "generation": 1}, "spec": spec}
    if status is not None:
        allowed, current, desired, expected = status
        doc["status"] = {
            "observedGeneration": 1,
            "disruptionsAllowed": allowed,
            "currentHealthy": current,
            "desiredHealthy": desired,
            "expectedPods": expected,
        }
    return doc


def three_vaults(*, ready: tuple[bool, bool, bool] = (True, True, True)) -> list[dict[str, Any]]:
    return [
        pod(f"vault-{i}", node, ready=ok)
        for i, (node, ok) in enumerate(
            zip(("k3s-server-1", "k3s-server-3", "k3s-agent-1"), ready, strict=True)
        )
    ]


def plan(
    homelab: Homelab, pods: list[dict[str, Any]], budgets: list[dict[str, Any]], **kwargs: Any
) -> DrainPlan:
    return plan_drains(homelab, NODES, pod_facts(pods), budget_facts(budgets), **kwargs)


def test_three_vault_replicas_drain_one_at_a_time(example_homelab: Homelab) -> None:
    """The chart's budget for 3 replicas (maxUnavailable 1): every drain can succeed, and a run of
    the playbook ends after each node that runs a Vault pod (it comes back sealed)."""
    drains = plan(example_homelab, three_vaults(), [budget()])
    assert drains.blockers == ()
    by_node = {n.name: n for n in drains.nodes}
    assert by_node["k3s-server-1"].guarded == (("vault/vault", "vault/vault-0"),)
    assert by_node["k3s-server-1"].comes_back_sealed == ("vault/vault-0",)
    assert by_node["k3s-server-2"] == NodeDrain("k3s-server-2")
    assert batches(drains) == [
        ("k3s-server-1",),
        ("k3s-server-2", "k3s-server-3"),
        ("k3s-agent-1",),
        ("k3s-agent-2",),
    ]


def test_one_vault_replica_can_never_be_drained(example_homelab: Homelab) -> None:
    """replicas: 1 -> the chart's budget says maxUnavailable 0: its node can never be drained, and
    that is known before the first node, with the fix."""
    drains = plan(
        example_homelab,
        [pod("vault-0", "k3s-agent-1")],
        [budget(max_unavailable=0, status=(0, 1, 1, 1))],
    )
    assert [b.text() for b in drains.blockers] == [
        "node k3s-agent-1 can never be drained: budget vault/vault allows no disruption even with every "
        "pod healthy, and vault/vault-0 runs there; Vault runs one replica, so its budget vault/vault allows "
        "no eviction: set services.vault.replicas: 3 (render, commit, let ArgoCD sync, `homelab secrets "
        "unseal`), or pass --accept-downtime to delete the pod before the drain (Vault is down until the "
        "node is back and it is unsealed)"
    ]


def test_accepted_downtime_deletes_the_pod_before_its_drain(example_homelab: Homelab) -> None:
    drains = plan(
        example_homelab,
        [pod("vault-0", "k3s-agent-1")],
        [budget(max_unavailable=0, status=(0, 1, 1, 1))],
        accept_downtime=True,
    )
    assert drains.blockers == ()
    agent = next(n for n in drains.nodes if n.name == "k3s-agent-1")
    assert agent.delete_first == ("vault/vault-0",)
    assert drains.downtime == ("vault/vault-0 is deleted before k3s-agent-1 drains (budget vault/vault)",)


@pytest.mark.parametrize(
    ("spec", "expected", "blocked"),
    [
        ({"maxUnavailable": 0}, 2, True),
        ({"maxUnavailable": "0%"}, 2, True),
        ({"maxUnavailable": 1}, 2, False),
        ({"maxUnavailable": "50%"}, 2, False),  # rounds up: 1
        ({"minAvailable": 2}, 2, True),
        ({"minAvailable": "100%"}, 2, True),
        ({"minAvailable": 1}, 2, False),
        ({"minAvailable": "51%"}, 2, True),  # rounds up: 2 of 2
        ({"minAvailable": "50%"}, 2, False),
    ],
)
def test_a_budget_not_yet_observed_is_judged_from_its_spec(
    example_homelab: Homelab, spec: dict[str, Any], expected: int, blocked: bool
) -> None:
    """Without a status (the controller has not run), the budget's own numbers decide."""
    labels = {"app": "web"}
    pods = [
        pod(
            f"web-{i}",
            "k3s-agent-1" if i == 0 else "k3s-agent-2",
            namespace="apps",
            labels=labels,
            owner="ReplicaSet",
        )
        for i in range(expected)
    ]
    doc = budget("web", namespace="apps", selector={"matchLabels": labels}, max_unavailable=None, status=None)
    doc["spec"].update(spec)
    assert bool(plan(example_homelab, pods, [doc]).blockers) is blocked


def test_a_pod_under_two_budgets_is_refused_by_the_eviction_api(example_homelab: Homelab) -> None:
    drains = plan(example_homelab, three_vaults(), [budget(), budget("vault-extra", selector={})])
    assert {b.node for b in drains.blockers} == {"k3s-server-1", "k3s-server-3", "k3s-agent-1"}
    assert "guarded by more than one budget (vault/vault and vault/vault-extra)" in drains.blockers[0].reason
    assert not any(b.deletable for b in drains.blockers)


def test_what_drain_skips_or_the_api_lets_go(example_homelab: Homelab) -> None:
    """DaemonSet and mirror pods stay; pending and finished pods ignore budgets; a null selector
    guards nothing; an unready pod under AlwaysAllow goes whatever the budget says."""
    strict = budget(max_unavailable=0, status=(0, 1, 1, 1))
    pods = [
        pod("ds", "k3s-agent-1", owner="DaemonSet"),
        pod("kube-vip", "k3s-agent-1", mirror=True, owner=""),
        pod("pending", "k3s-agent-1", phase="Pending"),
        pod("done", "k3s-agent-1", phase="Succeeded"),
    ]
    assert plan(example_homelab, pods, [strict]).blockers == ()
    nothing = budget(max_unavailable=0, status=(0, 1, 1, 1))
    nothing["spec"]["selector"] = None
    assert plan(example_homelab, [pod("vault-0", "k3s-agent-1")], [nothing]).blockers == ()
    sealed = [pod("vault-0", "k3s-agent-1", ready=False)]
    assert plan(example_homelab, sealed, [budget(max_unavailable=0, status=(0, 0, 1, 1))]).blockers != ()
    always = budget(max_unavailable=0, status=(0, 0, 1, 1), policy="AlwaysAllow")
    assert plan(example_homelab, sealed, [always]).blockers == ()


def test_nodes_already_upgraded_plan_nothing(example_homelab: Homelab) -> None:
    drains = plan(
        example_homelab,
        [pod("vault-0", "k3s-agent-1")],
        [budget(max_unavailable=0, status=(0, 1, 1, 1))],
        upgrading={"k3s-server-1"},
        cordoned={"k3s-server-2"},
    )
    assert drains.blockers == ()
    assert batches(drains) == [
        ("k3s-server-1", "k3s-server-2"),
        ("k3s-server-3", "k3s-agent-1", "k3s-agent-2"),
    ]


def test_a_sealed_vault_pod_holds_the_next_vault_drain(example_homelab: Homelab) -> None:
    """vault-0 restarted sealed (unready): 2 of 3 healthy, 2 needed -> no eviction of vault-1 now."""
    pods = pod_facts(three_vaults(ready=(False, True, True)))
    budgets = budget_facts([budget(status=(0, 2, 2, 3))])
    server_3 = plan_drains(example_homelab, ["k3s-server-3"], pods, budgets).nodes[0]
    assert drain_waits(server_3, pods, budgets) == [
        "budget vault/vault allows no disruption now (2 of 3 pods healthy, 2 needed), so vault/vault-1 on "
        "k3s-server-3 cannot be evicted"
    ]
    assert [p.ref for p in sealed_vault_pods(example_homelab, pods)] == ["vault/vault-0"]
    healthy = budget_facts([budget()])
    assert drain_waits(server_3, pod_facts(three_vaults()), healthy) == []


def test_facts_from_api_objects() -> None:
    [fact] = pod_facts([pod("vault-1", "k3s-server-3", ready=False)])
    assert fact == PodFact("vault", "vault-1", "k3s-server-3", VAULT_LABELS, "Running", False, "StatefulSet")
    [observed] = budget_facts([budget()])
    assert (observed.disruptions_allowed, observed.expected_pods, observed.observed) == (1, 3, True)
    stale = budget()
    stale["metadata"]["generation"] = 2
    [old] = budget_facts([stale])
    assert old.observed is False
    assert isinstance(old, BudgetFact)
