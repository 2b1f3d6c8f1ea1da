"""The backup layout and integrity rule: keys, sidecars, the newest complete backup, verification."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from homelabeazy.model import dr_artifacts
from homelabeazy.model.dr_artifacts import BackupIntegrityError

WHEN = datetime(2026, 11, 30, 14, 5, 9, tzinfo=UTC)


def test_key_is_utc_stamped_under_kind() -> None:
    want = "homelab-dr/vault-raft/20261130T140509Z.snap"
    assert dr_artifacts.artifact_key("vault-raft", WHEN, "snap") == want
    plus_two = WHEN.astimezone(timezone(timedelta(hours=2)))
    assert dr_artifacts.artifact_key("vault-raft", plus_two, "snap") == want
    assert dr_artifacts.artifact_key("ldap-ldif", WHEN, "ldif.gz").endswith("/20261130T140509Z.ldif.gz")


@pytest.mark.parametrize(
    ("kind", "ext"), [("Vault", "snap"), ("vault/raft", "snap"), ("vault-raft", ".snap")]
)
def test_bad_kind_or_extension_refused(kind: str, ext: str) -> None:
    with pytest.raises(ValueError, match="must be"):
        dr_artifacts.artifact_key(kind, WHEN, ext)


def test_parse_round_trips_and_ignores_foreign_keys() -> None:
    key = dr_artifacts.artifact_key("ldap-ldif", WHEN, "ldif.gz")
    parsed = dr_artifacts.parse_key(key)
    assert parsed is not None
    assert (parsed.kind, parsed.ext, parsed.taken) == ("ldap-ldif", "ldif.gz", WHEN)
    for foreign in (
        key + ".sha256",
        "velero/backups/daily/x.tar.gz",
        "homelab-dr/vault-raft/latest.snap",
        "homelab-dr/vault-raft/20261399T999999Z.snap",
        "other/vault-raft/20261130T140509Z.snap",
    ):
        assert dr_artifacts.parse_key(foreign) is None, foreign


def _listing(*stamps: str, kind: str = "vault-raft", sidecars: bool = True) -> list[str]:
    keys = []
    for stamp in stamps:
        key = f"homelab-dr/{kind}/{stamp}.snap"
        keys.append(key)
        if sidecars:
            keys.append(key + ".sha256")
    return keys


def test_latest_is_newest_complete_backup_of_its_kind() -> None:
    listing = [
        *_listing("20261129T000000Z", "20261130T060000Z"),
        *_listing("20261130T120000Z", sidecars=False),  # upload still running
        *_listing("20261201T000000Z", kind="ldap-ldif"),
    ]
    newest = dr_artifacts.latest("vault-raft", listing)
    assert newest is not None
    assert newest.key == "homelab-dr/vault-raft/20261130T060000Z.snap"
    assert dr_artifacts.latest("etcd", listing) is None


def test_expired_keeps_the_newest() -> None:
    listing = _listing("20261128T000000Z", "20261129T000000Z", "20261130T000000Z")
    assert dr_artifacts.expired("vault-raft", listing, keep=2) == [
        "homelab-dr/vault-raft/20261128T000000Z.snap",
        "homelab-dr/vault-raft/20261128T000000Z.snap.sha256",
    ]
    assert dr_artifacts.expired("vault-raft", listing, keep=5) == []


DATA = b"raft snapshot bytes " * 100


def test_verify_accepts_its_own_sidecar() -> None:
    sidecar = dr_artifacts.sidecar_text(DATA)
    assert sidecar.endswith(f"  {len(DATA)}\n")
    dr_artifacts.verify(DATA, sidecar, "k")


@pytest.mark.parametrize(
    ("data", "sidecar", "reason"),
    [
        (DATA, None, "missing-sidecar"),
        (DATA, "garbage", "bad-sidecar"),
        (DATA[:-1], dr_artifacts.sidecar_text(DATA), "truncated"),
        (DATA + b"x", dr_artifacts.sidecar_text(DATA), "oversized"),
        (DATA[:-1] + b"!", dr_artifacts.sidecar_text(DATA), "corrupted"),
    ],
    ids=["missing-sidecar", "bad-sidecar", "truncated", "oversized", "corrupted"],
)
def test_verify_refuses_precisely(data: bytes, sidecar: str | None, reason: str) -> None:
    with pytest.raises(BackupIntegrityError) as caught:
        dr_artifacts.verify(data, sidecar, "homelab-dr/vault-raft/x.snap")
    assert caught.value.reason == reason
    text = str(caught.value)
    assert text.startswith(f"homelab-dr/vault-raft/x.snap: {reason.replace('-', ' ')}:")
    assert "nothing live was touched" in text


def test_sidecar_matches_sha256sum_format() -> None:
    """The CronJob writes `<digest>  <size>` from sha256sum and stat: same text as the CLI."""
    import hashlib

    assert dr_artifacts.sidecar_text(b"abc") == f"{hashlib.sha256(b'abc').hexdigest()}  3\n"


# --- each edge on both sides ---------------------------------------------------------------------


def test_key_is_utc_whatever_the_machines_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A naive time is UTC (never the local zone), an aware one is converted to UTC."""
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")  # +05:30, no daylight saving
    time.tzset()
    try:
        naive = datetime(2026, 11, 30, 14, 5, 9)
        assert dr_artifacts.artifact_key("vault-raft", naive, "snap").endswith("/20261130T140509Z.snap")
        minus_five = datetime(2026, 11, 30, 9, 5, 9, tzinfo=timezone(timedelta(hours=-5)))
        assert dr_artifacts.artifact_key("vault-raft", minus_five, "snap").endswith("/20261130T140509Z.snap")
    finally:
        monkeypatch.undo()
        time.tzset()


def test_sidecar_file_sits_beside_the_backup() -> None:
    assert dr_artifacts.sidecar_file(Path("/backups/directory.ldif")) == Path(
        "/backups/directory.ldif.sha256"
    )


def test_latest_of_many_is_the_newest_not_the_second() -> None:
    listing = _listing("20261128T000000Z", "20261130T000000Z", "20261129T000000Z")
    newest = dr_artifacts.latest("vault-raft", listing)
    assert newest is not None
    assert newest.key == "homelab-dr/vault-raft/20261130T000000Z.snap"


@pytest.mark.parametrize(("keep", "expired"), [(0, 3), (1, 2), (2, 1), (3, 0), (4, 0)])
def test_expired_on_each_side_of_keep(keep: int, expired: int) -> None:
    listing = _listing("20261128T000000Z", "20261129T000000Z", "20261130T000000Z")
    old = dr_artifacts.expired("vault-raft", listing, keep)
    assert len(old) == 2 * expired
    assert old == [
        k for stamp in ("20261128", "20261129", "20261130")[:expired] for k in _listing(f"{stamp}T000000Z")
    ]


DIGEST = dr_artifacts.sidecar_text(DATA).split()[0]
FLIPPED = DATA[:-1] + b"!"


@pytest.mark.parametrize(
    ("data", "sidecar", "reason", "detail"),
    [
        (DATA, None, "missing-sidecar", "no .sha256 sidecar, so the upload may not have finished"),
        (DATA, "garbage", "bad-sidecar", "the sidecar does not hold '<sha256 hex>  <size>'"),
        (
            DATA[:-1],
            dr_artifacts.sidecar_text(DATA),
            "truncated",
            f"{len(DATA) - 1} bytes, the sidecar records {len(DATA)}",
        ),
        (
            DATA + b"x",
            dr_artifacts.sidecar_text(DATA),
            "oversized",
            f"{len(DATA) + 1} bytes, the sidecar records {len(DATA)}",
        ),
        (
            FLIPPED,
            dr_artifacts.sidecar_text(DATA),
            "corrupted",
            f"SHA-256 {hashlib.sha256(FLIPPED).hexdigest()[:16]}… differs from the sidecar's {DIGEST[:16]}…",
        ),
    ],
    ids=["missing-sidecar", "bad-sidecar", "truncated", "oversized", "corrupted"],
)
def test_verify_says_exactly_what_is_wrong(
    data: bytes, sidecar: str | None, reason: str, detail: str
) -> None:
    with pytest.raises(BackupIntegrityError) as caught:
        dr_artifacts.verify(data, sidecar, "homelab-dr/vault-raft/x.snap")
    assert (caught.value.name, caught.value.reason) == ("homelab-dr/vault-raft/x.snap", reason)
    assert str(caught.value) == (
        f"homelab-dr/vault-raft/x.snap: {reason.replace('-', ' ')}: {detail}; refusing to restore it "
        "(nothing live was touched) — restore an older backup instead (`--latest --before STAMP` takes "
        "the newest one older than STAMP)"
    )
    assert caught.value.exit_code == 2, "a damaged backup is bad input"


@pytest.mark.parametrize(
    "sidecar",
    [f"{DIGEST}  {len(DATA)}", f"{DIGEST} {len(DATA)}\n", f"{DIGEST}\t{len(DATA)}  \n"],
    ids=["no-newline", "one-space", "tab-and-trailing-space"],
)
def test_verify_accepts_sha256sum_spacing(sidecar: str) -> None:
    dr_artifacts.verify(DATA, sidecar, "k")


@pytest.mark.parametrize(
    "sidecar",
    [
        f"{DIGEST.upper()}  {len(DATA)}\n",
        f"{DIGEST[:-1]}  {len(DATA)}\n",
        f"{DIGEST}{len(DATA)}\n",
        f"x{DIGEST}  {len(DATA)}\n",
    ],
    ids=["upper-case", "63-hex", "no-space", "leading-junk"],
)
def test_verify_refuses_a_sidecar_of_another_shape(sidecar: str) -> None:
    with pytest.raises(BackupIntegrityError) as caught:
        dr_artifacts.verify(DATA, sidecar, "k")
    assert caught.value.reason == "bad-sidecar"
