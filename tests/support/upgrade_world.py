"""The cluster around `homelab upgrade k3s`, played on the fake Kubernetes API for the stand-in hosts.

What a real cluster's controllers would report and do, and nothing more:
- the kubelets: each node reports the K3s release its host's binary has (`version_of`), Ready unless
  the test broke it for a release (`broken`); each Vault pod is Ready when its OpenBao member is
  unsealed (the chart's readiness probe is `vault status`);
- the StatefulSet controller and scheduler: an evicted or deleted Vault pod is re-created Pending,
  its member stopped; it runs again (member restarted, so sealed) once its node is schedulable,
  since a local-path volume binds it to that node;
- the disruption controller: the Vault chart's budget (`maxUnavailable`: 1 for three replicas, 0 for
  one) with its status computed from the pods;
- a DaemonSet pod on every node, which drain leaves alone (and warns about).
The Eviction API itself is the fake's (tests/support/fake_eviction.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.support.fake_kube import FakeKube
from tests.support.vault_members import Member

VAULT_LABELS = {
    "app.kubernetes.io/name": "vault",
    "app.kubernetes.io/instance": "vault",
    "component": "server",
}
PODS = "/api/v1/namespaces/{namespace}/pods"


def _condition(ready: bool) -> list[dict[str, str]]:
    return [{"type": "Ready", "status": "True" if ready else "False"}]


@dataclass
class UpgradeWorld:
    """Nodes, Vault pods on them (real OpenBao members), the budget, and the controllers' hooks."""

    kube: FakeKube
    nodes: tuple[str, ...]
    version_of: Callable[[str], str]
    members: Mapping[str, Member]
    placement: dict[str, str]
    """Vault pod -> the node its volume binds it to."""
    max_unavailable: int = 1
    broken: dict[str, str] = field(default_factory=dict)
    """node -> the release on which its kubelet never becomes Ready."""
    lock: threading.RLock = field(default_factory=threading.RLock)

    def install(self) -> None:
        for node in self.nodes:
            self.kube.put("/api/v1/nodes", {"metadata": {"name": node}, "spec": {}, "status": {}})
            self.kube.put(
                PODS.format(namespace="logging"),
                {
                    "metadata": {
                        "name": f"fluentd-{node}",
                        "namespace": "logging",
                        "labels": {"app": "fluentd"},
                        "ownerReferences": [{"kind": "DaemonSet", "name": "fluentd", "controller": True}],
                    },
                    "spec": {"nodeName": node},
                    "status": {"phase": "Running", "conditions": _condition(True)},
                },
            )
        for pod, node in self.placement.items():
            self.kube.put(PODS.format(namespace="vault"), self._vault_pod(pod, node, "Running"))
        self.reset_budget()
        self.kube.before_request.append(self.refresh)
        self.kube.on_delete.append(self.deleted)
        self.refresh("GET", "/")

    def reset_budget(self) -> None:
        self.kube.put(
            "/apis/policy/v1/namespaces/vault/poddisruptionbudgets",
            {
                "metadata": {"name": "vault", "namespace": "vault", "generation": 1},
                "spec": {"maxUnavailable": self.max_unavailable, "selector": {"matchLabels": VAULT_LABELS}},
            },
        )

    def _vault_pod(self, pod: str, node: str, phase: str) -> dict[str, Any]:
        return {
            "metadata": {
                "name": pod,
                "namespace": "vault",
                "labels": VAULT_LABELS,
                "ownerReferences": [{"kind": "StatefulSet", "name": "vault", "controller": True}],
            },
            "spec": {"nodeName": node} if phase == "Running" else {},
            "status": {"phase": phase, "conditions": _condition(False)},
        }

    def deleted(self, path: str, obj: dict[str, Any]) -> None:
        """The StatefulSet re-creates an evicted Vault pod at once; it waits Pending for its node."""
        name = obj["metadata"]["name"]
        if obj["metadata"].get("namespace") != "vault" or name not in self.placement:
            return
        with self.lock:
            self.members[name].stop()
            self.kube.objects[path] = self._vault_pod(name, self.placement[name], "Pending")

    def refresh(self, _method: str, _path: str) -> None:
        """What the kubelets, the scheduler and the disruption controller report now."""
        with self.lock:
            for node in self.nodes:
                current = self.kube.objects[f"/api/v1/nodes/{node}"]
                version = self.version_of(node)
                ready = self.broken.get(node) != version
                current["status"] = {"conditions": _condition(ready), "nodeInfo": {"kubeletVersion": version}}
            for pod, node in self.placement.items():
                path = f"{PODS.format(namespace='vault')}/{pod}"
                found = self.kube.objects.get(path)
                if found is None:
                    continue
                schedulable = not self.kube.objects[f"/api/v1/nodes/{node}"]["spec"].get("unschedulable")
                if found["status"]["phase"] == "Pending" and schedulable:
                    self.members[pod].start()  # a restarted Vault server: sealed
                    found.update(self._vault_pod(pod, node, "Running"))
                if found["status"]["phase"] == "Running":
                    found["status"]["conditions"] = _condition(not self.members[pod].sealed())
            self._budget_status()

    def _budget_status(self) -> None:
        budget = self.kube.objects["/apis/policy/v1/namespaces/vault/poddisruptionbudgets/vault"]
        pods = [self.kube.objects.get(f"{PODS.format(namespace='vault')}/{pod}") for pod in self.placement]
        expected = len(self.placement)
        healthy = sum(
            1
            for pod in pods
            if pod
            and pod["status"]["phase"] == "Running"
            and pod["status"]["conditions"][0]["status"] == "True"
        )
        desired = expected - int(budget["spec"]["maxUnavailable"])
        budget["status"] = {
            "observedGeneration": 1,
            "disruptionsAllowed": max(0, healthy - desired),
            "currentHealthy": healthy,
            "desiredHealthy": desired,
            "expectedPods": expected,
        }
