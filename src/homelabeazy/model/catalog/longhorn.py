"""Longhorn: replicated block storage across agents, UI behind SSO."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.made import labelled_pod
from homelabeazy.desired.selectors import as_list, as_map, dig
from homelabeazy.desired.state import DesiredObject, DesiredState
from homelabeazy.model.service import ChartPin, OwnedValue, RouteSpec, ServiceEntry

CHART = ChartPin("https://charts.longhorn.io", "longhorn", "1.10.1")


OWNED_VALUES: tuple[OwnedValue, ...] = (
    OwnedValue(("persistence", "defaultClass"), "stateful services' volumes use the default StorageClass"),
    OwnedValue(
        ("persistence", "defaultClassReplicaCount"),
        "it has its own key",
        "set it through services.longhorn.replicas instead",
    ),
    OwnedValue(
        ("defaultSettings", "defaultReplicaCount"),
        "it has its own key",
        "set it through services.longhorn.replicas instead",
    ),
    OwnedValue(("preUpgradeChecker", "jobEnabled"), "its Helm hook Job is one ArgoCD cannot order"),
)
"""Chart values the homelab depends on: `services.longhorn.values` may not set them."""


def entry(config: HomelabConfig) -> ServiceEntry:
    """Storage comes early so stateful services get replicated volumes from the start."""
    return ServiceEntry(
        name="longhorn",
        title="Longhorn",
        namespace="longhorn-system",
        chart=CHART,
        owned_values=OWNED_VALUES,
        crd_groups=("longhorn.io",),
        description="Replicated volumes",
        routes=(RouteSpec(config.services.longhorn.host, "longhorn-frontend", 80, "group", ("admins",)),),
        creates=manager_pods,
    )


MANAGER_LABELS = {
    "longhorn.io/admission-webhook": "longhorn-admission-webhook",
    "longhorn.io/recovery-backend": "longhorn-recovery-backend",
}
"""Labels longhorn-manager puts on its own pod once its admission webhook and recovery backend
serve; the chart's `longhorn-admission-webhook` and `longhorn-recovery-backend` Services select them."""


def manager_pods(state: DesiredState) -> Iterator[DesiredObject]:
    """The longhorn-manager DaemonSet's pods as they run (self-labelled)."""
    for daemonset in state.of_kind("DaemonSet", "apps"):
        names = [
            as_map(c).get("name")
            for c in as_list(dig(daemonset.doc, "spec", "template", "spec", "containers"))
        ]
        if "longhorn-manager" in names:
            yield labelled_pod(daemonset, "running", MANAGER_LABELS)
