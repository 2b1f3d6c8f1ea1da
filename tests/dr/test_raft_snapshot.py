"""The raft snapshot format check, on archives built here the way Vault/OpenBao builds them."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest

from homelabeazy.lifecycle.dr.raft_snapshot import check_raft_snapshot
from homelabeazy.model.dr_artifacts import BackupIntegrityError

STATE = bytes(range(256)) * 40


def _snapshot(files: dict[str, bytes] | None = None, sums: dict[str, bytes] | None = None) -> bytes:
    meta = json.dumps({"Version": 1, "Index": 42, "Term": 3, "Size": len(STATE)}).encode()
    content = {"meta.json": meta, "state.bin": STATE} if files is None else files
    summed = content if sums is None else sums
    lines = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in summed.items())
    members = {**content, "SHA256SUMS": lines.encode()}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue())


def test_a_well_formed_snapshot_passes() -> None:
    info = check_raft_snapshot(_snapshot(), "s")
    assert (info.index, info.term, info.state_bytes) == (42, 3, len(STATE))


def _bad_meta() -> bytes:
    meta = json.dumps({"Index": 1, "Term": 1, "Size": len(STATE) + 1}).encode()
    return _snapshot({"meta.json": meta, "state.bin": STATE})


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


CASES = {
    "truncated-gzip": (lambda: _snapshot()[:-10], "gzip stream ends early"),
    "bit-flip": (lambda: _flip(_snapshot(), len(_snapshot()) // 2), "gzip stream is damaged"),
    "not-gzip": (lambda: b"<html>502 Bad Gateway</html>", "gzip stream is damaged"),
    "not-tar": (lambda: gzip.compress(b"x" * 2000), "tar archive is damaged"),
    "no-state": (lambda: _snapshot({"meta.json": b"{}"}), "lacks state.bin"),
    "state-not-summed": (
        lambda: _snapshot(sums={"meta.json": b"x"}),
        "SHA256SUMS does not list state.bin",
    ),
    "state-differs": (
        lambda: _snapshot(sums={"meta.json": _meta(), "state.bin": STATE[:-1] + b"!"}),
        "state.bin does not match its SHA256SUMS digest",
    ),
    "size-disagrees": (_bad_meta, "meta.json records"),
}


def _meta() -> bytes:
    return json.dumps({"Version": 1, "Index": 42, "Term": 3, "Size": len(STATE)}).encode()


@pytest.mark.parametrize("case", sorted(CASES), ids=sorted(CASES))
def test_damaged_snapshots_are_refused(case: str) -> None:
    build, words = CASES[case]
    with pytest.raises(BackupIntegrityError) as caught:
        check_raft_snapshot(build(), "homelab-dr/vault-raft/x.snap")
    assert caught.value.reason == "bad-format"
    assert words in str(caught.value)
    assert str(caught.value).startswith(
        "homelab-dr/vault-raft/x.snap: bad format: not a usable raft snapshot"
    )
