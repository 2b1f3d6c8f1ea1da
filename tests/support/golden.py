"""Golden-file comparison for renderers. Regenerate with UPDATE_GOLDEN=1 (then review the diff)."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def assert_golden(files: Mapping[str, str], name: str) -> None:
    """Compare rendered `files` with tests/golden/<name>/ exactly (extra and missing files count)."""
    root = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        if root.exists():
            for old in sorted(root.rglob("*"), reverse=True):
                old.unlink() if old.is_file() else old.rmdir()
        for rel, text in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        return
    assert root.exists(), f"no golden files for {name}; run with UPDATE_GOLDEN=1 and review them"
    have = {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in root.rglob("*") if p.is_file()}
    assert sorted(have) == sorted(files), f"file lists differ for {name}"
    for rel in sorted(files):
        if have[rel] != files[rel]:
            diff = "".join(
                difflib.unified_diff(
                    have[rel].splitlines(True),
                    files[rel].splitlines(True),
                    f"golden/{rel}",
                    f"rendered/{rel}",
                )
            )
            raise AssertionError(f"{name}/{rel} differs from its golden file:\n{diff}")
