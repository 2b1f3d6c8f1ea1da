"""The Eviction subresource of the fake Kubernetes API, as the API server decides it.

Written from Kubernetes' `pkg/registry/core/pod/storage/eviction.go` (not from homelabeazy's own
planner, which it exists to check): a pending, terminal or deleting pod goes without a budget; a
pod matched by more than one PodDisruptionBudget is refused (500); an unready pod goes when its
budget's policy is `AlwaysAllow`, or when the budget is whole (currentHealthy >= desiredHealthy > 0);
otherwise the eviction needs `status.disruptionsAllowed` > 0 (decremented), else 429. The budget
statuses are whatever the test's controllers last wrote (tests/support/upgrade_world.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.fake_kube import FakeKube

TOO_MANY = "Cannot evict pod as it would violate the pod's disruption budget."
MORE_THAN_ONE = (
    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
)


def _matches(selector: Any, labels: dict[str, str]) -> bool:
    if not isinstance(selector, dict):
        return False  # a null selector selects nothing
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if (
            (operator == "In" and not (present and labels[key] in values))
            or (operator == "NotIn" and present and labels[key] in values)
            or (operator == "Exists" and not present)
            or (operator == "DoesNotExist" and present)
        ):
            return False
    return True


def _ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def evict(state: FakeKube, pod_path: str) -> tuple[int, str]:
    """(HTTP status, message) for an eviction of the pod at `pod_path`; the pod is deleted on success."""
    pod = state.get(pod_path)
    if pod is None:
        return 404, f"{pod_path} not found"
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Pending", "Succeeded", "Failed") or pod["metadata"].get("deletionTimestamp"):
        state.delete(pod_path)
        return 201, ""
    namespace = pod["metadata"]["namespace"]
    labels = pod["metadata"].get("labels") or {}
    budgets = [
        b
        for b in state.collection(f"/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets")
        if _matches(b["spec"].get("selector"), labels)
    ]
    if len(budgets) > 1:
        return 500, MORE_THAN_ONE
    if budgets:
        budget = budgets[0]
        status = budget.setdefault("status", {})
        whole = status.get("currentHealthy", 0) >= status.get("desiredHealthy", 0) > 0
        if not _ready(pod) and (budget["spec"].get("unhealthyPodEvictionPolicy") == "AlwaysAllow" or whole):
            state.delete(pod_path)
            return 201, ""
        with state.lock:
            if status.get("disruptionsAllowed", 0) < 1:
                return 429, TOO_MANY
            status["disruptionsAllowed"] -= 1
    state.delete(pod_path)
    return 201, ""
