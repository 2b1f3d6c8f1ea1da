"""What a stage depends on, and its hash: repo files under some folders plus parts of the model.

A stage re-runs when this hash changes. The hash covers file *contents* and relative paths (not
timestamps), so a re-render that produces the same bytes changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

from homelabeazy.model import Homelab

ModelPart = Callable[[Homelab], Any]


@dataclass(frozen=True)
class StageInputs:
    """The inputs of a stage: repo paths (files or folders) and named parts of the model."""

    paths: tuple[str, ...] = ()
    model: tuple[tuple[str, ModelPart], ...] = ()

    def describe(self) -> str:
        """Human summary for --dry-run and docs: `terraform/, model: nodes`."""
        parts = [f"{p}/" if "." not in Path(p).name else p for p in self.paths]
        parts += [f"model: {name}" for name, _ in self.model]
        return ", ".join(parts) or "none"


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "model_dump"):
        return _jsonable(value.model_dump(mode="json"))
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _files_under(repo: Path, rel: str) -> list[Path]:
    target = repo / rel
    if target.is_file():
        return [target]
    if not target.is_dir():
        return []
    return sorted(p for p in target.rglob("*") if p.is_file())


def inputs_hash(inputs: StageInputs, repo: Path, homelab: Homelab) -> str:
    """sha256 over the files' relative paths and bytes and the model parts' canonical JSON."""
    digest = hashlib.sha256()
    for rel in inputs.paths:
        digest.update(f"path {rel}\n".encode())
        for file in _files_under(repo, rel):
            digest.update(f"file {file.relative_to(repo).as_posix()}\n".encode())
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    for name, part in inputs.model:
        text = json.dumps(_jsonable(part(homelab)), sort_keys=True, separators=(",", ":"))
        digest.update(f"model {name}\n{text}\n".encode())
    return digest.hexdigest()
