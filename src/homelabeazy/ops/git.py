"""Reading a file as a local git repository holds it at a revision (`homelab diff --objects --base`).

The only code that runs `git show`. Nothing here writes to the repository or talks to a remote.
Every failure is a UsageError (exit 2) naming git and the revision: a revision or path that does
not exist is the user's input, and `diff --objects` reserves exit 1 for "the objects differ".
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from homelabeazy.errors import UsageError

TIMEOUT = 30.0


@dataclass(frozen=True)
class RevisionFile:
    """A file's text at a revision, and where it lives in the repository."""

    text: str
    revision: str
    commit: str
    path: str
    """Relative to the repository's top folder, `/`-separated."""


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
            # No pager, no prompt, and no user-wide config that could rewrite what is read.
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat"},
        )
    except FileNotFoundError:
        raise UsageError(
            "git: not installed; `homelab diff --objects` reads the base revision with git"
        ) from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"git: no answer in {TIMEOUT:g}s reading {folder}") from None


def _answer(done: subprocess.CompletedProcess[bytes]) -> str:
    lines = [line.strip() for line in done.stderr.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else f"exit code {done.returncode}"


def show_file(file: Path, revision: str, limit: int) -> RevisionFile:
    """`file` (a path in a git work tree) as it is at `revision` (`HEAD`, a branch, a commit)."""
    if not revision or revision.startswith("-") or any(c in revision for c in "\0\n"):
        raise UsageError(f"git: {revision!r} is not a revision name")
    folder = file.resolve().parent
    top = _git(folder, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise UsageError(f"git: {folder} is not inside a git repository ({_answer(top)})")
    root = Path(top.stdout.decode().strip())
    try:
        rel = file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:  # a symlink into another repository: its history is not this one's
        raise UsageError(f"git: {file} resolves outside the repository {root}") from None
    commit = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}")
    if commit.returncode != 0:
        raise UsageError(f"git: no revision {revision} in {root}")
    sha = commit.stdout.decode().strip()
    shown = _git(root, "show", f"{sha}:{rel}")
    if shown.returncode != 0:
        raise UsageError(f"git: {rel} does not exist at revision {revision} ({sha[:12]}) in {root}")
    if len(shown.stdout) > limit:
        raise UsageError(f"git: {rel} at revision {revision} is larger than {limit} bytes")
    try:
        text = shown.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"git: {rel} at revision {revision} is not UTF-8 text") from None
    return RevisionFile(text, revision, sha, rel)
