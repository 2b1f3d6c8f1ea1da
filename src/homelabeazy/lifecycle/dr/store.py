"""The backup bucket of a homelab: where it is, whose keys open it, and checked uploads and downloads.

Shared by every kind of backup (Vault raft snapshots, LDAP exports, the drill): `open_store` finds
the target in `services.velero.target` and the keys in the environment or in Vault (`velero/s3`, the
secret Velero itself reads); `upload` writes the object, then its sidecar; `download_verified`
refuses anything the sidecar does not vouch for.

The keys are the bucket's own (`homelab-dr/<kind>/...` at its root), never under Velero's `prefix`:
Velero marks a store holding folders not its own Unavailable. `require_safe_bucket` refuses an
upload while Velero owns the bucket's root (model/dr_backups).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from homelabeazy.errors import UsageError
from homelabeazy.model import dr_artifacts
from homelabeazy.model.dr_backups import PREFIX_FIX, bucket_blocker
from homelabeazy.ops.objectstore import (
    ObjectMissingError,
    ObjectStore,
    S3Credentials,
    S3Target,
    credentials_from_env,
)
from homelabeazy.secret_files import read_input

if TYPE_CHECKING:
    from homelabeazy.config.schema import HomelabConfig
    from homelabeazy.ops.vault import VaultAdapter

CREDENTIALS_PATH = "velero/s3"
"""The KV path (under the homelab's mount) holding the bucket's keys: access_key_id, secret_access_key."""


def target_from_config(config: HomelabConfig) -> S3Target:
    """The S3 target of `services.velero.target`; a usage error when none is configured."""
    target = config.services.velero.target
    if target is None:
        raise UsageError(
            "homelab.yaml: services.velero.target is not set; disaster-recovery backups go to the "
            "Velero bucket (s3_url, bucket, region)"
        )
    # No prefix: the backups sit beside Velero's folder, at the bucket's root.
    return S3Target(bucket=target.bucket, region=target.region, endpoint=target.s3_url)


def require_safe_bucket(config: HomelabConfig, what: str) -> None:
    """Refuse (exit 2) to upload `what` where it would break Velero; say why and what to do instead."""
    blocker = bucket_blocker(config)
    if blocker is not None:
        raise UsageError(
            f"homelab.yaml: {what} cannot go to the backup bucket: {blocker}; {PREFIX_FIX} "
            "(the backups then go beside it), or write it to a file with --to FILE"
        )


def resolve_credentials(
    vault: VaultAdapter | None, kv_mount: str, environ: Mapping[str, str] | None = None
) -> S3Credentials:
    """AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY when set (needed when Vault itself is lost), else Vault."""
    from_env = credentials_from_env(os.environ if environ is None else environ)
    if from_env is not None:
        return from_env
    if vault is not None:
        stored = vault.read_secret(kv_mount, CREDENTIALS_PATH)
        if stored is not None and stored.data.get("access_key_id") and stored.data.get("secret_access_key"):
            return S3Credentials(stored.data["access_key_id"], stored.data["secret_access_key"])
    raise UsageError(
        "no keys for the backup bucket: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write "
        f"{kv_mount}/{CREDENTIALS_PATH} (access_key_id, secret_access_key) into Vault"
    )


def open_store(
    config: HomelabConfig,
    vault: VaultAdapter | None,
    kv_mount: str,
    environ: Mapping[str, str] | None = None,
) -> ObjectStore:
    """The homelab's backup bucket, opened with the keys `resolve_credentials` finds."""
    return ObjectStore(target_from_config(config), resolve_credentials(vault, kv_mount, environ))


def upload(store: ObjectStore, kind: str, ext: str, data: bytes, taken: datetime | None = None) -> str:
    """Store `data` as the newest backup of `kind`, the sidecar last; the key written."""
    key = dr_artifacts.artifact_key(kind, taken or datetime.now(UTC), ext)
    store.put(key, data)
    store.put(dr_artifacts.sidecar_key(key), dr_artifacts.sidecar_text(data).encode())
    return key


def latest_key(store: ObjectStore, kind: str, before: datetime | None = None) -> str:
    """The key of the newest complete backup of `kind` (taken before `before` when given); a usage
    error when there is none."""
    listing = [o.key for o in store.list(dr_artifacts.kind_prefix(kind))]
    newest = dr_artifacts.latest(kind, listing, before)
    if newest is None:
        when = f" taken before {before.strftime(dr_artifacts.STAMP_FORMAT)}" if before else ""
        raise UsageError(
            f"no complete {kind} backup{when} under {dr_artifacts.kind_prefix(kind)} in {store.target.where}"
        )
    return newest.key


SIDECAR_MAX_BYTES = 4096
"""A sidecar is one line (digest, size); a longer file is not one."""


def read_verified_file(path: Path, what: str, limit: int) -> bytes:
    """The bytes of a backup file, only when the `.sha256` sidecar beside it vouches for them (else
    `BackupIntegrityError`): the same rule as for the bucket's objects.

    Both are read with `secret_files.read_input`: a regular file of at most `limit` bytes (a FIFO
    or `/dev/zero` is refused before a byte is read, exit 2)."""
    data = read_input(path, what, limit)
    sidecar_path = dr_artifacts.sidecar_file(path)
    sidecar: str | None = None
    if sidecar_path.exists() or sidecar_path.is_symlink():
        raw = read_input(sidecar_path, f"checksum of the {what}", SIDECAR_MAX_BYTES)
        sidecar = raw.decode("utf-8", errors="replace")
    dr_artifacts.verify(data, sidecar, str(path))
    return data


def download_verified(store: ObjectStore, key: str, limit: int) -> bytes:
    """The bytes of `key`, only when its sidecar vouches for them (else `BackupIntegrityError`);
    at most `limit` bytes of it are read (a larger object is refused, exit 2)."""
    data = store.get(key, limit)
    try:
        raw = store.get(dr_artifacts.sidecar_key(key), SIDECAR_MAX_BYTES)
        sidecar: str | None = raw.decode("utf-8", errors="replace")
    except ObjectMissingError:
        sidecar = None
    dr_artifacts.verify(data, sidecar, key)
    return data
