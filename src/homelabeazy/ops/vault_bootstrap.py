"""The Vault bootstrap file: unseal keys and root token, 0600, never inside the homelab repo.

Vault hands out its unseal keys exactly once. The file is therefore reserved (created empty,
exclusively, mode 0600) *before* Vault is initialised, so a path that cannot be written is found
before the keys exist, and an existing file (keys of another Vault) is never overwritten.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from homelabeazy.atomic_file import create_new, write_atomic
from homelabeazy.errors import UsageError
from homelabeazy.secret_files import read_input


@dataclass(frozen=True, repr=False)
class VaultBootstrap:
    """What `homelab secrets init` keeps. repr hides every secret."""

    address: str
    shares: int
    threshold: int
    unseal_keys: tuple[str, ...]
    root_token: str

    def __repr__(self) -> str:
        return f"VaultBootstrap(address={self.address!r}, <keys and token hidden>)"


def default_bootstrap_path(homelab_name: str) -> Path:
    """~/.config/homelabeazy/<name>/vault-bootstrap.json (honours XDG_CONFIG_HOME)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "homelabeazy" / homelab_name / "vault-bootstrap.json"


WHAT = "the Vault bootstrap file (it holds the unseal keys and root token)"
"""How `secret_files.ensure_outside_repo` names the bootstrap file when it refuses a path."""
MAX_BYTES = 64 * 1024
"""A bootstrap file is a few hundred bytes; anything past this is not one (and is not read)."""


def reserve(path: Path) -> None:
    """Create `path` empty with mode 0600 (parents 0700); refuse when it already exists."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        create_new(path, b"", "the bootstrap file")
    except FileExistsError:
        raise UsageError(
            f"{path} already exists: it may hold the keys of another Vault; move it away or pass "
            "--bootstrap-file with a new path"
        ) from None


def release(path: Path) -> None:
    """Remove a reserved, still empty file after initialisation failed."""
    if path.exists() and path.stat().st_size == 0:
        path.unlink()


def store(path: Path, bootstrap: VaultBootstrap) -> None:
    """Write the keys into the reserved file and flush them to disk."""
    text = json.dumps(
        {
            "address": bootstrap.address,
            "shares": bootstrap.shares,
            "threshold": bootstrap.threshold,
            "unseal_keys": list(bootstrap.unseal_keys),
            "root_token": bootstrap.root_token,
        },
        indent=2,
        sort_keys=True,
    )
    write_atomic(path, (text + "\n").encode("utf-8"), "the bootstrap file")


def load(path: Path) -> VaultBootstrap:
    """Read the bootstrap file; refuse one others can read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise UsageError(
            f"{path}: no Vault bootstrap file (run `homelab secrets init`, or pass --bootstrap-file)"
        ) from None
    except OSError:
        raise UsageError(f"{path}: not a readable Vault bootstrap file") from None
    try:
        raw = json.loads(read_input(path, "Vault bootstrap file", MAX_BYTES).decode("utf-8"))
    except ValueError:
        raise UsageError(f"{path}: not a readable Vault bootstrap file") from None
    if stat.S_IMODE(mode) & 0o077:
        raise UsageError(f"{path}: readable by other users; run `chmod 600 {path}` first")
    return _from_json(raw, str(path))


def parse(text: str, where: str) -> VaultBootstrap:
    """A bootstrap file's content held in memory (a decrypted backup); `where` names it in errors."""
    try:
        raw = json.loads(text)
    except ValueError:
        raise UsageError(f"{where}: not a Vault bootstrap file written by `homelab secrets init`") from None
    return _from_json(raw, where)


def _from_json(raw: object, path: object) -> VaultBootstrap:
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: not a Vault bootstrap file written by `homelab secrets init`")
    try:
        return VaultBootstrap(
            address=str(raw["address"]),
            shares=int(raw["shares"]),
            threshold=int(raw["threshold"]),
            unseal_keys=tuple(str(k) for k in raw["unseal_keys"]),
            root_token=str(raw["root_token"]),
        )
    except (KeyError, TypeError, ValueError):
        raise UsageError(f"{path}: not a Vault bootstrap file written by `homelab secrets init`") from None


def replace(path: Path, content: bytes) -> None:
    """Write `content` as the bootstrap file at `path`, 0600 from its first byte, atomically.

    The temporary file lives beside the target (same 0700 folder, same 0600 mode) and is renamed
    over it, so the keys are never half-written and never readable by anyone else.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, content, "the bootstrap file")
