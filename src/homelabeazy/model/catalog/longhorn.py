"""Longhorn: replicated block storage across agents, UI behind SSO."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.effective import Effective
from homelabeazy.desired.made import labelled_pod
from homelabeazy.desired.outcomes import Breach, Outcome, confined, runs
from homelabeazy.desired.selectors import as_list, as_map, dig
from homelabeazy.desired.state import DesiredObject, DesiredState
from homelabeazy.model.homelab import Homelab
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


# ---------------------------------------------------------------------------------- outcomes

STORAGECLASS_CONFIGMAP = "longhorn-storageclass"
"""Longhorn's manager creates the StorageClass from this ConfigMap's `storageclass.yaml`."""
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


def _default_class(replicas: int) -> Callable[[Effective], Iterator[Breach]]:
    """The StorageClass Longhorn makes is the default one, with the configured replica count."""

    def test(view: Effective) -> Iterator[Breach]:
        import yaml  # noqa: PLC0415 - PyYAML only when the proof reads the class (fast start)

        found = view.named("ConfigMap", STORAGECLASS_CONFIGMAP)
        if not found:
            yield Breach(f"there is no ConfigMap {STORAGECLASS_CONFIGMAP}: Longhorn makes no StorageClass")
        for config_map in found:
            try:
                loaded = yaml.safe_load(str(as_map(config_map.doc.get("data")).get("storageclass.yaml", "")))
            except yaml.YAMLError:
                loaded = None
            storage_class = as_map(loaded)
            default = as_map(dig(storage_class, "metadata", "annotations")).get(DEFAULT_CLASS)
            if str(default) != "true":
                yield Breach("Longhorn's StorageClass is not the default one", config_map)
            count = as_map(storage_class.get("parameters")).get("numberOfReplicas")
            if str(count) != str(replicas):
                yield Breach(f"Longhorn's StorageClass keeps {count} replicas, not {replicas}", config_map)

    return test


def outcomes(homelab: Homelab) -> Iterator[Outcome]:
    """Stateful services' volumes are Longhorn's, replicated as services.longhorn.replicas says."""
    replicas = homelab.config.services.longhorn.replicas
    yield Outcome(
        f"volumes get Longhorn's StorageClass by default, with {replicas} replicas each",
        _default_class(replicas),
    )
    yield runs("DaemonSet", "longhorn-manager", what="Longhorn's manager")
    yield runs("Deployment", "longhorn-driver-deployer", what="Longhorn's CSI driver deployer")
    yield confined()
