"""The format of a Vault/OpenBao raft snapshot, checked fully in memory before anything is restored. Pure.

A snapshot is a gzip'd tar holding `meta.json` (raft index, term, size of the state), `state.bin` (the
store) and `SHA256SUMS` (the digest of each; OpenBao adds `SHA256SUMS.sealed`). A restore of a damaged
snapshot would replace every secret with garbage, so every layer is checked: the gzip stream ends with
a matching CRC and length (truncation, bit flips), the tar parses, every file SHA256SUMS lists is there
and matches, and meta.json agrees with the size of state.bin.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import zlib
from dataclasses import dataclass

from homelabeazy.model.dr_artifacts import BackupIntegrityError

MAX_STATE_BYTES = 4 * 1024**3
"""Refuse to inflate more than this (a homelab's Vault is megabytes; a bomb must not eat the memory)."""
REQUIRED = ("meta.json", "state.bin", "SHA256SUMS")


@dataclass(frozen=True)
class RaftSnapshotInfo:
    """What a well-formed snapshot says about itself."""

    index: int
    term: int
    state_bytes: int


def _bad(name: str, detail: str) -> BackupIntegrityError:
    return BackupIntegrityError(name, "bad-format", f"not a usable raft snapshot: {detail}")


def _inflate(data: bytes, name: str) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            raw = stream.read(MAX_STATE_BYTES + 1)
    except EOFError:
        raise _bad(name, "the gzip stream ends early (truncated)") from None
    except (OSError, zlib.error) as exc:
        raise _bad(name, f"the gzip stream is damaged ({exc})") from None
    if len(raw) > MAX_STATE_BYTES:
        raise _bad(name, f"it inflates to more than {MAX_STATE_BYTES} bytes")
    return raw


def _members(raw: bytes, name: str) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
            for member in archive:
                if not member.isfile():
                    raise _bad(name, f"the archive holds a non-file entry {member.name!r}")
                handle = archive.extractfile(member)
                assert handle is not None
                files[member.name] = handle.read()
    except tarfile.TarError as exc:
        raise _bad(name, f"the tar archive is damaged ({exc})") from None
    return files


def _check_sums(files: dict[str, bytes], name: str) -> None:
    listed: dict[str, str] = {}
    for line in files["SHA256SUMS"].decode("utf-8", errors="replace").splitlines():
        digest, _, member = line.strip().partition("  ")
        if line.strip():
            listed[member.lstrip("*")] = digest
    for member in ("meta.json", "state.bin"):
        if member not in listed:
            raise _bad(name, f"SHA256SUMS does not list {member}")
    for member, digest in sorted(listed.items()):
        if member not in files:
            raise _bad(name, f"SHA256SUMS lists {member}, which the archive lacks")
        if hashlib.sha256(files[member]).hexdigest() != digest.lower():
            raise _bad(name, f"{member} does not match its SHA256SUMS digest (corrupted)")


def check_raft_snapshot(data: bytes, name: str) -> RaftSnapshotInfo:
    """Raise `BackupIntegrityError` (reason bad-format) unless `data` is a complete, consistent snapshot."""
    files = _members(_inflate(data, name), name)
    missing = [member for member in REQUIRED if member not in files]
    if missing:
        raise _bad(name, f"the archive lacks {', '.join(missing)}")
    _check_sums(files, name)
    try:
        meta = json.loads(files["meta.json"])
        info = RaftSnapshotInfo(int(meta["Index"]), int(meta["Term"]), int(meta["Size"]))
    except (ValueError, KeyError, TypeError):
        raise _bad(name, "meta.json is not raft snapshot metadata (Index, Term, Size)") from None
    if info.state_bytes != len(files["state.bin"]):
        have = len(files["state.bin"])
        raise _bad(name, f"meta.json records {info.state_bytes} state bytes, state.bin has {have}")
    return info
