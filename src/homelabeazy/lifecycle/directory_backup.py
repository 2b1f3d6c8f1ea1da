"""`homelab users export` / `import`: the directory to an LDIF backup and back (the executor).

Reading is one paged search of the whole tree as the directory admin (only it may read password
hashes); restoring applies an `ImportPlan` (directory_ldif) computed from the validated backup and
the live tree, so a backup that does not validate never reaches the server and a second import
of the same backup changes nothing.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from homelabeazy.errors import UsageError
from homelabeazy.lifecycle.directory_ldif import ImportPlan, RawEntry, plan_import, write_ldif
from homelabeazy.ops.ldap import LdapAdapter


def live_entries(ldap: LdapAdapter, base_dn: str) -> list[RawEntry]:
    """Every entry under the base DN (the base included) with its values as stored."""
    return [RawEntry(dn, attributes) for dn, attributes in ldap.search_raw(base_dn)]


def export_directory(ldap: LdapAdapter, base_dn: str) -> tuple[bytes, int]:
    """The backup file's bytes and its entry count."""
    entries = live_entries(ldap, base_dn)
    return write_ldif(entries, base_dn), len(entries)


def plan_restore(ldap: LdapAdapter, base_dn: str, backup: tuple[RawEntry, ...], prune: bool) -> ImportPlan:
    """What importing `backup` would change in the live directory."""
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


def save_backup(path: Path, data: bytes) -> None:
    """Write the backup 0600 (it holds password hashes), atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write the backup: {exc.strerror}") from None


def load_backup(path: Path) -> bytes:
    """The bytes of a backup file, or a usage error naming it."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the backup: {exc.strerror}") from None
