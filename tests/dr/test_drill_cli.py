"""`homelab dr drill` failures: bad input (exit 2), bad backups and wrong keys (exit 1), each
refused with a message naming what failed, and nothing left behind on this machine."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import hvac
import pyrage
import pytest

from homelabeazy.lifecycle.directory_ldif import RawEntry, write_ldif
from homelabeazy.lifecycle.dr import store, vault_snapshots
from homelabeazy.model import dr_artifacts
from homelabeazy.ops import vault_bootstrap
from homelabeazy.ops.objectstore import ObjectStore, S3Credentials, S3Target
from homelabeazy.ops.vault import VaultAdapter
from homelabeazy.ops.vault_bootstrap import VaultBootstrap
from tests.conftest import CliResult
from tests.dr.vaultlab import MOUNT, age_pair, write_config
from tests.secrets.servers import BaoServer
from tests.support.s3 import S3Server

Cli = Callable[..., CliResult]
BASE = "dc=home,dc=example,dc=com"


def _bucket(s3: S3Server) -> ObjectStore:
    return ObjectStore(
        S3Target(s3.bucket, s3.region, s3.endpoint), S3Credentials(s3.access_key_id, s3.secret_access_key)
    )


def _leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("homelab-dr-drill-*")}


def _ldif() -> bytes:
    base = RawEntry(
        BASE, {"objectClass": (b"top", b"dcObject", b"organization"), "dc": (b"home",), "o": (b"H",)}
    )
    return write_ldif([base], BASE)


@pytest.fixture
def drill_env(
    repo: Path, s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, S3Server]:
    """homelab.yaml on the test's bucket; keys and passwords from the environment."""
    recipient, _ = age_pair(tmp_path, "unused.txt")
    config = write_config(repo, s3_server, recipient)
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:9")  # never reached by these tests
    monkeypatch.setenv("VAULT_TOKEN", "unused-token")
    monkeypatch.setenv("LDAP_BIND_PASSWORD", "unused-password")
    return config, s3_server


def test_needs_an_ldap_url(homelab_cli: Cli, repo: Path) -> None:
    result = homelab_cli("dr", "drill", "-c", str(repo / "homelab.yaml"))
    assert result.code == 2
    assert "--ldap-url" in result.err


def test_identity_and_backup_go_together(homelab_cli: Cli, repo: Path, tmp_path: Path) -> None:
    config = str(repo / "homelab.yaml")
    result = homelab_cli("dr", "drill", "-c", config, "--ldap-url", "ldap://127.0.0.1:9", "-i", str(tmp_path))
    assert result.code == 2
    assert "--identity needs --bootstrap-backup" in result.err
    result = homelab_cli(
        "dr", "drill", "-c", config, "--ldap-url", "ldap://127.0.0.1:9", "--bootstrap-backup", str(tmp_path)
    )
    assert result.code == 2
    assert "needs --identity" in result.err


@pytest.mark.integration
def test_wrong_identity_is_refused(homelab_cli: Cli, drill_env: tuple[str, S3Server], tmp_path: Path) -> None:
    config, _ = drill_env
    right, _ = age_pair(tmp_path, "right.txt")
    _, wrong = age_pair(tmp_path, "wrong.txt")
    encrypted = tmp_path / "bootstrap.age"
    plain = b'{"address": "x", "shares": 1, "threshold": 1, "unseal_keys": ["k"], "root_token": "t"}'
    encrypted.write_bytes(pyrage.encrypt(plain, [pyrage.x25519.Recipient.from_str(right)]))
    result = homelab_cli(
        "dr", "drill", "-c", config, "--ldap-url", "ldap://127.0.0.1:9",
        "--bootstrap-backup", str(encrypted), "--identity", str(wrong),
    )  # fmt: skip
    assert result.code == 2
    assert "none of the identities" in result.err


@pytest.mark.integration
def test_corrupted_snapshot_is_refused_before_anything_starts(
    homelab_cli: Cli, drill_env: tuple[str, S3Server], tmp_path: Path
) -> None:
    config, s3 = drill_env
    path = tmp_path / "boot.json"
    vault_bootstrap.reserve(path)
    vault_bootstrap.store(path, VaultBootstrap("x", 1, 1, ("k",), "t"))
    store.upload(_bucket(s3), dr_artifacts.VAULT_RAFT, "snap", b"not a raft snapshot at all")
    store.upload(_bucket(s3), dr_artifacts.LDAP_LDIF, "ldif", _ldif())
    before = _leftovers()
    result = homelab_cli(
        "dr", "drill", "-c", config, "--ldap-url", "ldap://127.0.0.1:9", "--bootstrap-file", str(path)
    )
    assert result.code == 2
    assert "homelab-dr/vault-raft/" in result.err
    assert "refusing to restore it" in result.err
    assert _leftovers() == before


@pytest.mark.integration
def test_keys_of_another_vault_fail_and_leave_nothing(
    homelab_cli: Cli, drill_env: tuple[str, S3Server], bao: BaoServer, tmp_path: Path
) -> None:
    """A real snapshot, but the bootstrap file belongs to another Vault: the scratch OpenBao stays
    sealed, the drill says so, and the scratch servers and their files are gone."""
    config, s3 = drill_env
    live = VaultAdapter(bao.address)
    init = live.initialize(1, 1)
    live.unseal(init.unseal_keys)
    live.wait_active()
    live.set_token(init.root_token)
    hvac.Client(bao.address, token=init.root_token).sys.enable_secrets_engine(
        "kv", path=MOUNT, options={"version": "2"}
    )
    vault_snapshots.upload(vault_snapshots.take(live), _bucket(s3))
    store.upload(_bucket(s3), dr_artifacts.LDAP_LDIF, "ldif", _ldif())
    other = VaultBootstrap(bao.address, 1, 1, ("A" * 43 + "=",), "s.other")
    path = tmp_path / "other.json"
    vault_bootstrap.reserve(path)
    vault_bootstrap.store(path, other)
    before = _leftovers()
    result = homelab_cli(
        "dr", "drill", "-c", config, "--ldap-url", "ldap://127.0.0.1:9", "--bootstrap-file", str(path)
    )
    assert result.code == 1
    assert "scratch OpenBao" in result.err
    assert _leftovers() == before


def test_human_report(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json: each backup with its RPO, each restore with its RTO, counts, differences."""
    from datetime import UTC, datetime, timedelta

    from homelabeazy.cli.dr import _show
    from homelabeazy.lifecycle.dr.compare import Difference
    from homelabeazy.lifecycle.dr.drill import BackupUsed, DrillReport, RestoreTiming

    taken = datetime(2026, 11, 30, 6, 15, tzinfo=UTC)
    report = DrillReport(
        backups=[
            BackupUsed(
                "vault-raft", "homelab-dr/vault-raft/20261130T061500Z.snap", taken, timedelta(hours=3), 10
            )
        ],
        restores=[RestoreTiming("vault-raft", 0.25, 12.0)],
        counts={"live_secrets": 2, "backup_secrets": 1, "live_versions": 3, "backup_versions": 1},
        differences=[Difference("vault", "missing", "homelab/new", "2 versions")],
    )
    _show(report)
    err = " ".join(capsys.readouterr().err.split())
    assert "vault-raft: homelab-dr/vault-raft/20261130T061500Z.snap (10 bytes), RPO 3.0h" in err
    assert "vault-raft: restored in 12.2s (download 0.2s, restore 12.0s) — RTO" in err
    assert "Vault: 2 live secrets (3 versions), 1 restored (1 versions)" in err
    assert "missing vault: homelab/new (2 versions)" in err
    assert "1 difference(s)" in err
