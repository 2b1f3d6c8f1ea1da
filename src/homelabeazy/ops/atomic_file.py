"""One way to replace a file atomically: a temporary beside it, fsynced, renamed over it.

The backups and the Vault bootstrap file are written this way, so a reader (or a crash) never
meets half a file, and a private file is 0600 from its first byte (the temporary is created with
the final mode, never chmod-ed afterwards).
"""

from __future__ import annotations

import os
from pathlib import Path

from homelabeazy.errors import UsageError


def write_atomic(path: Path, data: bytes, what: str, mode: int = 0o600) -> None:
    """Replace `path` with `data` (created with `mode`, the umask applying); a failure is a
    UsageError naming `what` was being written, and leaves no temporary behind."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            rest = memoryview(data)
            while rest:
                rest = rest[os.write(fd, rest) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write {what}: {exc.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)
