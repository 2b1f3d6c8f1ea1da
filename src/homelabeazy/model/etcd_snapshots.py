"""Where K3s's scheduled etcd snapshots go: decided once here, read by the renderer and the checks.

K3s takes the snapshots itself on every server (`etcd-snapshot-schedule-cron`, kept
`etcd-snapshot-retention` deep) and, with `etcd-s3`, uploads each one. The S3 target is Velero's:
same endpoint, region and keys, so a homelab has one backup store. Sharing Velero's bucket is
only safe when Velero's `prefix` is set: without one Velero owns the bucket's root and marks a
BackupStorageLocation whose bucket holds any other top-level folder Unavailable.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.velero_bucket import velero_clash

AWS_ENDPOINT = "s3.amazonaws.com"
"""K3s's default `etcd-s3-endpoint`: used when Velero's target has no `s3_url`."""


@dataclass(frozen=True)
class EtcdS3:
    """The S3 copy of the snapshots, as K3s's `etcd-s3-*` settings want it."""

    endpoint: str
    """host[:port], no scheme (K3s's form)."""
    insecure: bool
    """The endpoint is plain http (`etcd-s3-insecure`)."""
    bucket: str
    region: str
    folder: str
    retention: int
    """Snapshots of each server kept in S3 (`etcd-s3-retention`: K3s prunes per node name)."""


@dataclass(frozen=True)
class EtcdSnapshotPlan:
    """Schedule and retention of the local snapshots, and their S3 copy when there is one."""

    schedule: str
    retention: int
    s3: EtcdS3 | None


def s3_blocker(config: HomelabConfig) -> str | None:
    """Why the snapshots cannot go to Velero's S3 target, or None when they can."""
    velero = config.services.velero
    wanted = config.cluster.etcd_snapshots
    if not velero.enabled or velero.target is None:
        return "services.velero has no S3 target (the snapshots use Velero's endpoint, region and keys)"
    shared = wanted.bucket in (None, velero.target.bucket)
    clash = velero_clash(velero.target, wanted.folder) if shared else None
    if clash == "root":
        return (
            f"Velero owns the root of bucket {velero.target.bucket} (services.velero.target.prefix is empty) "
            "and marks its storage location Unavailable when another folder appears there"
        )
    if clash == "inside":
        return f"folder {wanted.folder} is Velero's prefix in bucket {velero.target.bucket}"
    return None


def plan(config: HomelabConfig) -> EtcdSnapshotPlan:
    """The snapshot plan: S3 on when asked for (checks refuse an impossible ask) or, unset, when safe."""
    wanted = config.cluster.etcd_snapshots
    target = config.services.velero.target
    use_s3 = wanted.s3 if wanted.s3 is not None else s3_blocker(config) is None
    s3 = None
    if use_s3 and target is not None and s3_blocker(config) is None:
        url = urlsplit(target.s3_url) if target.s3_url else None
        s3 = EtcdS3(
            endpoint=url.netloc if url else AWS_ENDPOINT,
            insecure=bool(url and url.scheme == "http"),
            bucket=wanted.bucket or target.bucket,
            region=target.region,
            folder=wanted.folder,
            retention=wanted.s3_retention or wanted.retention,
        )
    return EtcdSnapshotPlan(wanted.schedule, wanted.retention, s3)
