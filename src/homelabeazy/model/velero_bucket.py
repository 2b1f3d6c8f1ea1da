"""Sharing Velero's bucket: where another top-level folder would collide with Velero's store.

Velero validates its backup store: every top-level folder under its `prefix` (under the bucket's
root when the prefix is empty) must be one of its own, or the BackupStorageLocation turns
Unavailable and every backup stops. Anything else homelabeazy keeps in that bucket (the
disaster-recovery backups, K3s's etcd snapshots) must therefore sit beside Velero's prefix. One rule
for all of them, so the checks, the renderers and the CLI cannot disagree about it.
"""

from __future__ import annotations

from typing import Literal

from homelabeazy.config.schema import BackupTarget
from homelabeazy.desired.needs import url_host_port

Clash = Literal["root", "inside"]


def velero_clash(target: BackupTarget, folder: str) -> Clash | None:
    """How a top-level `folder` of Velero's bucket collides with Velero's store: `root` when Velero
    owns the bucket's root (no prefix), `inside` when Velero's prefix lies inside `folder`; None when
    the folder sits safely beside it."""
    prefix = target.prefix.strip("/")
    if not prefix:
        return "root"
    if prefix.split("/")[0] == folder:
        return "inside"
    return None


def s3_endpoint(target: BackupTarget) -> tuple[str, int, tuple[str, ...]]:
    """The S3 server Velero's target names, its port, and the field that says so: `s3_url`, or AWS's
    regional endpoint when there is none (what Velero's aws plugin and K3s then use)."""
    if target.s3_url:
        host, port = url_host_port(target.s3_url)
        return host, port, ("services", "velero", "target", "s3_url")
    return f"s3.{target.region}.amazonaws.com", 443, ("services", "velero", "target", "region")
