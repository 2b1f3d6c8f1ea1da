"""`homelab users export` / `import` against a real slapd on loopback: 200 people in groups with
passwords, exported, the directory wiped, imported; every entry back attribute by attribute and
every bind working; broken backups refused with nothing live changed; a second import a no-op.

The directory is read back and compared here with plain ldap3, not with the code under test.
"""

from __future__ import annotations

import time
from pathlib import Path

import ldap3
import pytest

from homelabeazy.model import dr_artifacts
from homelabeazy.ops.ldap import ssha
from tests.secrets.directory_data import (
    BASE,
    GROUP_NAMES,
    GROUPS,
    PEOPLE,
    PREFIX,
    USERS,
    Cli,
    Snapshot,
    admin,
    assert_identical,
    bucket_keys,
    can_bind,
    snapshot,
    uid,
    wipe,
)
from tests.secrets.servers import SlapdServer
from tests.support.s3 import S3Server

pytestmark = pytest.mark.integration


def test_export_wipe_import_brings_back_every_entry_and_password(
    backup_users: Cli, directory_server: SlapdServer, populated: dict[str, str], tmp_path: Path
) -> None:
    before = snapshot(directory_server)
    assert len(before) == 1 + 3 + USERS + len(GROUP_NAMES)
    backup = tmp_path / "backup" / "directory.ldif"

    started = time.perf_counter()
    exported = backup_users("export", "--to", str(backup))
    export_seconds = time.perf_counter() - started
    assert exported.code == 0, exported.err
    assert f"exported {len(before)} entries" in exported.err
    assert backup.stat().st_mode & 0o777 == 0o600
    assert b"pw-" not in backup.read_bytes()

    wipe(directory_server)
    assert snapshot(directory_server) == {}
    started = time.perf_counter()
    restored = backup_users("import", "--from", str(backup), "--yes")
    import_seconds = time.perf_counter() - started
    assert restored.code == 0, restored.err
    assert f"{len(before)} added, 0 changed, 0 deleted" in restored.err

    assert_identical(before, snapshot(directory_server))
    failed = [dn for dn, secret in populated.items() if not can_bind(directory_server, dn, secret)]
    assert failed == []
    assert not can_bind(directory_server, next(iter(populated)), "wrong-password")
    print(f"\n{USERS} users: export {export_seconds:.2f}s, import {import_seconds:.2f}s")


def test_export_is_deterministic_and_parents_come_first(
    backup_users: Cli, directory_server: SlapdServer, populated: dict[str, str], tmp_path: Path
) -> None:
    del populated
    first, second = tmp_path / "a.ldif", tmp_path / "b.ldif"
    assert backup_users("export", "--to", str(first)).code == 0
    assert backup_users("export", "--to", str(second)).code == 0
    assert first.read_bytes() == second.read_bytes()
    dns = [line[4:] for line in first.read_text().splitlines() if line.startswith("dn: ")]
    assert dns[0] == BASE
    seen: set[str] = set()
    for dn in dns[1:]:
        assert dn.split(",", 1)[1].lower() in seen | {BASE}, dn
        seen.add(dn.lower())
    assert first.read_text().endswith(f"# homelab users export: {len(dns)} entries\n")


def test_second_import_changes_nothing_and_drift_is_repaired(
    backup_users: Cli, directory_server: SlapdServer, populated: dict[str, str], tmp_path: Path
) -> None:
    backup = tmp_path / "directory.ldif"
    assert backup_users("export", "--to", str(backup)).code == 0
    before = snapshot(directory_server)

    again = backup_users("import", "--from", str(backup), "--yes")
    assert again.code == 0, again.err
    assert "nothing to do" in again.err
    assert_identical(before, snapshot(directory_server))

    alice = f"uid={uid(1)},{PEOPLE}"
    conn = admin(directory_server)
    conn.modify(alice, {"mail": [(ldap3.MODIFY_REPLACE, ["changed@example.com"])]})
    conn.modify(alice, {"userPassword": [(ldap3.MODIFY_REPLACE, [ssha("someone-elses")])]})
    conn.modify(f"cn=admins,{GROUPS}", {"member": [(ldap3.MODIFY_DELETE, [alice])]})
    conn.add(f"uid=intruder,{PEOPLE}", ["inetOrgPerson"], {"uid": "intruder", "cn": "I", "sn": "I"})
    conn.unbind()

    repaired = backup_users("import", "--from", str(backup), "--yes")
    assert repaired.code == 0, repaired.err
    assert "0 added, 2 changed, 0 deleted" in repaired.err
    assert f"replace mail, userPassword on {alice}" in repaired.err
    assert "someone-elses" not in repaired.err + repaired.out
    assert can_bind(directory_server, alice, populated[alice])
    assert f"uid=intruder,{PEOPLE}".lower() in snapshot(directory_server)

    pruned = backup_users("import", "--from", str(backup), "--yes", "--prune")
    assert pruned.code == 0, pruned.err
    assert "0 added, 0 changed, 1 deleted" in pruned.err
    assert_identical(before, snapshot(directory_server))
    assert "nothing to do" in backup_users("import", "--from", str(backup), "--yes", "--prune").err


def _malformed(data: bytes) -> dict[str, bytes]:
    """Backups that are wrong as LDIF or as a directory: the checksum is made to match, so only
    the LDIF checks can catch them."""
    text = data.decode()
    entry_9 = f"uid={uid(9)},{PEOPLE}"
    return {
        "cut-mid-entry": data[: len(data) // 2],
        "cut-at-entry-boundary": text[: text.rindex("\ndn: ")].encode() + b"\n",
        "trailer-count-off": text.rsplit("# homelab", 1)[0].encode() + b"# homelab users export: 3 entries\n",
        "entry-outside-base": text.replace(f"dn: uid={uid(5)},{PEOPLE}", "dn: uid=x,dc=evil,dc=com").encode(),
        "garbage-line": text.replace("sn: Number 7\n", "sn Number 7\n").encode(),
        "orphan-entry": text.replace(f"dn: {entry_9}", f"dn: uid={uid(9)},ou=nowhere,{BASE}").encode(),
        "duplicate-dn": text.replace(f"dn: {entry_9}", f"dn: uid={uid(8)},{PEOPLE}").encode(),
        "no-object-class": "\n\n".join(
            "\n".join(line for line in block.split("\n") if not line.startswith("objectClass:"))
            if block.startswith(f"dn: {entry_9}\n")
            else block
            for block in text.split("\n\n")
        ).encode(),
        "empty": b"",
    }


def _damaged(data: bytes) -> dict[str, bytes]:
    """Backups changed after the export: the sidecar still holds the original's digest and size."""
    photo = data.index(b"jpegPhoto:: ") + 20
    hashed = data.index(b"userPassword: {SSHA}") + 22
    flipped = bytes([data[hashed] ^ 0x01])
    return {
        "truncated": data[:-200],
        "bit-flip-in-password-hash": data[:hashed] + flipped + data[hashed + 1 :],
        "base64-garbled": data[:photo] + b"%%%" + data[photo + 3 :],
        "appended": data + b"dn: uid=extra," + PEOPLE.encode() + b"\n",
    }


@pytest.fixture
def drifted(
    backup_users: Cli, directory_server: SlapdServer, populated: dict[str, str], tmp_path: Path
) -> tuple[Path, Snapshot]:
    """An export, then a live directory that differs from it (an import would have work to do)."""
    del populated
    backup = tmp_path / "directory.ldif"
    assert backup_users("export", "--to", str(backup)).code == 0
    conn = admin(directory_server)
    conn.delete(f"uid={uid(4)},{PEOPLE}")
    conn.modify(f"uid={uid(2)},{PEOPLE}", {"mail": [(ldap3.MODIFY_REPLACE, ["drift@example.com"])]})
    conn.unbind()
    return backup, snapshot(directory_server)


MALFORMED = (
    "cut-mid-entry",
    "cut-at-entry-boundary",
    "trailer-count-off",
    "entry-outside-base",
    "garbage-line",
    "orphan-entry",
    "duplicate-dn",
    "no-object-class",
    "empty",
)
DAMAGED = ("truncated", "bit-flip-in-password-hash", "base64-garbled", "appended")


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_backup_is_refused_and_nothing_live_changes(
    backup_users: Cli,
    directory_server: SlapdServer,
    drifted: tuple[Path, Snapshot],
    tmp_path: Path,
    case: str,
) -> None:
    backup, live = drifted
    broken = tmp_path / f"{case}.ldif"
    broken.write_bytes(_malformed(backup.read_bytes())[case])
    (tmp_path / f"{case}.ldif.sha256").write_text(dr_artifacts.sidecar_text(broken.read_bytes()))
    result = backup_users("import", "--from", str(broken), "--yes", "--prune")
    assert result.code == 2, result.err
    assert f"{broken}: not a usable directory backup" in result.err
    assert "nothing was changed" in result.err
    assert "Traceback" not in result.err
    assert_identical(live, snapshot(directory_server))


@pytest.mark.parametrize("case", DAMAGED)
def test_a_damaged_backup_fails_its_checksum_and_nothing_live_changes(
    backup_users: Cli, directory_server: SlapdServer, drifted: tuple[Path, Snapshot], case: str
) -> None:
    backup, live = drifted
    original = backup.read_bytes()
    damaged = _damaged(original)[case]
    assert damaged != original
    backup.write_bytes(damaged)
    result = backup_users("import", "--from", str(backup), "--yes", "--prune")
    assert result.code == 2, result.err
    assert "refusing to restore it (nothing live was touched)" in result.err
    assert "Traceback" not in result.err
    assert_identical(live, snapshot(directory_server))


def test_a_backup_without_its_checksum_is_refused(
    backup_users: Cli, directory_server: SlapdServer, drifted: tuple[Path, Snapshot]
) -> None:
    backup, live = drifted
    backup.with_name(backup.name + ".sha256").unlink()
    result = backup_users("import", "--from", str(backup), "--yes")
    assert result.code == 2, result.err
    assert "missing sidecar" in result.err
    assert_identical(live, snapshot(directory_server))


def test_export_to_the_bucket_and_import_latest_after_a_wipe(
    bucket_users: Cli, directory_server: SlapdServer, s3_server: S3Server, populated: dict[str, str]
) -> None:
    before = snapshot(directory_server)
    exported = bucket_users("export")
    assert exported.code == 0, exported.err
    keys = bucket_keys(s3_server)
    assert len(keys) == 2
    assert keys[0].startswith("homelab-dr/ldap-ldif/"), "beside Velero's folder, never in it"
    assert not any(key.startswith(PREFIX) for key in keys)
    assert keys[0].endswith(".ldif")
    assert keys[1] == keys[0] + ".sha256"
    assert keys[0] in exported.err
    assert s3_server.secret_access_key not in exported.err + exported.out

    wipe(directory_server)
    restored = bucket_users("import", "--latest", "--yes")
    assert restored.code == 0, restored.err
    assert keys[0] in restored.err
    assert_identical(before, snapshot(directory_server))
    assert all(can_bind(directory_server, dn, secret) for dn, secret in populated.items())


def test_exports_beyond_keep_are_removed(
    bucket_users: Cli, s3_server: S3Server, populated: dict[str, str]
) -> None:
    del populated
    for _ in range(3):
        assert bucket_users("export").code == 0
        time.sleep(1.1)  # keys are stamped to the second
    keys = bucket_keys(s3_server)
    assert len([k for k in keys if k.endswith(".ldif")]) == 2
    assert len([k for k in keys if k.endswith(".sha256")]) == 2


def test_a_corrupted_latest_export_in_the_bucket_is_refused(
    bucket_users: Cli, directory_server: SlapdServer, s3_server: S3Server, populated: dict[str, str]
) -> None:
    del populated
    assert bucket_users("export").code == 0
    key = bucket_keys(s3_server)[0]
    client = s3_server.client()
    data = client.get_object(Bucket=s3_server.bucket, Key=key)["Body"].read()  # type: ignore[attr-defined]
    client.put_object(Bucket=s3_server.bucket, Key=key, Body=data[: len(data) - 100])  # type: ignore[attr-defined]
    wipe(directory_server)
    result = bucket_users("import", "--latest", "--yes")
    assert result.code == 2, result.err
    assert "truncated" in result.err
    assert "nothing live was touched" in result.err
    assert snapshot(directory_server) == {}


def test_usage_mistakes_are_refused_before_the_directory_is_touched(
    backup_users: Cli, directory_server: SlapdServer, populated: dict[str, str], repo: Path, tmp_path: Path
) -> None:
    del populated
    inside = backup_users("export", "--to", str(repo / "backups" / "directory.ldif"))
    assert inside.code == 2
    assert "must live outside the homelab repository" in inside.err
    assert not (repo / "backups").exists()

    backup = tmp_path / "directory.ldif"
    assert backup_users("export", "--to", str(backup)).code == 0
    both = backup_users("import", "--from", str(backup), "--latest", "--yes")
    assert both.code == 2
    assert "exactly one of --from FILE and --latest" in both.err
    assert backup_users("import").code == 2

    conn = admin(directory_server)
    conn.delete(f"uid={uid(4)},{PEOPLE}")
    conn.unbind()
    live = snapshot(directory_server)
    unconfirmed = backup_users("import", "--from", str(backup))  # no terminal to ask on
    assert unconfirmed.code == 2
    assert "pass --yes" in unconfirmed.err
    assert_identical(live, snapshot(directory_server))
    missing = backup_users("import", "--from", str(tmp_path / "nothing.ldif"), "--yes")
    assert missing.code == 2
    assert "nothing.ldif: no such file (the backup)" in missing.err


def test_a_future_dated_damaged_newest_export_is_passed_with_before(
    bucket_users: Cli, directory_server: SlapdServer, s3_server: S3Server, populated: dict[str, str]
) -> None:
    """A wrong clock stamped a damaged export in 2099: `--latest` refuses it every time (exit 2, the
    key named, nothing changed); `--latest --before 2099…` imports the good one."""
    del populated
    before = snapshot(directory_server)
    exported = bucket_users("export")
    assert exported.code == 0, exported.err
    key = bucket_keys(s3_server)[0]
    client = s3_server.client()
    good = client.get_object(Bucket=s3_server.bucket, Key=key)["Body"].read()  # type: ignore[attr-defined]
    future = "homelab-dr/ldap-ldif/20991231T235959Z.ldif"
    client.put_object(Bucket=s3_server.bucket, Key=future, Body=good[: len(good) - 100])  # type: ignore[attr-defined]
    client.put_object(
        Bucket=s3_server.bucket, Key=future + ".sha256", Body=dr_artifacts.sidecar_text(good).encode()
    )  # type: ignore[attr-defined]
    wipe(directory_server)

    blocked = bucket_users("import", "--latest", "--yes")
    assert blocked.code == 2, blocked.err
    assert f"{future}: truncated: " in blocked.err.replace("\n", "")
    assert snapshot(directory_server) == {}

    passed = bucket_users("import", "--latest", "--before", "20991231T235959Z", "--yes")
    assert passed.code == 0, passed.err
    assert key in passed.err
    assert_identical(before, snapshot(directory_server))
