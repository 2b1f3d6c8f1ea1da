"""Velero: scheduled backups of resources and volumes to S3-compatible storage."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.effective import Effective, command_line, containers, mounted_at, pod_spec
from homelabeazy.desired.needs import Clients, FlowNeed, need_from_url
from homelabeazy.desired.outcomes import Breach, Outcome, confined, flag_values, runs
from homelabeazy.desired.selectors import as_list, as_map, dig
from homelabeazy.desired.state import DesiredState
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.service import (
    ChartPin,
    MetricsSpec,
    OutsideName,
    OwnedValue,
    SecretSpec,
    ServiceEntry,
    secret_name,
)
from homelabeazy.model.velero_bucket import s3_endpoint

CHART = ChartPin("https://vmware-tanzu.github.io/helm-charts", "velero", "12.1.0")
S3_PATH = "velero/s3"
"""The Vault path of the bucket's keys."""
LOCATION = "default"
"""The BackupStorageLocation the chart makes from the target, which every Schedule names."""
PLUGIN_IMAGE = "velero/velero-plugin-for-aws"
"""The object store plugin an init container installs (the location's provider is `aws`)."""


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
                S3_PATH,
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


# ---------------------------------------------------------------------------------- outcomes

SERVER = "velero"
NODE_AGENT = "node-agent"
CREDENTIALS_DIR = "/credentials"


def _location_is_the_target(homelab: Homelab) -> Callable[[Effective], Iterator[Breach]]:
    """The chart makes the one BackupStorageLocation every Schedule writes to: the target's bucket."""
    target = homelab.config.services.velero.target

    def test(view: Effective) -> Iterator[Breach]:
        found = view.named("BackupStorageLocation", LOCATION)
        if not found:
            yield Breach(f"there is no BackupStorageLocation {LOCATION}: no backup is written anywhere")
        if target is None:
            return
        wanted = {
            "bucket": target.bucket,
            "prefix": target.prefix or None,
            "s3Url": target.s3_url,
        }
        for location in found:
            spec = as_map(location.doc.get("spec"))
            have = {
                "bucket": dig(spec, "objectStorage", "bucket"),
                "prefix": dig(spec, "objectStorage", "prefix") or None,
                "s3Url": dig(spec, "config", "s3Url"),
            }
            for key, value in wanted.items():
                if have[key] != value:
                    yield Breach(
                        f"BackupStorageLocation {LOCATION} has {key} {have[key]!r}, not {value!r}", location
                    )
            if str(spec.get("accessMode", "ReadWrite")) != "ReadWrite":
                yield Breach(
                    f"BackupStorageLocation {LOCATION} is {spec.get('accessMode')}: nothing is written",
                    location,
                )
            if spec.get("credential"):
                yield Breach(
                    f"BackupStorageLocation {LOCATION} reads credentials from {spec['credential']}", location
                )
        for deployment in view.named("Deployment", SERVER):
            for container in containers(deployment, init=False):
                for value in flag_values(command_line(container), "default-backup-storage-location"):
                    if value != LOCATION:
                        yield Breach(f"velero server writes to location {value} by default", deployment)

    return test


def _credentials_from_vault(secret: str) -> Callable[[Effective], Iterator[Breach]]:
    """The server (and the node agents) read the bucket keys from the Secret synced from Vault."""

    def test(view: Effective) -> Iterator[Breach]:
        for kind, name in (("Deployment", SERVER), ("DaemonSet", NODE_AGENT)):
            for obj in view.named(kind, name):
                volume = mounted_at(obj, CREDENTIALS_DIR)
                volumes = {
                    str(as_map(v).get("name")): as_map(v) for v in as_list(pod_spec(obj).get("volumes"))
                }
                source = dig(volumes.get(volume or "", {}), "secret", "secretName")
                if source != secret:
                    yield Breach(f"{kind} {name} mounts {source or 'no Secret'} at {CREDENTIALS_DIR}", obj)

    return test


def _aws_plugin(view: Effective) -> Iterator[Breach]:
    """An init container installs the S3 plugin the location's provider `aws` needs."""
    for deployment in view.named("Deployment", SERVER):
        images = [str(c.get("image", "")) for c in as_list(pod_spec(deployment).get("initContainers"))]
        if not any(image.split(":")[0].split("@")[0].endswith(PLUGIN_IMAGE) for image in images):
            yield Breach("no init container installs the velero-plugin-for-aws", deployment)


def _node_agent_follows_config(wanted: bool) -> Callable[[Effective], Iterator[Breach]]:
    def test(view: Effective) -> Iterator[Breach]:
        found = view.named("DaemonSet", NODE_AGENT)
        if wanted and not found:
            yield Breach(f"there is no DaemonSet {NODE_AGENT}: volumes are not backed up")
        if not wanted:
            yield from (
                Breach(f"DaemonSet {NODE_AGENT} runs although volume_backup is off", o) for o in found
            )

    return test


def outcomes(homelab: Homelab) -> Iterator[Outcome]:
    """Backups land in services.velero.target's bucket, with the keys kept in Vault."""
    config = homelab.config.services.velero
    credentials = secret_name(next(s for s in entry(homelab.config).secrets if s.path == S3_PATH))
    yield Outcome(
        f"Velero writes every backup to BackupStorageLocation {LOCATION}, the bucket of "
        "services.velero.target",
        _location_is_the_target(homelab),
    )
    yield Outcome(
        f"Velero reads the bucket keys from Secret {credentials}, synced from Vault",
        _credentials_from_vault(credentials),
    )
    yield Outcome("Velero has the S3 (aws) object store plugin", _aws_plugin)
    yield Outcome(
        f"file-system backup of volumes is {'on' if config.volume_backup else 'off'}, as "
        "services.velero.volume_backup says",
        _node_agent_follows_config(config.volume_backup),
    )
    yield runs("Deployment", SERVER, what="the Velero server")
    yield confined()
