"""The output-repo contract of render/writer.py: manifest, user edits, deletions, atomicity."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from homelabeazy.render import writer

OLD = {
    "README.md": "# lab\n",
    "docs/ARCHITECTURE.md": "old architecture\n",
    "terraform/main.tf": "resource {}\n",
    "kubernetes/apps/gone.yaml": "kind: App\n",
}
NEW = {
    "README.md": "# lab\n",  # unchanged
    "docs/ARCHITECTURE.md": "new architecture\n",  # updated
    "terraform/main.tf": "resource { x = 1 }\n",  # updated
    "network/zones.yaml": "zones: []\n",  # created, in a new folder
    # kubernetes/apps/gone.yaml: no longer generated -> deleted with its empty folders
}


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` (the state folder included), path -> bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def render(out: Path, files: dict[str, str], *, force: bool = False) -> writer.RenderPlan:
    writer.recover(out)
    result = writer.plan(out, files)
    if result.conflicts and not force:
        raise AssertionError(f"unexpected conflicts {result.conflicts}")
    writer.apply(out, result, force=force)
    return result


def test_first_render_writes_files_and_manifest(tmp_path: Path) -> None:
    result = render(tmp_path, OLD)
    assert result.create == tuple(sorted(OLD))
    for rel, text in OLD.items():
        assert (tmp_path / rel).read_text() == text
    manifest = json.loads((tmp_path / writer.MANIFEST).read_text())
    assert manifest["files"] == {rel: writer.sha256(text) for rel, text in sorted(OLD.items())}
    assert not (tmp_path / writer.JOURNAL).exists()
    assert not (tmp_path / writer.TMP_DIR).exists()


def test_rerender_changes_nothing_and_is_byte_identical(tmp_path: Path) -> None:
    render(tmp_path / "a", NEW)
    render(tmp_path / "b", OLD)
    render(tmp_path / "b", NEW)
    first = snapshot(tmp_path / "a")
    again = render(tmp_path / "a", NEW)
    assert not again.changed
    assert again.unchanged == tuple(sorted(NEW))
    assert snapshot(tmp_path / "a") == first
    assert snapshot(tmp_path / "b") == first  # the same files however we got there


def test_update_create_and_delete(tmp_path: Path) -> None:
    render(tmp_path, OLD)
    result = render(tmp_path, NEW)
    assert result.update == ("docs/ARCHITECTURE.md", "terraform/main.tf")
    assert result.create == ("network/zones.yaml",)
    assert result.delete == ("kubernetes/apps/gone.yaml",)
    assert result.unchanged == ("README.md",)
    assert not (tmp_path / "kubernetes").exists()  # emptied folders go too
    assert {k: v for k, v in snapshot(tmp_path).items() if not k.startswith(".homelab")} == {
        rel: text.encode() for rel, text in NEW.items()
    }


def test_user_edit_is_refused_then_forced(tmp_path: Path) -> None:
    render(tmp_path, OLD)
    (tmp_path / "terraform/main.tf").write_text("my edit\n")
    result = writer.plan(tmp_path, NEW)
    assert result.conflicts == ("terraform/main.tf",)
    render(tmp_path, NEW, force=True)
    assert (tmp_path / "terraform/main.tf").read_text() == NEW["terraform/main.tf"]


def test_edited_file_no_longer_generated_is_refused(tmp_path: Path) -> None:
    render(tmp_path, OLD)
    (tmp_path / "kubernetes/apps/gone.yaml").write_text("kind: App\n# mine now\n")
    result = writer.plan(tmp_path, NEW)
    assert result.conflicts == ("kubernetes/apps/gone.yaml",)
    assert "kubernetes/apps/gone.yaml" not in result.delete
    render(tmp_path, NEW, force=True)
    assert not (tmp_path / "kubernetes/apps/gone.yaml").exists()


def test_files_the_user_created_are_never_touched(tmp_path: Path) -> None:
    render(tmp_path, OLD)
    mine = {"notes.md": b"mine\n", "terraform/extra.tf": b"# mine\n", "kubernetes/apps/keep.yaml": b"x: 1\n"}
    for rel, data in mine.items():
        (tmp_path / rel).write_bytes(data)
    render(tmp_path, NEW, force=True)
    for rel, data in mine.items():
        assert (tmp_path / rel).read_bytes() == data
    # the folder still holds a user file, so deleting gone.yaml must not remove it
    assert not (tmp_path / "kubernetes/apps/gone.yaml").exists()


def test_user_file_at_a_generated_path_is_a_conflict(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("the user's own readme\n")
    result = writer.plan(tmp_path, OLD)
    assert result.conflicts == ("README.md",)


def test_folder_in_the_way_is_a_conflict(tmp_path: Path) -> None:
    (tmp_path / "docs").write_text("a file where a folder must be\n")
    (tmp_path / "README.md").mkdir()
    assert writer.plan(tmp_path, OLD).conflicts == ("README.md", "docs/ARCHITECTURE.md")


def test_damaged_manifest_counts_every_file_as_foreign(tmp_path: Path) -> None:
    render(tmp_path, OLD)
    (tmp_path / writer.MANIFEST).write_text("{not json")
    assert writer.read_manifest(tmp_path) == {}
    assert set(writer.plan(tmp_path, NEW).conflicts) == {"docs/ARCHITECTURE.md", "terraform/main.tf"}


def test_damaged_journal_is_a_clear_error(tmp_path: Path) -> None:
    render(tmp_path, OLD)
    (tmp_path / writer.JOURNAL).write_text("[1, 2]")
    with pytest.raises(writer.WriterError, match="interrupted render's journal"):
        writer.recover(tmp_path)


def test_unified_diff(tmp_path: Path) -> None:
    render(tmp_path, OLD)
    text = writer.unified_diff(tmp_path, NEW)
    assert "--- a/docs/ARCHITECTURE.md\n+++ b/docs/ARCHITECTURE.md\n" in text
    assert "-old architecture\n+new architecture\n" in text
    assert "--- /dev/null\n+++ b/network/zones.yaml\n" in text
    assert "--- a/kubernetes/apps/gone.yaml\n+++ /dev/null\n" in text
    assert "README.md" not in text
    render(tmp_path, NEW)
    assert writer.unified_diff(tmp_path, NEW) == ""


# --------------------------------------------------------------------------- crashes


class Crash(Exception):
    """The injected failure."""


def count_steps(tmp_path: Path) -> int:
    """How many staging writes and renames one OLD -> NEW render makes."""
    out = tmp_path / "count"
    render(out, OLD)
    calls = 0
    real_write, real_replace = writer._write_temp, os.replace

    def write(*args: object) -> Path:
        nonlocal calls
        calls += 1
        return real_write(*args)  # type: ignore[arg-type]

    def replace(*args: object) -> None:
        nonlocal calls
        calls += 1
        real_replace(*args)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(writer, "_write_temp", write)
        mp.setattr(os, "replace", replace)
        render(out, NEW)
    return calls


def crash_after(mp: pytest.MonkeyPatch, k: int) -> None:
    """Make the (k+1)-th staging write or rename raise."""
    calls = 0
    real_write, real_replace = writer._write_temp, os.replace

    def tick() -> None:
        nonlocal calls
        calls += 1
        if calls > k:
            raise Crash(f"injected at step {calls}")

    def write(*args: object) -> Path:
        tick()
        return real_write(*args)  # type: ignore[arg-type]

    def replace(*args: object) -> None:
        tick()
        real_replace(*args)  # type: ignore[arg-type]

    mp.setattr(writer, "_write_temp", write)
    mp.setattr(os, "replace", replace)


@pytest.mark.parametrize("hard", [False, True], ids=["exception", "power-loss"])
def test_crash_at_every_step(tmp_path: Path, hard: bool) -> None:
    """Before the commit point the old tree stands; after it the next render rolls forward."""
    render(tmp_path / "old", OLD)
    render(tmp_path / "new", NEW)
    old_tree, new_tree = snapshot(tmp_path / "old"), snapshot(tmp_path / "new")
    steps = count_steps(tmp_path)
    assert steps >= len(NEW) + 3
    outcomes = set()
    for k in range(steps):
        out = tmp_path / f"crash-{k}"
        render(out, OLD)
        result = writer.plan(out, NEW)
        with pytest.MonkeyPatch.context() as mp:
            crash_after(mp, k)
            if hard:  # a killed process runs no clean-up at all
                mp.setattr(writer, "_sweep_staging", lambda out: None)
            with pytest.raises(Crash):
                writer.apply(out, result)
        if writer.pending(out):
            outcomes.add("after-commit")
        else:
            outcomes.add("before-commit")
            visible = {k: v for k, v in snapshot(out).items() if not k.startswith(writer.TMP_DIR)}
            assert visible == old_tree, f"step {k}: the old tree changed before the commit point"
            if not hard:
                assert snapshot(out) == old_tree, f"step {k}: staging left behind"
        render(out, NEW)
        assert snapshot(out) == new_tree, f"step {k}: the next render did not reach the new tree"
    assert outcomes == {"before-commit", "after-commit"}


def test_crash_while_rolling_forward_is_rolled_forward_again(tmp_path: Path) -> None:
    render(tmp_path / "new", NEW)
    out = tmp_path / "out"
    render(out, OLD)
    result = writer.plan(out, NEW)
    with pytest.MonkeyPatch.context() as mp:
        crash_after(mp, len(result.create) + len(result.update) + 2)  # staged, committed, one rename
        with pytest.raises(Crash):
            writer.apply(out, result)
    assert writer.pending(out)
    with pytest.MonkeyPatch.context() as mp:
        crash_after(mp, 1)
        with pytest.raises(Crash):
            writer.recover(out)
    assert writer.recover(out) is True
    assert snapshot(out) == snapshot(tmp_path / "new")


def test_a_forced_render_writes_everything_not_only_the_conflicts(tmp_path: Path) -> None:
    """`--force` adds the conflicting files to the writes; the ordinary creates and updates stay."""
    render(tmp_path / "clean", NEW)
    out = tmp_path / "out"
    render(out, OLD)
    (out / "terraform/main.tf").write_text("my edit\n")
    (out / "kubernetes/apps/gone.yaml").write_text("kind: App\n# mine now\n")
    render(out, NEW, force=True)
    assert snapshot(out) == snapshot(tmp_path / "clean")
