"""Semantic checks of `cluster.etcd_snapshots`."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.checks.base import Finding, check
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.etcd_snapshots import s3_blocker


@check("etcd-snapshots-s3")
def etcd_snapshots_can_reach_s3(config: HomelabConfig) -> Iterator[Finding]:
    """`cluster.etcd_snapshots.s3: true` needs Velero's S3 target and a folder Velero does not own."""
    if config.cluster.etcd_snapshots.s3 is not True:
        return
    blocker = s3_blocker(config)
    if blocker is not None:
        yield Finding(
            ("cluster", "etcd_snapshots", "s3"),
            f"etcd snapshots cannot go to S3: {blocker}",
            "set services.velero.target (with a prefix, e.g. `prefix: velero`), or "
            "cluster.etcd_snapshots.bucket to another bucket, or s3: false to keep them on the servers only",
        )
