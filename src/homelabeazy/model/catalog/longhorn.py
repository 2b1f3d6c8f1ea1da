"""Longhorn: replicated block storage across agents, UI behind SSO."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.effective import Effective
from homelabeazy.desired.made import labelled_pod
from homelabeazy.desired.outcomes import Breach, Outcome, confined, runs
from homelabeazy.desired.selectors import as_list, as_map, dig
from homelabeazy.desired.state import DesiredObject, DesiredState
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.service import ChartPin, HostNeeds, OwnedValue, RouteSpec, ServiceEntry

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


HOST_NEEDS = HostNeeds(
    packages=("open-iscsi", "nfs-common", "cryptsetup", "dmsetup"),
    services=("iscsid.service",),
    kernel_modules=("iscsi_tcp", "dm_crypt", "nfs"),
)
"""Longhorn 1.10's installation requirements on Debian/Ubuntu nodes (longhorn.io/docs/1.10.1/deploy/
install; the RequiredPackages node condition; longhornctl v1.10.1 `install preflight` for apt):
- open-iscsi with iscsid running: the engine attaches every V1 volume through the host's
  `iscsiadm`; Debian only enables iscsid's socket, so the service is enabled and started
  explicitly, and `iscsi_tcp` is loaded before it (the docs ask for it, longhornctl does not);
- nfs-common (`mount.nfs`, NFSv4 client) for ReadWriteMany volumes and NFS backup targets;
- cryptsetup, dmsetup and `dm_crypt` for encrypted volumes;
- `nfs` loaded at boot, as longhornctl's installer loads it on apt systems (mount.nfs would load it
  on first use anyway).
The experimental V2 (SPDK) data engine needs more (hugepages, vfio_pci, nvme_tcp): not declared,
because the homelab does not turn it on."""


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
        creates=created_objects,
        host_needs=HOST_NEEDS,
        # Longhorn's class is the default one; K3s's local-path would be a second default, and K3s
        # re-annotates it as default on every restart, so it is not deployed at all.
        k3s_disable=("local-storage",),
    )


def created_objects(state: DesiredState) -> Iterator[DesiredObject]:
    """What longhorn-manager creates: its self-labelled pods and the `longhorn` StorageClass."""
    yield from manager_pods(state)
    yield from storage_classes(state)


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


STORAGECLASS_CONFIGMAP = "longhorn-storageclass"
"""The chart renders the default class as a ConfigMap (templates/storageclass.yaml); longhorn-manager
creates the StorageClass from its `storageclass.yaml` key."""


def storage_classes(state: DesiredState) -> Iterator[DesiredObject]:
    """The StorageClass longhorn-manager creates from the chart's `longhorn-storageclass` ConfigMap."""
    for config_map in state.of_kind("ConfigMap", ""):
        if config_map.name != STORAGECLASS_CONFIGMAP:
            continue
        doc = _storage_class(str(as_map(config_map.doc.get("data")).get("storageclass.yaml", "")))
        if doc is not None:
            yield replace(config_map, doc=doc, namespace=None)


def _storage_class(text: str) -> dict[str, Any] | None:
    import yaml  # noqa: PLC0415 - PyYAML only when the proof reads the class (fast start)

    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(loaded, dict) or loaded.get("kind") != "StorageClass":
        return None
    return loaded


# ---------------------------------------------------------------------------------- outcomes

DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


def _default_class(replicas: int) -> Callable[[Effective], Iterator[Breach]]:
    """The StorageClass Longhorn makes is the default one, with the configured replica count."""

    def test(view: Effective) -> Iterator[Breach]:
        found = view.named("ConfigMap", STORAGECLASS_CONFIGMAP)
        if not found:
            yield Breach(f"there is no ConfigMap {STORAGECLASS_CONFIGMAP}: Longhorn makes no StorageClass")
        for config_map in found:
            storage_class = as_map(
                _storage_class(str(as_map(config_map.doc.get("data")).get("storageclass.yaml", "")))
            )
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
