"""Small JSON caches in the user's cache dir (`$XDG_CACHE_HOME/homelabeazy/`): best effort, atomic.

A cache that cannot be read is empty; one that cannot be written only costs time next run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from homelabeazy.atomic_file import write_atomic
from homelabeazy.errors import UsageError
from homelabeazy.ops.tools import find_tool


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


def fingerprint(paths: Sequence[Path]) -> str:
    """What each path is now (size and modification time, or "absent"), as one text.

    Cheap enough to take on every run: a cached answer about a tool stays valid exactly as long
    as none of the files it depends on was replaced.
    """
    parts = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            parts.append(f"{path}:absent")
            continue
        parts.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(parts)


def tool_files(names: Sequence[str]) -> list[Path]:
    """The executables a check runs (beside this Python first, as `find_tool` looks), and for
    ansible-playbook every installed collection's MANIFEST.json: a syntax check resolves module
    names through them, so installing or removing one can change its answer."""
    found: list[Path] = []
    for name in names:
        tool = find_tool(name)
        found.append(Path(tool) if tool else Path(f"<no {name}>"))
        if name == "ansible-playbook" and tool:
            found.extend(_collection_manifests(Path(tool)))
    return found


def _collection_manifests(binary: Path) -> list[Path]:
    roots = [Path.home() / ".ansible/collections", Path("/usr/share/ansible/collections")]
    for variable in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS"):
        roots += [Path(p) for p in os.environ.get(variable, "").split(os.pathsep) if p]
    roots += sorted(binary.resolve().parent.parent.glob("lib/python3*/site-packages"))
    manifests: list[Path] = []
    for root in roots:
        folder = root if root.name == "ansible_collections" else root / "ansible_collections"
        manifests.append(folder)
        manifests.extend(sorted(folder.glob("*/*/MANIFEST.json")))
    return manifests
