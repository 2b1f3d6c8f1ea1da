"""`homelab secrets snapshot` / `restore`: Vault's raft store to S3 or a file, and back.

Order of a restore: read the snapshot, verify its sidecar and its own format in memory, and only
then touch the live Vault (check its state and token, then POST snapshot-force). A snapshot
restored with snapshot-force carries the keys of the Vault it came from: if those differ from the
live Vault's, Vault seals itself and must be unsealed with the snapshot's keys (the age-encrypted
bootstrap backup).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from homelabeazy.atomic_file import create_new
from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.lifecycle.dr import store
from homelabeazy.lifecycle.dr.raft_snapshot import RaftSnapshotInfo, check_raft_snapshot
from homelabeazy.model import dr_artifacts
from homelabeazy.ops.objectstore import ObjectStore
from homelabeazy.ops.vault import VaultAdapter
from homelabeazy.secret_files import ensure_outside_repo

EXTENSION = "snap"
MAX_FILE_BYTES = 2 * 1024**3
"""The largest snapshot `secrets restore --from` reads into memory (a homelab's Vault is megabytes)."""
WHAT = "a raft snapshot (it holds every secret in Vault)"
"""How `secret_files.ensure_outside_repo` names a snapshot written with --to when it refuses a path."""


@dataclass(frozen=True)
class Snapshot:
    """A verified snapshot in memory and where it came from."""

    name: str
    data: bytes
    info: RaftSnapshotInfo


def take(vault: VaultAdapter) -> Snapshot:
    """Take a snapshot and check it is one (a proxy's error page must never become a backup)."""
    data, name = vault.raft_snapshot(), f"the snapshot Vault at {vault.address} returned"
    return Snapshot(name, data, check_raft_snapshot(data, name))


def save_file(snapshot: Snapshot, path: Path, repo_dir: Path) -> None:
    """Write the snapshot (0600, never over an existing file, never inside the repository), then its
    sidecar beside it."""
    ensure_outside_repo(path, repo_dir, WHAT)
    sidecar = dr_artifacts.sidecar_file(path)
    for target in (path, sidecar):
        if target.exists():
            raise UsageError(f"{target} already exists; choose a new file name")
    for target, payload in (
        (path, snapshot.data),
        (sidecar, dr_artifacts.sidecar_text(snapshot.data).encode()),
    ):
        try:
            create_new(target, payload, "the snapshot")
        except FileExistsError:
            raise UsageError(f"{target} already exists; choose a new file name") from None


def upload(snapshot: Snapshot, objects: ObjectStore) -> str:
    """Store the snapshot as the newest `vault-raft` backup; the key written."""
    return store.upload(objects, dr_artifacts.VAULT_RAFT, EXTENSION, snapshot.data)


def load_file(path: Path) -> Snapshot:
    """A snapshot file and its `.sha256` sidecar, both verified."""
    data = store.read_verified_file(path, "snapshot", MAX_FILE_BYTES)
    return Snapshot(str(path), data, check_raft_snapshot(data, str(path)))


def load_latest(objects: ObjectStore, before: datetime | None = None) -> Snapshot:
    """The newest complete `vault-raft` backup in the bucket (taken before `before`), verified."""
    key = store.latest_key(objects, dr_artifacts.VAULT_RAFT, before)
    data = store.download_verified(objects, key, MAX_FILE_BYTES)
    return Snapshot(key, data, check_raft_snapshot(data, key))


@dataclass(frozen=True)
class RestoreResult:
    """After a restore: whether Vault sealed itself (the snapshot carries other unseal keys)."""

    sealed: bool


def restore(vault: VaultAdapter, snapshot: Snapshot, settle: float = 20.0) -> RestoreResult:
    """Replace the live Vault's whole store with the verified `snapshot` (snapshot-force).

    The live Vault must be initialised and unsealed, and the token valid, before the store is
    replaced. When the snapshot's keys differ, Vault reseals once it has applied the snapshot
    (OpenBao 2.7: about 6 s after the call, whatever the size), so its state is watched for up
    to `settle` seconds; with the same keys it stays unsealed and the whole wait is spent.
    """
    state = vault.seal_status()
    if not state.initialized or state.sealed:
        raise ExternalSystemError(
            "Vault",
            f"restore a raft snapshot at {vault.address}",
            "not initialised" if not state.initialized else "sealed",
            "a restore needs a running, unsealed Vault: `homelab secrets init` (a fresh one) or `unseal`",
        )
    vault.check_token()
    vault.raft_restore(snapshot.data, force=True)
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        if vault.seal_status().sealed:
            return RestoreResult(sealed=True)
        time.sleep(0.2)
    return RestoreResult(sealed=vault.seal_status().sealed)
