"""The only code that writes the output tree; it implements the output-repo contract.

- The user owns the repo; we own only what `.homelab/manifest.json` lists (path -> sha256).
- A generated file whose bytes no longer match the manifest was edited by hand: we refuse to
  overwrite or delete it (naming it) unless `force` is given. A file we never generated is never
  touched; if the render wants its path, that is a conflict as well.
- Atomic: every new file is first staged under `.homelab/staging/` (same filesystem) and fsynced.
  Only then is a journal (`.homelab/pending.json`) renamed into place: that is the commit point.
  A crash before it leaves the old tree intact (the staging folder is swept, now or next time);
  a crash after it is rolled forward by the next run, which finishes the renames and deletions
  the journal lists. Every step after the commit point is idempotent, so a crash while rolling
  forward is rolled forward again.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from homelabeazy import __version__
from homelabeazy.atomic_file import create_new
from homelabeazy.errors import ExitCode, HomelabError, UsageError

STATE_DIR = ".homelab"
MANIFEST = f"{STATE_DIR}/manifest.json"
JOURNAL = f"{STATE_DIR}/pending.json"
TMP_DIR = f"{STATE_DIR}/staging"
LOCK = f"{STATE_DIR}/render.lock"
# Generated paths never live here: our own state, and Git's (a manifest arrives by `git pull`).
RESERVED_TOPS = frozenset({STATE_DIR, ".git"})


class WriterError(HomelabError):
    """The output tree cannot be written or its render state is damaged (exit 1, never a traceback)."""


class UnsafePathError(HomelabError):
    """A path to write or delete would land outside the output tree (exit 2: the input is hostile or broken).

    The manifest and the journal are files in the repo, so they arrive by `git pull` as well; their
    paths are input like the config, and are checked before anything is touched.
    """

    exit_code = ExitCode.BAD_INPUT


def check_rel(rel: object, source: str) -> str:
    """`rel` as a plain relative path inside the tree (no `..`, not absolute, not in .homelab/ or .git/)."""
    text = rel if isinstance(rel, str) else ""
    parts = PurePosixPath(text).parts
    if (
        not parts
        or "\0" in text
        or "\\" in text
        or PurePosixPath(text).is_absolute()
        or any(part in ("..", ".") for part in text.split("/"))
        or parts[0] in RESERVED_TOPS
    ):
        raise UnsafePathError(
            f"{source}: the path {rel!r} is not a plain relative path inside the output tree; "
            "nothing was written or deleted (restore that file from Git or delete it, then render again)"
        )
    return text


def inside(out: Path, rel: str, source: str) -> Path:
    """`out / rel` after resolving every symlink, refused unless it is still inside `out`.

    A symlinked folder in the tree pointing elsewhere would otherwise carry our writes and
    deletions out of it; so would a symlinked `.homelab/`.
    """
    root = out.resolve()
    target = (out / rel).resolve()
    if root not in target.parents:
        raise UnsafePathError(
            f"{source}: {out / rel} resolves to {target}, outside the output tree {root} (a symlink?); "
            "nothing was written or deleted (replace the symlink with a real folder, then render again)"
        )
    return out / rel


def _check_all(out: Path, rels: Iterable[str], source: str) -> None:
    for rel in rels:
        inside(out, check_rel(rel, source), source)


@contextlib.contextmanager
def exclusive(out: Path) -> Iterator[None]:
    """Hold the output tree's render lock for a whole render: one writer at a time per tree.

    Two renders interleaving their plans, renames and deletions would leave a mix of both trees
    and a manifest matching neither. An advisory flock on `.homelab/render.lock`, dropped by the
    kernel when the process dies, so a crashed render never leaves the tree locked. The second
    render fails at once (exit 1) rather than queueing behind a render it cannot see.
    """
    out.mkdir(parents=True, exist_ok=True)
    path = inside(out, LOCK, "the render lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WriterError(
                f"another `homelab render` is writing {out} (it holds {path}); "
                "wait for it to finish, then run again"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def sha256(text: str) -> str:
    """Hash of a file's UTF-8 bytes, as the manifest records it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RenderPlan:
    """What a render would do to the tree: a pure description, so --check and diff are free."""

    create: tuple[str, ...] = ()
    update: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    files: Mapping[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """Whether applying this plan would change anything."""
        return bool(self.create or self.update or self.delete)


def read_manifest(out: Path) -> dict[str, str]:
    """Generated path -> hash, from the last render (empty for a new tree)."""
    path = out / MANIFEST
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data.get("files", {}) if isinstance(data, dict) else {}
        manifest = {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}
    except (OSError, ValueError):
        return {}
    _check_all(out, manifest, str(path))
    return manifest


def _disk_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None
    except (IsADirectoryError, NotADirectoryError):
        return "<blocked>"  # a folder sits at the path, or a file where a folder must be: a conflict


def plan(out: Path, files: Mapping[str, str]) -> RenderPlan:
    """Compare the wanted files with the tree and its manifest."""
    manifest = read_manifest(out)
    _check_all(out, files, "the rendered files")
    create, update, unchanged, conflicts, delete = [], [], [], [], []
    for rel in sorted(files):
        want = sha256(files[rel])
        have = _disk_hash(out / rel)
        if have is None:
            create.append(rel)
        elif have == want:
            unchanged.append(rel)
        elif manifest.get(rel) == have:
            update.append(rel)
        else:  # edited by hand since we wrote it, or a file we never generated
            conflicts.append(rel)
    for rel in sorted(set(manifest) - set(files)):
        have = _disk_hash(out / rel)
        if have is None:
            continue
        if have == manifest[rel]:
            delete.append(rel)
        else:
            conflicts.append(rel)
    return RenderPlan(
        tuple(create), tuple(update), tuple(delete), tuple(unchanged), tuple(sorted(conflicts)), dict(files)
    )


def unified_diff(out: Path, files: Mapping[str, str]) -> str:
    """What a render would change, as a unified diff against the tree."""
    result = plan(out, files)
    chunks: list[str] = []
    for rel in (*result.create, *result.update, *result.conflicts, *result.delete):
        old_path = out / rel
        old = old_path.read_text(encoding="utf-8", errors="replace") if old_path.is_file() else ""
        new = files.get(rel, "")
        chunks.extend(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                new.splitlines(keepends=True),
                fromfile=f"a/{rel}" if old_path.exists() else "/dev/null",
                tofile=f"b/{rel}" if rel in files else "/dev/null",
            )
        )
    return "".join(chunks)


def _temp_for(out: Path, rel: str) -> Path:
    """Where the next version of `rel` is staged: inside our state folder, never in the user's tree.

    Same filesystem as the target (so the rename is atomic), and a crash leaves nothing stray
    among the user's files: the whole staging folder is ours to sweep.
    """
    return out / TMP_DIR / hashlib.sha256(rel.encode("utf-8")).hexdigest()[:32]


def _write_temp(out: Path, rel: str, text: str) -> Path:
    """Stage `rel` under its fixed name in the staging folder, created anew (never opened through
    whatever sits at that name: a leftover or a planted symlink is removed first, not followed)."""
    temp = _temp_for(out, rel)
    temp.parent.mkdir(parents=True, exist_ok=True)
    temp.unlink(missing_ok=True)
    try:
        create_new(temp, text.encode("utf-8"), f"the staged {rel}", mode=0o666)
    except (FileExistsError, UsageError) as exc:
        raise WriterError(f"{temp}: cannot stage {rel}: {exc}") from None
    return temp


def _install(out: Path, rel: str) -> None:
    """Move the staged `rel` into place (atomic rename); nothing to do when already moved."""
    temp = _temp_for(out, rel)
    if temp.exists():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)


def _atomic_write(out: Path, rel: str, text: str) -> None:
    _write_temp(out, rel, text)
    _install(out, rel)


def _sweep_staging(out: Path) -> None:
    shutil.rmtree(out / TMP_DIR, ignore_errors=True)


def _read_journal(out: Path) -> dict[str, Any]:
    journal = out / JOURNAL
    try:
        data: dict[str, Any] = json.loads(journal.read_text(encoding="utf-8"))
        if not (
            isinstance(data, dict)
            and isinstance(data.get("rename"), list)
            and isinstance(data.get("delete"), list)
            and isinstance(data.get("manifest"), dict)
        ):
            raise ValueError("missing rename/delete/manifest")
    except (OSError, ValueError, AttributeError) as exc:
        raise WriterError(
            f"{journal} (an interrupted render's journal) cannot be read: {exc}; delete it and "
            "re-render (check the generated files with `git status` first)"
        ) from None
    _check_all(out, [*data["rename"], *data["delete"], *data["manifest"]], str(journal))
    return data


def pending(out: Path) -> bool:
    """Whether a render crashed after its commit point and still has to be rolled forward."""
    return (out / JOURNAL).exists()


def recover(out: Path) -> bool:
    """Finish a render that crashed after its commit point; drop the staging of one that did not.

    Returns True when an interrupted render was rolled forward.
    """
    rolled = False
    if pending(out):
        data = _read_journal(out)
        _finish(out, data["rename"], data["delete"], data["manifest"])
        rolled = True
    if out.exists():
        _sweep_staging(out)
    return rolled


def _finish(out: Path, renames: list[str], deletes: list[str], manifest: dict[str, str]) -> None:
    """Everything after the commit point; each step is idempotent so a re-run can repeat it."""
    for rel in renames:
        _install(out, rel)
    for rel in deletes:
        with contextlib.suppress(FileNotFoundError):
            (out / rel).unlink()
        _prune_empty_dirs(out, (out / rel).parent)
    _atomic_write(out, MANIFEST, _manifest_text(manifest))
    (out / JOURNAL).unlink(missing_ok=True)
    _sweep_staging(out)


def _prune_empty_dirs(out: Path, directory: Path) -> None:
    root = out.resolve()
    current = directory.resolve()
    while current != root and root in current.parents:
        try:
            current.rmdir()
        except OSError:
            return
        current = current.parent


def _manifest_text(manifest: Mapping[str, str]) -> str:
    data = {"generator": f"homelabeazy {__version__}", "files": dict(sorted(manifest.items()))}
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def apply(out: Path, result: RenderPlan, *, force: bool = False) -> None:
    """Carry out a plan atomically (see the module doc). Conflicts must be resolved by the caller.

    The plan should be made after `recover(out)`; apply recovers too, for callers that did not.
    """
    out.mkdir(parents=True, exist_ok=True)
    recover(out)
    writes = [*result.create, *result.update]
    deletes = list(result.delete)
    if force:
        writes += [c for c in result.conflicts if c in result.files]
        deletes += [c for c in result.conflicts if c not in result.files]
    _check_all(out, [*writes, *deletes, *result.files], "the render plan")
    for state in (MANIFEST, JOURNAL, TMP_DIR):
        inside(out, state, "the render state folder")
    manifest = {rel: sha256(text) for rel, text in result.files.items()}
    journal = {"rename": sorted(writes), "delete": sorted(deletes), "manifest": manifest}
    try:
        for rel in writes:
            _write_temp(out, rel, result.files[rel])
        _write_temp(out, JOURNAL, json.dumps(journal, indent=1, sort_keys=True))
        _install(out, JOURNAL)  # the commit point
    except BaseException:
        if not pending(out):  # before the commit point: the old tree stands, drop what was staged
            _sweep_staging(out)
        raise
    _finish(out, sorted(writes), sorted(deletes), manifest)
