"""The layout of backups in the bucket and the integrity rule every reader checks. Pure: no I/O.

    homelab-dr/<kind>/<UTC yyyymmddThhmmssZ>.<ext>          the backup
    homelab-dr/<kind>/<UTC yyyymmddThhmmssZ>.<ext>.sha256   "<sha256 hex>  <size in bytes>\\n"

The CLI and the in-cluster CronJobs write the same layout (the CronJob runs sha256sum after the upload
and writes the sidecar last), so whichever wrote a backup, any reader can find the newest one and refuse
a truncated or corrupted one before anything live is touched. The sidecar is written after the object:
an object without a sidecar is an upload that did not finish. It sits in the model because the
renderers (the CronJobs' scripts) and the lifecycle (the CLI, status, the drill) read one layout.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from homelabeazy.errors import ExitCode, HomelabError, UsageError
from homelabeazy.model.dr_backups import FOLDER

ROOT = FOLDER
"""At the bucket's root, beside Velero's prefix, never under it (model/dr_backups)."""
SIDECAR_SUFFIX = ".sha256"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"

VAULT_RAFT = "vault-raft"
"""Vault (OpenBao) raft snapshots, extension `snap`."""
LDAP_LDIF = "ldap-ldif"
"""OpenLDAP exports, extension `ldif` (or `ldif.gz`)."""

_KIND = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_EXT = re.compile(r"^[a-z0-9]+(\.[a-z0-9]+)*$")
_NAME = re.compile(r"^(?P<stamp>\d{8}T\d{6}Z)\.(?P<ext>[a-z0-9]+(?:\.[a-z0-9]+)*)$")
_STAMP = re.compile(r"^\d{8}T\d{6}Z$")
_SIDECAR = re.compile(r"^(?P<digest>[0-9a-f]{64})\s+(?P<size>\d+)\s*$")


class BackupIntegrityError(HomelabError):
    """A backup failed its integrity check; `reason` is one of missing-sidecar, bad-sidecar,
    truncated, oversized, corrupted, bad-format. Nothing may be restored from it.

    A damaged or mismatched backup is bad input, whether it is a raft snapshot or an LDIF export,
    a file or an object in the bucket: exit 2, the message naming the file or key (as for an LDIF
    export that does not parse, `directory_ldif.InvalidBackupError`)."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, name: str, reason: str, detail: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(
            f"{name}: {reason.replace('-', ' ')}: {detail}; refusing to restore it "
            "(nothing live was touched) — restore an older backup instead (`--latest --before STAMP` "
            "takes the newest one older than STAMP)"
        )


@dataclass(frozen=True, order=True)
class Artifact:
    """One backup object in the layout: sorts by time, then key."""

    taken: datetime
    key: str
    kind: str
    ext: str

    @property
    def sidecar(self) -> str:
        """The key of its checksum sidecar."""
        return sidecar_key(self.key)


def artifact_key(kind: str, taken: datetime, ext: str) -> str:
    """`homelab-dr/<kind>/<UTC stamp>.<ext>` for a backup taken at `taken` (aware or UTC-naive)."""
    if not _KIND.match(kind):
        raise ValueError(f"backup kind {kind!r} must be lowercase letters, digits and dashes")
    if not _EXT.match(ext):
        raise ValueError(f"extension {ext!r} must be lowercase letters and digits, dot-separated")
    moment = taken.astimezone(UTC) if taken.tzinfo else taken.replace(tzinfo=UTC)
    return f"{ROOT}/{kind}/{moment.strftime(STAMP_FORMAT)}.{ext}"


def kind_prefix(kind: str) -> str:
    """The listing prefix holding every backup of `kind`."""
    return f"{ROOT}/{kind}/"


def sidecar_key(key: str) -> str:
    """The checksum sidecar of `key`."""
    return key + SIDECAR_SUFFIX


def sidecar_file(path: Path) -> Path:
    """`FILE.sha256` beside a backup written to a file: the same sidecar as in the bucket."""
    return path.with_name(sidecar_key(path.name))


def sidecar_text(data: bytes) -> str:
    """What the sidecar of `data` holds: the SHA-256 hex digest, two spaces, the size in bytes."""
    return f"{hashlib.sha256(data).hexdigest()}  {len(data)}\n"


def parse_key(key: str) -> Artifact | None:
    """The artifact `key` names, or None for sidecars and anything outside the layout."""
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != ROOT or not _KIND.match(parts[1]):
        return None
    match = _NAME.match(parts[2])
    if match is None or key.endswith(SIDECAR_SUFFIX):
        return None
    try:
        taken = datetime.strptime(match["stamp"], STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
    return Artifact(taken, key, parts[1], match["ext"])


def artifacts(kind: str, listing: Iterable[str]) -> list[Artifact]:
    """Every complete backup of `kind` (object and sidecar both listed), oldest first."""
    keys = set(listing)
    found = [a for a in map(parse_key, keys) if a is not None and a.kind == kind]
    return sorted(a for a in found if a.sidecar in keys)


def latest(kind: str, listing: Iterable[str], before: datetime | None = None) -> Artifact | None:
    """The newest complete backup of `kind` in a bucket listing (keys), or None when there is none.

    An object whose sidecar is not listed yet is an upload still running (or one that died): skipped.
    With `before`, only backups taken strictly earlier count: the way past a newest backup that is
    damaged (or stamped in the future by a wrong clock) and would otherwise be chosen every time.
    """
    complete = [a for a in artifacts(kind, listing) if before is None or a.taken < before]
    return complete[-1] if complete else None


def parse_before(text: str) -> datetime:
    """The moment `--before` names: a backup's own stamp (`20261208T021500Z`, as in its key) or an
    ISO 8601 date or time (`2026-12-08`, `2026-12-08T02:15:00Z`); a time without a zone is UTC.
    A usage error (exit 2) names the value and the forms accepted."""
    value = text.strip()
    try:
        moment = (
            datetime.strptime(value, STAMP_FORMAT) if _STAMP.match(value) else datetime.fromisoformat(value)
        )
    except ValueError:
        moment = None
    if moment is None or not value.isascii():
        raise UsageError(
            f"--before {text!r}: not a time; give a backup's stamp (20261208T021500Z, as in its key) "
            "or an ISO 8601 date or time (2026-12-08, 2026-12-08T02:15:00Z)"
        )
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def expired(kind: str, listing: Iterable[str], keep: int) -> list[str]:
    """Keys (objects and their sidecars) of the complete backups of `kind` beyond the newest `keep`."""
    complete = artifacts(kind, listing)
    old = complete[: max(len(complete) - keep, 0)]
    return [key for a in old for key in (a.key, a.sidecar)]


def verify(data: bytes, sidecar: str | None, name: str) -> None:
    """Raise `BackupIntegrityError` unless `data` matches its sidecar's size and SHA-256.

    `sidecar` None means the sidecar object does not exist; `name` is how messages call the backup.
    """
    if sidecar is None:
        raise BackupIntegrityError(
            name, "missing-sidecar", f"no {SIDECAR_SUFFIX} sidecar, so the upload may not have finished"
        )
    match = _SIDECAR.match(sidecar)
    if match is None:
        raise BackupIntegrityError(name, "bad-sidecar", "the sidecar does not hold '<sha256 hex>  <size>'")
    want_size, have_size = int(match["size"]), len(data)
    if have_size < want_size:
        raise BackupIntegrityError(name, "truncated", f"{have_size} bytes, the sidecar records {want_size}")
    if have_size > want_size:
        raise BackupIntegrityError(name, "oversized", f"{have_size} bytes, the sidecar records {want_size}")
    digest = hashlib.sha256(data).hexdigest()
    if digest != match["digest"]:
        raise BackupIntegrityError(
            name, "corrupted", f"SHA-256 {digest[:16]}… differs from the sidecar's {match['digest'][:16]}…"
        )
