"""Velero: scheduled backups of resources and volumes to S3-compatible storage."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.needs import Clients, FlowNeed, need_from_url
from homelabeazy.desired.state import DesiredState
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.service import ChartPin, MetricsSpec, OutsideName, OwnedValue, SecretSpec, ServiceEntry
from homelabeazy.model.velero_bucket import s3_endpoint

CHART = ChartPin("https://vmware-tanzu.github.io/helm-charts", "velero", "12.1.0")


OWNED_VALUES: tuple[OwnedValue, ...] = (
    OwnedValue(
        ("configuration", "backupStorageLocation"),
        "it has its own key",
        "set it through services.velero.target instead",
    ),
    OwnedValue(("credentials",), "the bucket keys are the ones kept in Vault (`velero-s3`)"),
    OwnedValue(("initContainers",), "they install the S3 object store plugin Velero writes backups with"),
    OwnedValue(
        ("deployNodeAgent",),
        "it has its own key",
        "set it through services.velero.volume_backup instead",
    ),
    OwnedValue(
        ("configuration", "defaultVolumesToFsBackup"),
        "it has its own key",
        "set it through services.velero.volume_backup instead",
    ),
)
"""Chart values the homelab depends on: `services.velero.values` may not set them."""


def entry(config: HomelabConfig) -> ServiceEntry:
    """The bucket credentials are the user's, so they are external: seeded by hand, checked by status."""
    target = config.services.velero.target
    reaches: tuple[OutsideName, ...] = ()
    if target is not None:
        host, port, path = s3_endpoint(target)
        reaches = (OutsideName(host, port, path, "Velero (server and node agents)"),)
    return ServiceEntry(
        name="velero",
        title="Velero",
        namespace="velero",
        chart=CHART,
        owned_values=OWNED_VALUES,
        crd_groups=("velero.io",),
        description="Backups of cluster resources and volumes",
        secrets=(
            SecretSpec(
                "velero/s3",
                ("access_key_id", "secret_access_key"),
                "velero",
                "credentials of the backup bucket",
                "external",
            ),
        ),
        depends_on=("external_secrets",),
        metrics=(MetricsSpec("server", (("app.kubernetes.io/name", "velero"),), "http-monitoring"),),
        reaches=reaches,
    )


SERVER_LABELS = {"app.kubernetes.io/name": "velero"}
"""The Velero server and its node agents: both write to the bucket (the agents upload file-system
backups of volumes themselves)."""


def flow_needs(state: DesiredState, homelab: Homelab) -> Iterator[FlowNeed]:
    """Velero writes to every BackupStorageLocation's S3 URL."""
    clients = Clients(entry(homelab.config).namespace, SERVER_LABELS, "Velero (server and node agents)")
    for location in state.of_kind("BackupStorageLocation", "velero.io"):
        url = ((location.doc.get("spec") or {}).get("config") or {}).get("s3Url")
        if url:
            yield need_from_url(str(url), clients, "backups to S3", location)
