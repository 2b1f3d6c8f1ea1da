"""`homelab render`, `render --check` and `diff` end to end on the example (docs layer and up)."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest

from homelabeazy.render import writer


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def lab(cli: Any, tmp_path: Path) -> Path:
    """An initialised folder holding the example homelab.yaml; returns the config path."""
    assert cli("init", str(tmp_path / "lab")).code == 0
    return tmp_path / "lab" / "homelab.yaml"


def edit_config(config: Path, old: str, new: str) -> None:
    text = config.read_text(encoding="utf-8")
    assert old in text
    config.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_rerender_is_byte_identical(cli: Any, lab: Path, tmp_path: Path) -> None:
    assert cli("render", str(lab), "--out", str(tmp_path / "one")).code == 0
    assert cli("render", str(lab), "--out", str(tmp_path / "two")).code == 0
    one = snapshot(tmp_path / "one")
    assert ".homelab/manifest.json" in one
    assert "docs/ARCHITECTURE.md" in one
    assert one == snapshot(tmp_path / "two")
    result = cli("render", str(lab), "--out", str(tmp_path / "one"))
    assert result.code == 0
    assert "0 created, 0 updated, 0 deleted" in result.err
    assert snapshot(tmp_path / "one") == one


def test_render_defaults_to_the_config_folder(cli: Any, lab: Path) -> None:
    assert cli("render", str(lab)).code == 0
    assert (lab.parent / "docs" / "ARCHITECTURE.md").is_file()
    assert (lab.parent / "homelab.yaml").read_text().startswith("# yaml-language-server")


def test_edited_file_is_refused_named_and_forced(cli: Any, lab: Path) -> None:
    assert cli("render", str(lab)).code == 0
    architecture = lab.parent / "docs" / "ARCHITECTURE.md"
    generated = architecture.read_text()
    architecture.write_text(generated + "my notes\n")
    edit_config(lab, "host: whoami", "host: hello")  # something else to render too
    result = cli("render", str(lab))
    assert result.code == 1
    assert "docs/ARCHITECTURE.md" in result.err
    assert "--force" in result.err
    assert architecture.read_text() == generated + "my notes\n"
    assert "hello.home.example.com" not in (lab.parent / "README.md").read_text() + architecture.read_text()
    result = cli("render", "--force", str(lab))
    assert result.code == 0, result.err
    assert "1 overwritten (--force)" in result.err
    assert "hello.home.example.com" in architecture.read_text()
    assert "my notes" not in architecture.read_text()


def test_user_files_are_never_touched(cli: Any, lab: Path) -> None:
    mine = lab.parent / "docs" / "runbook.md"
    mine.parent.mkdir()
    mine.write_text("how I fix things\n")
    assert cli("render", str(lab)).code == 0
    assert cli("render", "--force", str(lab)).code == 0
    assert mine.read_text() == "how I fix things\n"
    assert "docs/runbook.md" not in (lab.parent / writer.MANIFEST).read_text()


def test_file_no_longer_generated_is_deleted(cli: Any, lab: Path) -> None:
    assert cli("render", str(lab)).code == 0
    stale = lab.parent / "docs" / "old-page.md"
    stale.write_text("generated once\n")
    manifest = writer.read_manifest(lab.parent)
    manifest["docs/old-page.md"] = writer.sha256("generated once\n")
    (lab.parent / writer.MANIFEST).write_text(writer._manifest_text(manifest))
    result = cli("render", str(lab))
    assert result.code == 0
    assert "1 deleted" in result.err
    assert not stale.exists()


def test_check_reports_out_of_date_and_current(cli: Any, lab: Path) -> None:
    out = lab.parent
    result = cli("render", "--check", str(lab))
    assert result.code == 1
    assert "out of date: docs/ARCHITECTURE.md" in result.err
    assert not (out / "docs").exists()  # --check writes nothing
    assert cli("render", str(lab)).code == 0
    assert cli("render", "--check", str(lab)).code == 0
    edit_config(lab, "host: whoami", "host: hello")
    result = cli("render", "--check", str(lab))
    assert result.code == 1
    assert "out of date: docs/ARCHITECTURE.md" in result.err
    assert cli("render", str(lab)).code == 0
    (out / "README.md").write_text("edited\n")
    assert cli("render", "--check", str(lab)).code == 1


def test_diff_shows_what_render_would_change(cli: Any, lab: Path) -> None:
    first = cli("diff", str(lab))
    assert first.code == 0
    assert "+++ b/docs/ARCHITECTURE.md" in first.out
    assert cli("render", str(lab)).code == 0
    result = cli("diff", str(lab))
    assert result.code == 0
    assert result.out == ""
    assert "no changes" in result.err
    edit_config(lab, "host: whoami", "host: hello")
    result = cli("diff", str(lab))
    assert "--- a/docs/ARCHITECTURE.md\n+++ b/docs/ARCHITECTURE.md\n" in result.out
    assert "-| whoami | whoami | https://whoami.home.example.com |" in result.out
    assert "+| whoami | whoami | https://hello.home.example.com |" in result.out
    assert cli("render", "--check", str(lab)).code == 1  # diff wrote nothing


def test_interrupted_render_is_finished_by_the_next(cli: Any, lab: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli("render", str(lab), "--out", str(out)).code == 0
    edit_config(lab, "host: whoami", "host: hello")
    assert cli("render", str(lab), "--out", str(tmp_path / "want")).code == 0

    class Crash(Exception):
        pass

    real_install = writer._install
    calls = 0

    def install(out_dir: Path, rel: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:  # the journal is in place (commit point), one file not yet renamed
            raise Crash
        real_install(out_dir, rel)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(writer, "_install", install)
        result = cli("render", str(lab), "--out", str(out))
    assert result.code == 1
    assert "internal error" in result.err  # an injected bug, reported without a traceback
    assert "Traceback" not in result.err
    assert writer.pending(out)
    assert cli("render", "--check", str(lab), "--out", str(out)).code == 1
    result = cli("render", str(lab), "--out", str(out))
    assert result.code == 0
    assert "finished an interrupted render" in result.err
    assert snapshot(out) == snapshot(tmp_path / "want")


def test_out_must_be_a_folder(cli: Any, lab: Path, tmp_path: Path) -> None:
    out = tmp_path / "blocked"
    out.write_text("a file where the repo folder should be\n")
    result = cli("render", str(lab), "--out", str(out))
    assert result.code == 2
    assert "is not a folder" in result.err
    below = cli("render", str(lab), "--out", str(out / "sub" / "repo"))  # a folder under a file
    assert below.code == 2, below.err
    assert "is not a folder" in below.err


def test_render_of_a_hostile_manifest_is_exit_2_touching_nothing(cli: Any, lab: Path, tmp_path: Path) -> None:
    """Issue 14: a manifest that arrived by `git pull` naming ../victim: exit 2, the victim stays."""
    import json

    out = tmp_path / "out"
    assert cli("render", str(lab), "--out", str(out)).code == 0
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    manifest = out / writer.MANIFEST
    data = json.loads(manifest.read_text())
    data["files"]["../victim"] = writer.sha256("precious\n")
    manifest.write_text(json.dumps(data))
    result = cli("render", str(lab), "--out", str(out))
    assert result.code == 2, result.err
    assert "outside the output tree" in result.err or "not a plain relative path" in result.err
    assert victim.read_text() == "precious\n"


def test_disk_full_is_a_clear_error_and_leaves_the_old_tree(cli: Any, lab: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli("render", str(lab), "--out", str(out)).code == 0
    before = snapshot(out)
    edit_config(lab, "host: whoami", "host: hello")

    def full(*args: object) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "docs/ARCHITECTURE.md"))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(writer, "_write_temp", full)
        result = cli("render", str(lab), "--out", str(out))
    assert result.code == 1
    assert "cannot write the rendered tree" in result.err
    assert "No space left on device" in result.err
    assert "Traceback" not in result.err
    assert snapshot(out) == before


def test_file_in_place_of_a_folder_is_a_conflict(cli: Any, lab: Path) -> None:
    (lab.parent / "docs").write_text("not a folder\n")
    result = cli("render", str(lab))
    assert result.code == 1
    assert "docs/ARCHITECTURE.md" in result.err


def test_invalid_config_renders_nothing(cli: Any, lab: Path) -> None:
    edit_config(lab, "count: 3", "count: 4")
    result = cli("render", str(lab))
    assert result.code == 2
    assert "cluster.servers.count" in result.err
    assert not (lab.parent / "docs").exists()
