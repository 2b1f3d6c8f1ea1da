"""`homelab dr drill`: restore the newest backups into scratch servers and prove nothing is lost.

Order: download and verify both backups (a bad one stops the drill before anything starts), start
a scratch OpenBao, force-restore the raft snapshot, unseal it with the ORIGINAL unseal keys (the
snapshot carries the original keyring), start a scratch slapd and import the LDIF, then read the
live systems and the scratch ones and compare. Live systems are only read, never written.

RPO of a backup = now - the time it was taken. RTO = download + verify + start + restore (+ unseal)
until the scratch server serves the restored data. Both are measured for every drill.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from homelabeazy.errors import ExternalSystemError
from homelabeazy.lifecycle.directory_ldif import RawEntry, parse_ldif
from homelabeazy.lifecycle.dr import directory_backup, store, vault_snapshots
from homelabeazy.lifecycle.dr.compare import (
    Difference,
    Directory,
    compare_directory,
    compare_vault,
    directory,
)
from homelabeazy.lifecycle.dr.directory_backup import apply_restore, live_entries, plan_restore
from homelabeazy.lifecycle.dr.inventory import vault_inventory
from homelabeazy.lifecycle.dr.vault_snapshots import Snapshot
from homelabeazy.model import dr_artifacts
from homelabeazy.ops.ldap import LdapAdapter
from homelabeazy.ops.objectstore import ObjectStore
from homelabeazy.ops.scratch import VAULT_SYSTEM, ScratchServers
from homelabeazy.ops.vault import VaultAdapter
from homelabeazy.ops.vault_bootstrap import VaultBootstrap

Progress = Callable[[str], None]
RESEAL_WAIT = 30.0
"""Seconds a scratch server may take to seal itself after the forced restore."""


@dataclass(frozen=True)
class BackupUsed:
    """One backup the drill restored: its key, when it was taken, and its RPO."""

    kind: str
    key: str
    taken: datetime
    age: timedelta
    size: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "taken": self.taken.isoformat(),
            "rpo_seconds": round(self.age.total_seconds(), 1),
            "bytes": self.size,
        }


@dataclass(frozen=True)
class RestoreTiming:
    """How long each step of one restore took (seconds); `rto` is their sum."""

    kind: str
    download: float
    restore: float

    @property
    def rto(self) -> float:
        return self.download + self.restore

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "download_seconds": round(self.download, 2),
            "restore_seconds": round(self.restore, 2),
            "rto_seconds": round(self.rto, 2),
        }


@dataclass
class DrillReport:
    """What the drill found: the backups used, restore timings, counts, and every difference."""

    backups: list[BackupUsed] = field(default_factory=list)
    restores: list[RestoreTiming] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def nothing_lost(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {
            "nothing_lost": self.nothing_lost,
            "backups": [b.as_dict() for b in self.backups],
            "restores": [r.as_dict() for r in self.restores],
            "counts": dict(sorted(self.counts.items())),
            "differences": [d.as_dict() for d in self.differences],
            "wall_seconds": round(self.wall_seconds, 2),
        }


@dataclass(frozen=True)
class DrillInputs:
    """Everything the drill reads: the bucket, the live systems, and the original Vault's keys."""

    bucket: ObjectStore
    live_vault: VaultAdapter
    live_ldap: LdapAdapter
    bootstrap: VaultBootstrap
    base_dn: str
    admin_dn: str
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class _Fetched:
    used: BackupUsed
    data: bytes
    seconds: float


def _used(kind: str, key: str, size: int, now: datetime) -> BackupUsed:
    found = dr_artifacts.parse_key(key)
    assert found is not None  # the store only hands out keys of the layout
    return BackupUsed(kind, key, found.taken, now - found.taken, size)


def _fetch_snapshot(bucket: ObjectStore, now: datetime) -> tuple[Snapshot, _Fetched]:
    """The newest Vault snapshot, its sidecar and its own format checked before anything starts."""
    start = time.monotonic()
    snapshot = vault_snapshots.load_latest(bucket)
    used = _used(dr_artifacts.VAULT_RAFT, snapshot.name, len(snapshot.data), now)
    return snapshot, _Fetched(used, snapshot.data, time.monotonic() - start)


def _fetch_ldif(bucket: ObjectStore, base_dn: str, now: datetime) -> tuple[tuple[RawEntry, ...], _Fetched]:
    """The newest LDAP export, its sidecar checked and the whole file validated."""
    start = time.monotonic()
    key = store.latest_key(bucket, dr_artifacts.LDAP_LDIF)
    data = store.download_verified(bucket, key, directory_backup.MAX_BYTES)
    entries = parse_ldif(data, base_dn, key)
    used = _used(dr_artifacts.LDAP_LDIF, key, len(data), now)
    return entries, _Fetched(used, data, time.monotonic() - start)


def run_drill(inputs: DrillInputs, progress: Progress = lambda _: None) -> DrillReport:
    """Restore, read, compare; raises only when a system fails (differences are the report)."""
    started = time.monotonic()
    key = os.urandom(32)  # digests are comparable within this drill only
    now = inputs.now()
    progress("downloading the newest backups")
    raft, snapshot = _fetch_snapshot(inputs.bucket, now)
    entries, ldif = _fetch_ldif(inputs.bucket, inputs.base_dn, now)
    report = DrillReport(backups=[snapshot.used, ldif.used])
    with ScratchServers() as scratch:
        progress("restoring Vault into a scratch OpenBao")
        t = time.monotonic()
        restored_vault = _restore_vault(scratch.start_vault(), raft, inputs.bootstrap)
        report.restores.append(RestoreTiming(dr_artifacts.VAULT_RAFT, snapshot.seconds, time.monotonic() - t))
        progress("restoring LDAP into a scratch slapd")
        t = time.monotonic()
        target = scratch.start_directory(inputs.base_dn, inputs.admin_dn)
        with LdapAdapter(target.url, target.root_dn, target.root_password) as scratch_ldap:
            apply_restore(scratch_ldap, plan_restore(scratch_ldap, inputs.base_dn, entries, prune=False))
            report.restores.append(RestoreTiming(dr_artifacts.LDAP_LDIF, ldif.seconds, time.monotonic() - t))
            progress("reading and comparing live and restored data")
            with ThreadPoolExecutor(2) as pool:
                live_job = pool.submit(vault_inventory, inputs.live_vault, key)
                backup_job = pool.submit(vault_inventory, restored_vault, key)
                live_secrets, backup_secrets = live_job.result(), backup_job.result()
            backup_dir = _snapshot(live_entries(scratch_ldap, inputs.base_dn), key)
        with inputs.live_ldap as live_ldap:
            live_dir = _snapshot(live_entries(live_ldap, inputs.base_dn), key)
    report.differences = compare_vault(live_secrets, backup_secrets) + compare_directory(live_dir, backup_dir)
    report.counts = {
        "live_secrets": len(live_secrets),
        "backup_secrets": len(backup_secrets),
        "live_versions": sum(len(r.versions) for r in live_secrets.values()),
        "backup_versions": sum(len(r.versions) for r in backup_secrets.values()),
        "live_entries": len(live_dir),
        "backup_entries": len(backup_dir),
    }
    report.wall_seconds = time.monotonic() - started
    return report


def _snapshot(entries: list[RawEntry], key: bytes) -> Directory:
    """Entries as LDAP compares them (operational attributes left out, value order ignored), values
    as text; a value that is not UTF-8 keeps its bytes visible as escapes, so it still compares."""
    return directory(
        (
            (
                entry.dn,
                {
                    name: [v.decode("utf-8", "backslashreplace") for v in values]
                    for name, values in attrs.items()
                },
            )
            for entry in entries
            for attrs in (entry.normalised(),)
        ),
        key,
    )


def _restore_vault(address: str, snapshot: Snapshot, bootstrap: VaultBootstrap) -> VaultAdapter:
    """Init the scratch server with throw-away keys, force-restore, unseal with the original keys.

    The throw-away init must use the original's shares and threshold: the seal configuration is
    not part of a raft snapshot, so the restored server expects key shares of the kind it was
    initialised with (one share is the raw key, several are Shamir shares)."""
    vault = VaultAdapter(address)
    try:
        scratch = vault.initialize(bootstrap.shares, bootstrap.threshold)
        vault.unseal(scratch.unseal_keys)
        vault.wait_active()
        vault.set_token(scratch.root_token)
        if not vault_snapshots.restore(vault, snapshot, settle=RESEAL_WAIT).sealed:
            raise ExternalSystemError(
                VAULT_SYSTEM,
                "restore the raft snapshot",
                f"still unsealed {RESEAL_WAIT:g}s after it (the snapshot's keyring should seal it)",
            )
        state = vault.unseal(bootstrap.unseal_keys)
    except ExternalSystemError as exc:
        raise ExternalSystemError(VAULT_SYSTEM, exc.action, exc.answer, exc.fix) from None
    if state.sealed:
        raise ExternalSystemError(
            VAULT_SYSTEM,
            "unseal the restored snapshot",
            f"still sealed after {len(bootstrap.unseal_keys)} key(s)",
            "the bootstrap file's keys belong to another Vault: use the bootstrap backup of this one",
        )
    try:
        vault.wait_active()
    except ExternalSystemError as exc:
        raise ExternalSystemError(VAULT_SYSTEM, exc.action, exc.answer, exc.fix) from None
    vault.set_token(bootstrap.root_token)
    return vault
