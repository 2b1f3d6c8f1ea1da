"""Two rules for the files a user points the CLI at: where a secret may be written, and how input is read.

Where a secret may go (`ensure_outside_repo`). The Vault bootstrap file (unseal keys, root token),
an LDIF export (every password hash) and a raft snapshot written with `--to` (every secret) must
never land inside the homelab repository: one `git add .` would publish them, and a `.gitignore`
line is a promise nobody checks. Every command that writes one calls this rule, with the same
answer and the same exit code (2). The path is compared after `resolve()`, so neither a symlink nor
`..` walks a secret back into the repository. The repository is the folder of `homelab.yaml`, or
the Git work tree around it when there is one (the nearest parent holding `.git`). The age
encrypted bootstrap backup is exempt on purpose: it is ciphertext, made to be kept anywhere.

How an input file is read (`read_input`). A backup, a checksum sidecar, an age identity or a
bootstrap file named on the command line is read only when it is a regular file, and at most
`limit` bytes of it: a FIFO would block the command forever and `/dev/zero` would fill the
memory, so both are bad input (exit 2) with a message naming the file, before a byte is read.
The file is opened non-blocking and checked on the open descriptor, so what is checked is what
is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from homelabeazy.errors import UsageError

_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def repository_root(repo_dir: Path) -> Path:
    """The Git work tree holding `repo_dir` (its nearest parent with `.git`), else `repo_dir` itself."""
    start = repo_dir.expanduser().resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def ensure_outside_repo(path: Path, repo_dir: Path, what: str) -> None:
    """Refuse (exit 2) to write `what`, a file holding secrets, at `path` inside the repository.

    `what` says what the file holds and why that matters, e.g. "the Vault bootstrap file (unseal
    keys and root token)"; the message names the path as given and the repository it resolves into.
    """
    target = path.expanduser().resolve()
    for repo in dict.fromkeys((repo_dir.expanduser().resolve(), repository_root(repo_dir))):
        if target == repo or repo in target.parents:
            raise UsageError(
                f"{path}: {what} must live outside the homelab repository {repo} (one `git add .` "
                "would publish it, ignored by Git or not); choose a path elsewhere, e.g. under ~/.config"
            )


def read_input(path: Path, what: str, limit: int) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them; a usage error (exit 2)
    naming `path` when it is missing, unreadable, not a regular file, or larger than `limit`."""
    try:
        fd = os.open(path, _READ_FLAGS)  # read only: O_RDONLY, never a write
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file (the {what})") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = (
                "a directory"
                if stat.S_ISDIR(info.st_mode)
                else "not a regular file (a FIFO, device or socket)"
            )
            raise UsageError(f"{path}: the {what} must be a regular file, and this is {kind}")
        if info.st_size > limit:
            raise UsageError(
                f"{path}: the {what} is {info.st_size} bytes, more than the {limit} this command reads"
            )
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise UsageError(f"{path}: the {what} grew past the {limit} bytes this command reads")
    return b"".join(chunks)
