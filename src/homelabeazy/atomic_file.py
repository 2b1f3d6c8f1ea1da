"""The one way homelabeazy writes a file: never through a symlink, never half, never too open.

Every file the tool writes goes through here (the render writer's staging, the `homelab up`
journal, `homelab.yaml` after `upgrade k3s` and `import --record`, the Vault bootstrap file, the
backups, the deploy key, the caches). Two operations:

- `write_atomic(path, data)` replaces `path`. The new content goes into a temporary file beside it,
  created with a random name, `O_CREAT | O_EXCL | O_NOFOLLOW` (so a file or symlink someone planted
  at a predictable name is never opened, let alone written through), with the final mode from its
  first byte, fsynced, then renamed over `path`. A reader, or a crash, sees the old file or the new
  one. The mode: for a new file, `mode` less the umask; when `path` is already a regular file, its
  own permission bits intersected with `mode`, so a 0600 `homelab.yaml` stays 0600 and a secret is
  never wider than `mode`.
- `create_new(path, data)` creates `path` only if nothing is there (the same flags): for files
  that must never replace another (a raft snapshot written with `--to`, a freshly made key).

A symlink at `path` itself is replaced, not followed: the rename swaps the link for a regular file
and the link's target is left as it was. A link is where someone else decided the data should go,
and a tool writing secrets and configuration must not let a link decide that. (Keep `homelab.yaml`
as a real file in the repository; link to it from elsewhere if you like.)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from homelabeazy.errors import UsageError

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _write_all(fd: int, data: bytes) -> None:
    rest = memoryview(data)
    while rest:
        rest = rest[os.write(fd, rest) :]
    os.fsync(fd)


def _kept_mode(path: Path, mode: int) -> int | None:
    """The mode the replacement gets: the old regular file's bits within `mode` (None: no such file)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return stat.S_IMODE(info.st_mode) & mode


def create_new(path: Path, data: bytes, what: str, mode: int = 0o600) -> None:
    """Create `path` holding `data` when nothing (not even a dangling symlink) is there.

    Raises FileExistsError when something is; any other failure is a UsageError naming `what`.
    """
    try:
        fd = os.open(path, _FLAGS, mode)
    except FileExistsError:
        raise
    except OSError as exc:
        raise UsageError(f"{path}: cannot create {what}: {exc.strerror}") from None
    try:
        _write_all(fd, data)
    except OSError as exc:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write {what}: {exc.strerror}") from None
    os.close(fd)


def write_atomic(path: Path, data: bytes, what: str, mode: int = 0o600) -> None:
    """Replace `path` with `data` (see the module doc); a failure is a UsageError naming `what`
    and leaves no temporary behind."""
    if path.is_dir() and not path.is_symlink():
        raise UsageError(f"{path}: is a folder; name the file to write {what} to")
    kept = _kept_mode(path, mode)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(temporary, _FLAGS, mode if kept is None else 0o600)
        try:
            if kept is not None:
                os.fchmod(fd, kept)
            _write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        _sync_folder(path.parent)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write {what}: {exc.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: some filesystems cannot fsync a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
