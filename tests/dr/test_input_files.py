"""Files the recovery commands read and write, without any server: issue 26's lifecycle findings.

- One rule for every secret-bearing file the CLI writes (`secret_files.ensure_outside_repo`):
  `restore-bootstrap --bootstrap-file` and `secrets snapshot --to` inside the repository (or the
  Git work tree around it, through a symlink or `..`) are refused, exit 2, before anything is
  decrypted or any server is asked.
- Bounded reads: `--from` a FIFO must not block, `/dev/zero` must not fill the memory, a file past
  the size limit is refused: exit 2 naming the file (`secret_files.read_input`). The commands run
  in a child process with a timeout and an address-space limit, so the code before the fix fails
  here instead of hanging the suite or the machine.
- A damaged or mismatched backup is bad input (exit 2, the file named), a snapshot and an LDIF
  export alike; `restore-bootstrap` into a directory is a precise error, not an internal one.
- `--before STAMP`: the newest backup older than STAMP, the way past a damaged newest one.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from homelabeazy.errors import ExitCode, UsageError
from homelabeazy.lifecycle.dr import bootstrap_backup
from homelabeazy.model import dr_artifacts
from homelabeazy.model.dr_artifacts import BackupIntegrityError
from homelabeazy.ops import vault_bootstrap
from homelabeazy.secret_files import ensure_outside_repo, read_input, repository_root
from tests.conftest import CliResult
from tests.dr.vaultlab import age_pair

CLOSED = "http://127.0.0.1:9"
"""A Vault address nothing listens on: a command that reaches for Vault fails (exit 1)."""


def _bootstrap(path: Path) -> Path:
    vault_bootstrap.reserve(path)
    vault_bootstrap.store(path, vault_bootstrap.VaultBootstrap(CLOSED, 1, 1, ("key-1",), "s.token-0001"))
    return path


@pytest.fixture
def age_backup(tmp_path: Path) -> tuple[Path, Path]:
    """An encrypted bootstrap backup (outside the repo) and the identity that opens it."""
    recipient, keyfile = age_pair(tmp_path)
    backup = tmp_path / "keys" / "bootstrap.age"
    backup.parent.mkdir()
    bootstrap_backup.write_ciphertext(
        backup, bootstrap_backup.encrypt(_bootstrap(tmp_path / "keys" / "b.json"), [recipient])
    )
    return backup, keyfile


def _restore_bootstrap(homelab_cli, repo: Path, backup: tuple[Path, Path], home: Path) -> CliResult:  # type: ignore[no-untyped-def]
    source, keyfile = backup
    return homelab_cli(
        "secrets",
        "restore-bootstrap",
        "--from",
        str(source),
        "--identity",
        str(keyfile),
        "--bootstrap-file",
        str(home),
        "-c",
        str(repo / "homelab.yaml"),
    )


# --- 1. one rule for every secret-bearing file ---------------------------------------------------


@pytest.mark.parametrize("where", ["in-repo", "through-dot-dot", "through-symlink"])
def test_restore_bootstrap_into_the_repo_is_refused_as_init_refuses_it(
    homelab_cli,
    repo: Path,
    age_backup: tuple[Path, Path],
    tmp_path: Path,
    where: str,  # type: ignore[no-untyped-def]
) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "link").symlink_to(repo, target_is_directory=True)
    home = {
        "in-repo": repo / "vault-bootstrap.json",
        "through-dot-dot": tmp_path / "elsewhere" / ".." / "repo" / "keys.json",
        "through-symlink": tmp_path / "elsewhere" / "link" / "keys.json",
    }[where]
    result = _restore_bootstrap(homelab_cli, repo, age_backup, home)
    assert result.code == ExitCode.BAD_INPUT, result.err
    err = result.err.replace("\n", "")
    assert f"{home}: the Vault bootstrap file" in err
    assert f"must live outside the homelab repository {repo.resolve()}" in err
    assert sorted(p.name for p in repo.iterdir()) == ["homelab.yaml"], "nothing written into the repo"


def test_restore_bootstrap_outside_the_repo_still_works(
    homelab_cli,
    repo: Path,
    age_backup: tuple[Path, Path],
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    home = tmp_path / "xdg" / "lab" / "vault-bootstrap.json"
    result = _restore_bootstrap(homelab_cli, repo, age_backup, home)
    assert result.code == 0, result.err
    assert home.read_bytes() == (tmp_path / "keys" / "b.json").read_bytes()


def test_the_git_work_tree_around_the_config_counts_as_the_repository(
    homelab_cli,
    repo: Path,
    age_backup: tuple[Path, Path],
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """homelab.yaml in a sub-folder of a Git checkout: a secret beside the sub-folder is still in Git."""
    (tmp_path / ".git").mkdir()
    assert repository_root(repo) == tmp_path.resolve()
    home = tmp_path / "keys.json"
    result = _restore_bootstrap(homelab_cli, repo, age_backup, home)
    assert result.code == ExitCode.BAD_INPUT, result.err
    assert f"repository {tmp_path.resolve()}" in result.err.replace("\n", "")
    assert not home.exists()
    with pytest.raises(UsageError, match="must live outside"):
        ensure_outside_repo(tmp_path / "x" / "y.snap", repo, "a raft snapshot")
    ensure_outside_repo(tmp_path.parent / f"{tmp_path.name}-other" / "y.snap", repo, "a raft snapshot")


def test_snapshot_to_the_repo_is_refused_before_vault_is_asked(homelab_cli, repo: Path) -> None:  # type: ignore[no-untyped-def]
    target = repo / "backups" / "vault.snap"
    result = homelab_cli(
        "secrets", "snapshot", "--to", str(target), "-c", str(repo / "homelab.yaml"), "--vault-addr", CLOSED
    )
    assert result.code == ExitCode.BAD_INPUT, result.err
    err = result.err.replace("\n", "")
    assert f"{target}: a raft snapshot (it holds every secret in Vault) must live outside" in err
    assert "127.0.0.1:9" not in err, "refused before Vault was contacted"
    assert not target.parent.exists()


def test_users_export_to_the_repo_is_refused_by_the_same_rule(homelab_cli, repo: Path) -> None:  # type: ignore[no-untyped-def]
    target = repo / "directory.ldif"
    result = homelab_cli(
        "users",
        "export",
        "--to",
        str(target),
        "-c",
        str(repo / "homelab.yaml"),
        "--ldap-url",
        "ldap://127.0.0.1:9",
    )
    assert result.code == ExitCode.BAD_INPUT, result.err
    assert (
        f"{target}: a directory export (it holds every password hash) must live outside"
        in result.err.replace("\n", "")
    )


# --- 2. bounded reads of regular files only -------------------------------------------------------


def _limit_memory() -> None:
    """The child may map at most 1.5 GiB: reading /dev/zero without a bound dies, not the machine."""
    resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024**2, 1536 * 1024**2))


def _homelab(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, "-m", "homelabeazy", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            preexec_fn=_limit_memory,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`homelab {' '.join(args)}` still running after 60 s (a blocking read)")


@pytest.fixture
def child_env(isolated: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "LDAP_", "AWS_", "HOMELAB_"))}
    env["XDG_CONFIG_HOME"] = str(isolated)
    env["LDAP_BIND_PASSWORD"] = "unused-password"
    return env


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "inputs" / "backup.fifo"
    path.parent.mkdir(exist_ok=True)
    os.mkfifo(path)
    dr_artifacts.sidecar_file(path).write_text(dr_artifacts.sidecar_text(b""))
    return path


def _commands(repo: Path, source: Path, keyfile: Path) -> dict[str, list[str]]:
    config = str(repo / "homelab.yaml")
    source_text, keyfile_text, ldap = str(source), str(keyfile), "ldap://127.0.0.1:9"
    bootstrap = ["secrets", "restore-bootstrap", "-c", config]
    return {
        "secrets-restore": [
            "secrets",
            "restore",
            "--from",
            source_text,
            "--yes",
            "-c",
            config,
            "--vault-addr",
            CLOSED,
        ],
        "users-import": ["users", "import", "--from", source_text, "--yes", "-c", config, "--ldap-url", ldap],
        "restore-bootstrap": [*bootstrap, "--from", source_text, "--identity", keyfile_text],
        "restore-bootstrap-identity": [*bootstrap, "--from", keyfile_text, "--identity", source_text],
    }


COMMANDS = ("secrets-restore", "users-import", "restore-bootstrap", "restore-bootstrap-identity")


@pytest.mark.slow  # seconds per case: left out of `make check`, run by `make test`
@pytest.mark.parametrize("command", COMMANDS)
def test_a_fifo_is_refused_without_blocking(
    repo: Path, fifo: Path, child_env: dict[str, str], tmp_path: Path, command: str
) -> None:
    _, keyfile = age_pair(tmp_path)
    done = _homelab(*_commands(repo, fifo, keyfile)[command], env=child_env)
    assert done.returncode == ExitCode.BAD_INPUT, done.stderr
    err = done.stderr.replace("\n", "")
    assert f"{fifo}: the " in err
    assert "must be a regular file, and this is not a regular file (a FIFO" in err
    assert "Traceback" not in done.stderr
    assert "internal error" not in done.stderr


@pytest.mark.slow  # seconds per case: left out of `make check`, run by `make test`
@pytest.mark.parametrize("command", COMMANDS)
def test_dev_zero_is_refused_before_a_byte_is_read(
    repo: Path, child_env: dict[str, str], tmp_path: Path, command: str
) -> None:
    _, keyfile = age_pair(tmp_path)
    done = _homelab(*_commands(repo, Path("/dev/zero"), keyfile)[command], env=child_env)
    assert done.returncode == ExitCode.BAD_INPUT, done.stderr[-2000:]
    assert "/dev/zero: the " in done.stderr
    assert "must be a regular file" in done.stderr.replace("\n", "")
    assert "Traceback" not in done.stderr
    assert "internal error" not in done.stderr


@pytest.mark.slow  # seconds per case: left out of `make check`, run by `make test`
def test_a_fifo_as_the_checksum_sidecar_is_refused_too(
    repo: Path, child_env: dict[str, str], tmp_path: Path
) -> None:
    snap = tmp_path / "inputs" / "vault.snap"
    snap.parent.mkdir()
    snap.write_bytes(b"x")
    os.mkfifo(dr_artifacts.sidecar_file(snap))
    done = _homelab(*_commands(repo, snap, snap)["secrets-restore"], env=child_env)
    assert done.returncode == ExitCode.BAD_INPUT, done.stderr
    assert f"{snap}.sha256: the checksum of the snapshot must be a regular file" in done.stderr.replace(
        "\n", ""
    )


def test_read_input_takes_exactly_the_limit_and_refuses_one_byte_more(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * 100)
    assert read_input(path, "backup", 100) == b"a" * 100
    with pytest.raises(
        UsageError, match=rf"^{path}: the backup is 100 bytes, more than the 99 this command reads$"
    ):
        read_input(path, "backup", 99)
    assert (
        read_input(tmp_path / "empty", "backup", 0) == b"" if (tmp_path / "empty").touch() is None else False
    )
    with pytest.raises(
        UsageError, match=rf"^{tmp_path}: the backup must be a regular file, and this is a directory$"
    ):
        read_input(tmp_path, "backup", 100)
    with pytest.raises(UsageError, match=rf"^{tmp_path / 'gone'}: no such file \(the backup\)$"):
        read_input(tmp_path / "gone", "backup", 100)


def test_restore_bootstrap_into_a_directory_is_a_precise_error(
    homelab_cli,
    repo: Path,
    age_backup: tuple[Path, Path],
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    home = tmp_path / "xdg" / "a-directory"
    home.mkdir(parents=True)
    result = _restore_bootstrap(homelab_cli, repo, age_backup, home)
    assert result.code == ExitCode.BAD_INPUT, result.err
    assert f"{home}: not a regular file" in result.err.replace("\n", "")
    assert "internal error" not in result.err
    assert list(home.iterdir()) == []


# --- 2. a damaged or mismatched backup: exit 2, the file named ------------------------------------


def test_backup_integrity_errors_are_bad_input() -> None:
    with pytest.raises(BackupIntegrityError) as caught:
        dr_artifacts.verify(b"abc", dr_artifacts.sidecar_text(b"abd"), "the-backup")
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    assert str(caught.value).startswith("the-backup: corrupted: ")


@pytest.mark.parametrize("damage", ["checksum-mismatch", "not-a-snapshot"])
def test_a_damaged_snapshot_file_exits_2_naming_it(
    homelab_cli,
    repo: Path,
    tmp_path: Path,
    damage: str,  # type: ignore[no-untyped-def]
) -> None:
    snap = tmp_path / "inputs" / "vault.snap"
    snap.parent.mkdir()
    snap.write_bytes(b"not a raft snapshot at all")
    sidecar = dr_artifacts.sidecar_text(
        snap.read_bytes().upper() if damage == "checksum-mismatch" else snap.read_bytes()
    )
    dr_artifacts.sidecar_file(snap).write_text(sidecar)
    result = homelab_cli(
        "secrets",
        "restore",
        "--from",
        str(snap),
        "--yes",
        "-c",
        str(repo / "homelab.yaml"),
        "--vault-addr",
        CLOSED,
    )
    assert result.code == ExitCode.BAD_INPUT, result.err
    reason = "corrupted" if damage == "checksum-mismatch" else "bad format"
    assert f"{snap}: {reason}: " in result.err.replace("\n", "")
    assert "127.0.0.1:9" not in result.err, "Vault was never asked"


def test_a_mismatched_ldif_file_exits_2_naming_it(homelab_cli, repo: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ldif = tmp_path / "inputs" / "directory.ldif"
    ldif.parent.mkdir()
    ldif.write_bytes(b"version: 1\n\ndn: dc=x\nobjectClass: top\n")
    dr_artifacts.sidecar_file(ldif).write_text(dr_artifacts.sidecar_text(b"other"))
    result = homelab_cli(
        "users",
        "import",
        "--from",
        str(ldif),
        "--yes",
        "-c",
        str(repo / "homelab.yaml"),
        "--ldap-url",
        "ldap://127.0.0.1:9",
    )
    assert result.code == ExitCode.BAD_INPUT, result.err
    assert f"{ldif}: truncated: " in result.err.replace(
        "\n", ""
    ) or f"{ldif}: oversized: " in result.err.replace("\n", "")


# --- 4. --before STAMP ---------------------------------------------------------------------------


def _listing(*stamps: str) -> list[str]:
    keys = [f"homelab-dr/vault-raft/{s}.snap" for s in stamps]
    return keys + [k + ".sha256" for k in keys]


def test_before_picks_the_newest_strictly_older_backup() -> None:
    listing = _listing("20261201T000000Z", "20261205T120000Z", "20991231T235959Z")
    newest = dr_artifacts.latest("vault-raft", listing)
    assert newest is not None
    assert newest.key.endswith("20991231T235959Z.snap")
    moment = dr_artifacts.parse_before("20991231T235959Z")
    older = dr_artifacts.latest("vault-raft", listing, moment)
    assert older is not None
    assert older.key.endswith("20261205T120000Z.snap")
    exactly = dr_artifacts.latest("vault-raft", listing, dr_artifacts.parse_before("20261205T120000Z"))
    assert exactly is not None
    assert exactly.key.endswith("20261201T000000Z.snap"), "strictly older"
    assert dr_artifacts.latest("vault-raft", listing, dr_artifacts.parse_before("2026-12-01")) is None


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("20261208T021500Z", datetime(2026, 12, 8, 2, 15, tzinfo=UTC)),
        ("2026-12-08", datetime(2026, 12, 8, tzinfo=UTC)),
        ("2026-12-08T02:15:00Z", datetime(2026, 12, 8, 2, 15, tzinfo=UTC)),
        ("2026-12-08T03:15:00+01:00", datetime(2026, 12, 8, 2, 15, tzinfo=UTC)),
    ],
)
def test_before_accepts_a_stamp_or_iso_8601(text: str, moment: datetime) -> None:
    assert dr_artifacts.parse_before(text) == moment


@pytest.mark.parametrize(
    "text", ["yesterday", "20261308T021500Z", "", "\uff12\uff10\uff12\uff16-12-08", "2026-12-08T25:00"]
)
def test_before_refuses_anything_else_precisely(text: str) -> None:
    with pytest.raises(UsageError, match=r"^--before .*: not a time; give a backup's stamp"):
        dr_artifacts.parse_before(text)


def test_before_needs_latest(homelab_cli, repo: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = str(repo / "homelab.yaml")
    for command in (
        ("secrets", "restore", "--from", str(tmp_path / "x.snap"), "--before", "2026-12-01", "-c", config),
        ("users", "import", "--from", str(tmp_path / "x.ldif"), "--before", "2026-12-01", "-c", config),
    ):
        result = homelab_cli(*command)
        assert result.code == ExitCode.BAD_INPUT, result.err
        assert "--before picks among the bucket's backups: use it with --latest" in result.err
