"""Vault disaster recovery for real: OpenBao (raft), moto's S3 server, age (pyrage).

Lose everything (the data dir and the bootstrap file), start a fresh Vault, restore the newest
snapshot from S3, unseal it with the keys from the age-encrypted backup: every secret and every
version is back. Damaged snapshots are refused before the live Vault is touched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import hvac
import pytest

from homelabeazy.model import dr_artifacts
from tests.conftest import CliResult
from tests.dr.vaultlab import MOUNT, age_pair, fill, read_everything, write_config
from tests.secrets.conftest import Transcript
from tests.secrets.servers import BaoServer
from tests.support.s3 import S3Server

pytestmark = pytest.mark.integration

Cli = Callable[..., CliResult]


def bootstrap_file(xdg: Path) -> Path:
    return xdg / "homelabeazy" / "homelab" / "vault-bootstrap.json"


def root(bao: BaoServer, xdg: Path) -> hvac.Client:
    return hvac.Client(url=bao.address, token=json.loads(bootstrap_file(xdg).read_text())["root_token"])


def _secrets_of(xdg: Path, everything: dict[str, dict[int, object]]) -> set[str]:
    boot = json.loads(bootstrap_file(xdg).read_text())
    found = {boot["root_token"], *boot["unseal_keys"]}
    for versions in everything.values():
        for data in versions.values():
            if isinstance(data, dict):
                found.add(data.get("password") or data.get("secret_access_key") or boot["root_token"])
    return found


_WRITES: list[str] | None = None


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _WRITES is None or event != "open":
        return
    path, mode, flags = args
    writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
        isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR)
    )
    if writing:
        _WRITES.append(str(path))


sys.addaudithook(_audit)


@pytest.fixture
def file_writes() -> Iterator[list[str]]:
    """Every file opened for writing while the fixture is active (an audit hook sees every open)."""
    global _WRITES  # noqa: PLW0603 - an audit hook cannot be removed, so it reads a switch
    _WRITES = []
    try:
        yield _WRITES
    finally:
        _WRITES = None


def test_lose_everything_then_restore_every_secret_and_version(
    bao: BaoServer,
    repo: Path,
    isolated: Path,
    s3_server: S3Server,
    homelab_cli: Cli,
    transcript: Transcript,
    tmp_path: Path,
    file_writes: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recipient, keyfile = age_pair(tmp_path)
    config = write_config(repo, s3_server, recipient)
    addr = ("--vault-addr", bao.address)
    assert homelab_cli("secrets", "init", "-c", config, *addr).code == 0
    client = root(bao, isolated)
    client.secrets.kv.v2.create_or_update_secret(
        "velero/s3",
        {"access_key_id": s3_server.access_key_id, "secret_access_key": s3_server.secret_access_key},
        mount_point=MOUNT,
    )
    fill(client, 60)
    before = read_everything(client)
    assert len(before) == 61
    assert len(before["apps/app0000/config"]) == 3

    # The bootstrap backup: only ciphertext is written, nothing holds the plaintext but its home.
    file_writes.clear()
    backup = tmp_path / "vault-bootstrap.age"
    done = homelab_cli("secrets", "backup", "--to", str(backup), "-c", config)
    assert done.code == 0, done.err
    written = {Path(p).resolve() for p in file_writes}
    temporary = re.compile(rf"\.{re.escape(backup.name)}\.[0-9a-f]{{16}}\.tmp")  # the atomic writer's
    assert all(p == backup.resolve() or temporary.fullmatch(p.name) for p in written), written
    assert all(p.parent == backup.resolve().parent for p in written), written
    plaintext = bootstrap_file(isolated).read_bytes()
    token = json.loads(plaintext)["root_token"].encode()
    home = bootstrap_file(isolated).resolve()
    leaked = [
        p for p in tmp_path.rglob("*") if p.is_file() and p.resolve() != home and token in p.read_bytes()
    ]
    assert not leaked, leaked
    assert token not in backup.read_bytes()

    # The snapshot goes to S3 with its sidecar; the bucket's keys come from Vault (velero/s3).
    snap = homelab_cli("secrets", "snapshot", "-c", config, *addr)
    assert snap.code == 0, snap.err
    keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=s3_server.bucket)["Contents"]]  # type: ignore[attr-defined]
    newest = dr_artifacts.latest(dr_artifacts.VAULT_RAFT, keys)
    assert newest is not None
    assert newest.sidecar in keys
    secrets = _secrets_of(isolated, before)

    # Disaster: Vault's data and this machine's bootstrap file are gone.
    bao.stop()
    shutil.rmtree(bao.workdir / "data")
    bootstrap_file(isolated).unlink()
    bao.start()
    assert homelab_cli("secrets", "init", "-c", config, *addr).code == 0  # a fresh Vault, new keys
    secrets |= _secrets_of(isolated, {})
    for name, value in s3_server.env().items():  # Vault is empty: the bucket's keys from the environment
        monkeypatch.setenv(name, value)

    restored = homelab_cli("secrets", "restore", "--latest", "--yes", "-c", config, *addr)
    assert restored.code == 0, restored.err
    assert "checksum and snapshot format verified" in restored.err
    assert "sealed itself" in restored.err

    refused = homelab_cli(
        "secrets", "restore-bootstrap", "--from", str(backup), "--identity", str(keyfile), "-c", config
    )
    assert refused.code == 2
    assert "holds other keys" in refused.err
    back = homelab_cli(
        "secrets",
        "restore-bootstrap",
        "--from",
        str(backup),
        "--identity",
        str(keyfile),
        "-c",
        config,
        "--force",
    )
    assert back.code == 0, back.err
    assert bootstrap_file(isolated).read_bytes() == plaintext
    assert oct(bootstrap_file(isolated).stat().st_mode & 0o777) == "0o600"
    again = homelab_cli(
        "secrets", "restore-bootstrap", "--from", str(backup), "--identity", str(keyfile), "-c", config
    )
    assert again.code == 0
    assert "unchanged" in again.err

    assert homelab_cli("secrets", "unseal", "-c", config, *addr).code == 0
    assert read_everything(root(bao, isolated)) == before
    transcript.assert_clean(secrets)


def _fresh_vault_with_a_snapshot(
    bao: BaoServer, repo: Path, isolated: Path, s3_server: S3Server, homelab_cli: Cli, tmp_path: Path
) -> tuple[str, hvac.Client, str]:
    recipient, _ = age_pair(tmp_path)
    config = write_config(repo, s3_server, recipient)
    assert homelab_cli("secrets", "init", "-c", config, "--vault-addr", bao.address).code == 0
    client = root(bao, isolated)
    fill(client, 9)
    snap = homelab_cli("secrets", "snapshot", "-c", config, "--vault-addr", bao.address)
    assert snap.code == 0, snap.err
    # Written after the snapshot: a restore would remove it, so it proves nothing was restored.
    client.secrets.kv.v2.create_or_update_secret("after/snapshot", {"v": "1"}, mount_point=MOUNT)
    keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=s3_server.bucket)["Contents"]]  # type: ignore[attr-defined]
    newest = dr_artifacts.latest(dr_artifacts.VAULT_RAFT, keys)
    assert newest is not None
    return config, client, newest.key


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x40]) + data[at + 1 :]


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        ("truncate", "truncated: "),
        ("corrupt", "corrupted: SHA-256"),
        ("corrupt-and-fix-sidecar", "bad format: not a usable raft snapshot: the gzip stream"),
        ("truncate-and-fix-sidecar", "bad format: not a usable raft snapshot"),
        ("drop-sidecar", "missing sidecar"),
    ],
)
def test_damaged_snapshot_in_s3_is_refused_and_vault_untouched(
    bao: BaoServer,
    repo: Path,
    isolated: Path,
    s3_server: S3Server,
    homelab_cli: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    damage: str,
    words: str,
) -> None:
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    config, client, key = _fresh_vault_with_a_snapshot(bao, repo, isolated, s3_server, homelab_cli, tmp_path)
    s3 = s3_server.client()
    good = s3.get_object(Bucket=s3_server.bucket, Key=key)["Body"].read()  # type: ignore[attr-defined]
    bad = good[: len(good) * 2 // 3] if damage.startswith("truncate") else _flip(good, len(good) // 2)
    s3.put_object(Bucket=s3_server.bucket, Key=key, Body=bad)  # type: ignore[attr-defined]
    if damage.endswith("fix-sidecar"):
        s3.put_object(
            Bucket=s3_server.bucket, Key=key + ".sha256", Body=dr_artifacts.sidecar_text(bad).encode()
        )  # type: ignore[attr-defined]
    if damage == "drop-sidecar":
        s3.delete_object(Bucket=s3_server.bucket, Key=key + ".sha256")  # type: ignore[attr-defined]
        key = dr_artifacts.artifact_key(dr_artifacts.VAULT_RAFT, dr_artifacts.parse_key(key).taken, "snap")  # type: ignore[union-attr]
    before = read_everything(client)
    if damage == "drop-sidecar":
        # --latest skips an object without a sidecar (an unfinished upload): there is none left.
        result = homelab_cli(
            "secrets", "restore", "--latest", "--yes", "-c", config, "--vault-addr", bao.address
        )
        assert result.code == 2
        assert "no complete vault-raft backup" in result.err
    else:
        result = homelab_cli(
            "secrets", "restore", "--latest", "--yes", "-c", config, "--vault-addr", bao.address
        )
        assert result.code == 2, result.err
        assert words in result.err.replace("\n", "")
        assert "nothing live was touched" in result.err.replace("\n", "")
    assert "Traceback" not in result.err
    assert not bao.proc or bao.proc.poll() is None
    assert read_everything(client) == before
    assert "after/snapshot" in before


def test_damaged_snapshot_file_is_refused(
    bao: BaoServer,
    repo: Path,
    isolated: Path,
    s3_server: S3Server,
    homelab_cli: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    config, client, _ = _fresh_vault_with_a_snapshot(bao, repo, isolated, s3_server, homelab_cli, tmp_path)
    saved = tmp_path / "vault.snap"
    assert (
        homelab_cli("secrets", "snapshot", "--to", str(saved), "-c", config, "--vault-addr", bao.address).code
        == 0
    )
    assert oct(saved.stat().st_mode & 0o777) == "0o600"
    before = read_everything(client)
    data = saved.read_bytes()
    saved.write_bytes(data[:-100])
    result = homelab_cli(
        "secrets", "restore", "--from", str(saved), "--yes", "-c", config, "--vault-addr", bao.address
    )
    assert result.code == 2
    assert f"{saved}: truncated: " in result.err.replace("\n", "")
    assert read_everything(client) == before
    again = homelab_cli("secrets", "snapshot", "--to", str(saved), "-c", config, "--vault-addr", bao.address)
    assert again.code == 2
    assert "already exists" in again.err


def test_wrong_age_identity_is_refused_and_nothing_written(
    bao: BaoServer, repo: Path, isolated: Path, s3_server: S3Server, homelab_cli: Cli, tmp_path: Path
) -> None:
    recipient, _ = age_pair(tmp_path)
    _, other = age_pair(tmp_path, "other.txt")
    config = write_config(repo, s3_server, recipient)
    assert homelab_cli("secrets", "init", "-c", config, "--vault-addr", bao.address).code == 0
    backup = tmp_path / "boot.age"
    assert homelab_cli("secrets", "backup", "--to", str(backup), "-c", config).code == 0
    bootstrap_file(isolated).unlink()
    wrong = homelab_cli(
        "secrets", "restore-bootstrap", "--from", str(backup), "--identity", str(other), "-c", config
    )
    assert wrong.code == 2
    assert "none of the identities in" in wrong.err.replace("\n", "")
    assert not bootstrap_file(isolated).exists()
    assert sorted(p.name for p in bootstrap_file(isolated).parent.iterdir()) == []
    not_a_key = tmp_path / "junk.txt"
    not_a_key.write_text("hello\n")
    junk = homelab_cli(
        "secrets", "restore-bootstrap", "--from", str(backup), "--identity", str(not_a_key), "-c", config
    )
    assert junk.code == 2
    assert "junk.txt:1: not an age X25519 identity" in junk.err.replace("\n", "")
    assert not bootstrap_file(isolated).exists()


FUTURE = "20991231T235959Z"


def test_a_future_dated_damaged_newest_snapshot_is_passed_with_before(
    bao: BaoServer,
    repo: Path,
    isolated: Path,
    s3_server: S3Server,
    homelab_cli: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A wrong clock stamped a damaged snapshot in 2099: `--latest` picks it every time and refuses it
    (exit 2, the key named, Vault untouched); `--latest --before 2099…` restores the good one."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    config, client, key = _fresh_vault_with_a_snapshot(bao, repo, isolated, s3_server, homelab_cli, tmp_path)
    s3 = s3_server.client()
    good = s3.get_object(Bucket=s3_server.bucket, Key=key)["Body"].read()  # type: ignore[attr-defined]
    future = f"homelab-dr/vault-raft/{FUTURE}.snap"
    s3.put_object(Bucket=s3_server.bucket, Key=future, Body=_flip(good, len(good) // 2))  # type: ignore[attr-defined]
    s3.put_object(
        Bucket=s3_server.bucket, Key=future + ".sha256", Body=dr_artifacts.sidecar_text(good).encode()
    )  # type: ignore[attr-defined]
    before = read_everything(client)
    addr = ("-c", config, "--vault-addr", bao.address)

    blocked = homelab_cli("secrets", "restore", "--latest", "--yes", *addr)
    assert blocked.code == 2, blocked.err
    assert f"{future}: corrupted: " in blocked.err.replace("\n", "")
    assert "--latest --before STAMP" in blocked.err.replace("\n", "")
    assert read_everything(client) == before

    passed = homelab_cli("secrets", "restore", "--latest", "--before", FUTURE, "--yes", *addr)
    assert passed.code == 0, passed.err
    assert key in passed.err
    after = read_everything(client)
    assert "after/snapshot" in before
    assert "after/snapshot" not in after, "the older snapshot was restored"

    none = homelab_cli("secrets", "restore", "--latest", "--before", "2000-01-01", "--yes", *addr)
    assert none.code == 2
    assert "no complete vault-raft backup taken before 20000101T000000Z" in none.err.replace("\n", "")
