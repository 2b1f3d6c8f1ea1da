"""`homelab users export` / `import`: the directory to an LDIF backup and back (the executor).

Reading is one paged search of the whole tree as the directory admin (only it may read password
hashes); restoring applies an `ImportPlan` (directory_ldif) computed from the validated backup and
the live tree, so a backup that does not validate never reaches the server and a second import
of the same backup changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from homelabeazy.atomic_file import write_atomic
from homelabeazy.lifecycle import directory_schema
from homelabeazy.lifecycle.directory_ldif import (
    ImportPlan,
    InvalidBackupError,
    RawEntry,
    plan_import,
    write_ldif,
)
from homelabeazy.lifecycle.dr import store
from homelabeazy.model import dr_artifacts
from homelabeazy.ops.ldap import LdapAdapter
from homelabeazy.ops.objectstore import ObjectStore


def live_entries(ldap: LdapAdapter, base_dn: str) -> list[RawEntry]:
    """Every entry under the base DN (the base included) with its values as stored."""
    return [RawEntry(dn, attributes) for dn, attributes in ldap.search_raw(base_dn)]


def export_directory(ldap: LdapAdapter, base_dn: str) -> tuple[bytes, int]:
    """The backup file's bytes and its entry count."""
    entries = live_entries(ldap, base_dn)
    return write_ldif(entries, base_dn), len(entries)


def check_schema(ldap: LdapAdapter, backup: tuple[RawEntry, ...], source: str) -> None:
    """Refuse (exit 2, nothing changed) a backup with any entry the server's schema refuses."""
    schema = directory_schema.parse_schema(*ldap.schema_definitions())
    problems = directory_schema.backup_problems(backup, schema)
    if problems:
        raise InvalidBackupError(
            source,
            f"{len(problems)} problem(s) against the server's schema: {directory_schema.summary(problems)}",
        )


def plan_restore(
    ldap: LdapAdapter, base_dn: str, backup: tuple[RawEntry, ...], prune: bool, source: str = "the backup"
) -> ImportPlan:
    """What importing `backup` would change in the live directory, once every entry of it has passed
    the server's schema (`check_schema`): a plan is never made from a backup the server would
    refuse half way through."""
    check_schema(ldap, backup, source)
    return plan_import(backup, live_entries(ldap, base_dn), prune)


def apply_restore(ldap: LdapAdapter, plan: ImportPlan) -> None:
    """Adds (parents first), then attribute replacements, then deletions (children first).

    Each step is one LDAP operation; a failure stops there with the server's answer, and running
    the import again picks up from what is already in place.
    """
    for entry in plan.add:
        ldap.add_raw(entry.dn, entry.restorable())
    for change in plan.change:
        ldap.replace_raw(change.dn, change.replace)
    for dn in plan.delete:
        ldap.delete(dn)


WHAT = "a directory export (it holds every password hash)"
"""How `secret_files.ensure_outside_repo` names an export written with --to when it refuses a path."""
MAX_BYTES = 256 * 1024**2
"""The largest export `users import --from` reads (a homelab's directory is kilobytes to megabytes)."""


def save_backup(path: Path, data: bytes) -> None:
    """The backup (0600: it holds password hashes), then its checksum sidecar, as in the bucket."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data, "the backup")
    write_atomic(dr_artifacts.sidecar_file(path), dr_artifacts.sidecar_text(data).encode(), "the backup")


def load_backup(path: Path) -> bytes:
    """The bytes of a backup file, only when its sidecar vouches for them (`BackupIntegrityError`)."""
    return store.read_verified_file(path, "backup", MAX_BYTES)


EXTENSION = "ldif"


def upload_backup(bucket: ObjectStore, data: bytes, keep: int) -> tuple[str, list[str]]:
    """Store the export as the newest `ldap-ldif` backup (sidecar last), then delete those beyond
    the newest `keep`; the key written and the keys deleted."""
    key = store.upload(bucket, dr_artifacts.LDAP_LDIF, EXTENSION, data)
    listing = [o.key for o in bucket.list(dr_artifacts.kind_prefix(dr_artifacts.LDAP_LDIF))]
    old = dr_artifacts.expired(dr_artifacts.LDAP_LDIF, listing, keep)
    for name in old:
        bucket.delete(name)
    return key, old


def download_latest(bucket: ObjectStore, before: datetime | None = None) -> tuple[bytes, str]:
    """The newest complete export (taken before `before`), checked against its sidecar, and its key."""
    key = store.latest_key(bucket, dr_artifacts.LDAP_LDIF, before)
    return store.download_verified(bucket, key, MAX_BYTES), key
