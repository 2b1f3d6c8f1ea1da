"""Small JSON caches in the user's cache dir (`$XDG_CACHE_HOME/homelabeazy/`): best effort, atomic.

A cache that cannot be read is empty; one that cannot be written only costs time next run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from homelabeazy.atomic_file import write_atomic
from homelabeazy.errors import UsageError


def cache_root() -> Path:
    """`$XDG_CACHE_HOME/homelabeazy` (default ~/.cache/homelabeazy)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "homelabeazy"


def read_json(path: Path) -> Any:
    """The JSON value stored at `path`, or None."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(path: Path, value: Any) -> None:
    """Replace `path` atomically with `value` as JSON; errors are swallowed (it is a cache)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(value, separators=(",", ":")).encode("utf-8"), "a cache", mode=0o666)
    except (OSError, UsageError):
        return
