"""Files holding secrets never land inside the homelab repository, whatever the path looks like.

One rule guards them all (`secret_files.ensure_outside_repo`): the Vault bootstrap file (unseal keys
and root token, run by `lifecycle/secrets.bootstrap_file_check` before Vault is initialised and by
`restore-bootstrap`), a directory export and a raft snapshot written with --to. One `git add .` would
publish any of them. The rule is about where the bytes end up, not how the path is
spelt: each bypass below (`..` through a sibling, a symlink into the repo, the repo named through a
symlink, `~`) is refused, and each near miss (a sibling whose name starts like the repo's, the repo's
parent, an absolute path elsewhere) is accepted. A check written with `absolute()` instead of
`resolve()`, or without `expanduser()`, lets a bypass through and fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from homelabeazy.errors import UsageError
from homelabeazy.lifecycle import secrets
from homelabeazy.lifecycle.dr import directory_backup, vault_snapshots
from homelabeazy.ops import vault_bootstrap
from homelabeazy.secret_files import ensure_outside_repo

Guard = Callable[[Path, Path], None]


def _rule(what: str) -> Guard:
    return lambda path, repo_dir: ensure_outside_repo(path, repo_dir, what)


GUARDS: dict[str, tuple[Guard, str]] = {
    "vault-bootstrap": (_rule(vault_bootstrap.WHAT), "the Vault bootstrap file (it holds the unseal keys"),
    "directory-export": (_rule(directory_backup.WHAT), "a directory export (it holds every password hash)"),
    "raft-snapshot": (_rule(vault_snapshots.WHAT), "a raft snapshot (it holds every secret in Vault)"),
    "bootstrap-file-check": (secrets.bootstrap_file_check, "the Vault bootstrap file (it holds the unseal"),
}


@pytest.fixture(params=sorted(GUARDS))
def guard(request: pytest.FixtureRequest) -> tuple[Guard, str]:
    return GUARDS[request.param]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with a folder in it, a sibling folder and the repo's parent (`tmp_path`)."""
    (tmp_path / "repo" / "backups").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    return tmp_path / "repo"


def refused(guard: tuple[Guard, str], path: Path, repo_dir: Path) -> str:
    check, words = guard
    with pytest.raises(UsageError) as caught:
        check(path, repo_dir)
    message = str(caught.value)
    assert words in message
    assert message.startswith(f"{path}: "), message
    assert f"repository {repo_dir.expanduser().resolve()}" in message, message
    return message


# --- inside: refused -----------------------------------------------------------------------------


def test_a_file_in_the_repo_is_refused(guard: tuple[Guard, str], repo: Path) -> None:
    refused(guard, repo / "keys.json", repo)
    refused(guard, repo / "backups" / "deep" / "keys.json", repo)


def test_the_repo_itself_is_refused(guard: tuple[Guard, str], repo: Path) -> None:
    refused(guard, repo, repo)


def test_dot_dot_through_a_sibling_is_refused(guard: tuple[Guard, str], repo: Path) -> None:
    """`elsewhere/../repo/keys.json` is in the repo: its unresolved parents never name the repo."""
    sneaky = repo.parent / "elsewhere" / ".." / "repo" / "keys.json"
    assert repo not in sneaky.absolute().parents  # what a check without resolve() would look at
    refused(guard, sneaky, repo)


def test_a_symlink_into_the_repo_is_refused(guard: tuple[Guard, str], repo: Path) -> None:
    link = repo.parent / "elsewhere" / "looks-outside"
    link.symlink_to(repo / "backups", target_is_directory=True)
    refused(guard, link / "keys.json", repo)


def test_the_repo_named_through_a_symlink_is_refused(guard: tuple[Guard, str], repo: Path) -> None:
    """The repo directory given as a link (a checkout under ~/src -> /srv/…): the real path counts."""
    alias = repo.parent / "repo-alias"
    alias.symlink_to(repo, target_is_directory=True)
    refused(guard, repo / "keys.json", alias)
    refused(guard, alias / "keys.json", repo)


def test_a_relative_path_is_read_from_the_working_directory(
    guard: tuple[Guard, str], repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo / "backups")
    refused(guard, Path("keys.json"), repo)
    refused(guard, Path("keys.json"), Path(".."))


def test_a_home_relative_path_is_expanded(
    guard: tuple[Guard, str], repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`~/repo/keys.json` with HOME the repo's parent: inside (never a folder named `~`)."""
    monkeypatch.setenv("HOME", str(repo.parent))
    monkeypatch.chdir(repo.parent / "elsewhere")
    refused(guard, Path("~/repo/keys.json"), repo)
    refused(guard, repo / "keys.json", Path("~/repo"))


# --- outside: accepted ---------------------------------------------------------------------------


def test_a_sibling_whose_name_starts_like_the_repo_is_outside(guard: tuple[Guard, str], repo: Path) -> None:
    """`repo-keys/` is not `repo/`: the rule compares path parts, not string prefixes."""
    check, _ = guard
    check(repo.parent / "repo-keys" / "keys.json", repo)
    check(repo.parent / "repokeys.json", repo)


def test_the_repos_parent_and_an_absolute_path_elsewhere_are_outside(
    guard: tuple[Guard, str], repo: Path
) -> None:
    check, _ = guard
    check(repo.parent / "keys.json", repo)
    check(repo.parent / "elsewhere" / "keys.json", repo)
    check(repo / ".." / "elsewhere" / "keys.json", repo)


def test_a_symlink_out_of_the_repo_is_outside(guard: tuple[Guard, str], repo: Path) -> None:
    """The other way round: a link inside the repo pointing out stores the file outside."""
    (repo / "out").symlink_to(repo.parent / "elsewhere", target_is_directory=True)
    check, _ = guard
    check(repo / "out" / "keys.json", repo)


# --- the bootstrap file is also new --------------------------------------------------------------


def test_an_existing_bootstrap_file_is_refused_before_init(repo: Path) -> None:
    """Outside the repo but already there: it may hold another Vault's keys, never overwritten."""
    existing = repo.parent / "elsewhere" / "vault-bootstrap.json"
    existing.write_text("{}", encoding="utf-8")
    with pytest.raises(UsageError, match="already exists but Vault at this address is not initialised"):
        secrets.bootstrap_file_check(existing, repo)
    secrets.bootstrap_file_check(existing.with_name("new.json"), repo)
