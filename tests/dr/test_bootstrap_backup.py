"""The bootstrap file under age, without a Vault: encrypt, decrypt, and where the plaintext may go."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from homelabeazy.errors import UsageError
from homelabeazy.lifecycle.dr import bootstrap_backup
from homelabeazy.ops import vault_bootstrap
from tests.dr.vaultlab import age_pair

TOKEN = "s.root-token-for-the-test-0001"


def _bootstrap(path: Path, token: str = TOKEN) -> Path:
    vault_bootstrap.reserve(path)
    vault_bootstrap.store(
        path, vault_bootstrap.VaultBootstrap("http://127.0.0.1:8200", 1, 1, ("key-1",), token)
    )
    return path


def test_round_trip_restores_the_same_bytes_0600(tmp_path: Path) -> None:
    recipient, keyfile = age_pair(tmp_path)
    original = _bootstrap(tmp_path / "old" / "vault-bootstrap.json")
    backup = tmp_path / "b.age"
    bootstrap_backup.write_ciphertext(backup, bootstrap_backup.encrypt(original, [recipient]))
    assert TOKEN.encode() not in backup.read_bytes()
    home = tmp_path / "new" / "homelab" / "vault-bootstrap.json"
    done = bootstrap_backup.restore(backup, keyfile, home, tmp_path / "repo", force=False)
    assert done.written
    assert home.read_bytes() == original.read_bytes()
    assert stat.S_IMODE(home.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in home.parent.iterdir()) == ["vault-bootstrap.json"], "no temp file left"
    assert not bootstrap_backup.restore(backup, keyfile, home, tmp_path / "repo", force=False).written


def test_a_different_home_file_is_kept_unless_forced(tmp_path: Path) -> None:
    recipient, keyfile = age_pair(tmp_path)
    backup = tmp_path / "b.age"
    bootstrap_backup.write_ciphertext(
        backup, bootstrap_backup.encrypt(_bootstrap(tmp_path / "a.json"), [recipient])
    )
    home = _bootstrap(tmp_path / "home" / "vault-bootstrap.json", token="s.other")
    before = home.read_bytes()
    with pytest.raises(UsageError, match="holds other keys"):
        bootstrap_backup.restore(backup, keyfile, home, tmp_path / "repo", force=False)
    assert home.read_bytes() == before
    assert bootstrap_backup.restore(backup, keyfile, home, tmp_path / "repo", force=True).written
    assert TOKEN in home.read_text()


def test_no_recipients_and_a_readable_bootstrap_are_refused(tmp_path: Path) -> None:
    original = _bootstrap(tmp_path / "a.json")
    with pytest.raises(UsageError, match="age_recipients is empty"):
        bootstrap_backup.encrypt(original, [])
    original.chmod(0o644)
    recipient, _ = age_pair(tmp_path)
    with pytest.raises(UsageError, match="readable by other users"):
        bootstrap_backup.encrypt(original, [recipient])


def test_only_age_names_and_only_bootstrap_plaintexts(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"FILE\.age"):
        bootstrap_backup.write_ciphertext(tmp_path / "b.json", b"x")
    recipient, keyfile = age_pair(tmp_path)
    import pyrage

    foreign = tmp_path / "foreign.age"
    foreign.write_bytes(pyrage.encrypt(b"not json", [pyrage.x25519.Recipient.from_str(recipient)]))
    with pytest.raises(UsageError, match="not a Vault bootstrap file"):
        bootstrap_backup.restore(foreign, keyfile, tmp_path / "home.json", tmp_path / "repo", force=False)
    garbage = tmp_path / "garbage.age"
    garbage.write_bytes(b"age-encryption.org/v1\nnonsense")
    with pytest.raises(UsageError, match="not a readable age-encrypted file"):
        bootstrap_backup.restore(garbage, keyfile, tmp_path / "home.json", tmp_path / "repo", force=False)
    assert not (tmp_path / "home.json").exists()
