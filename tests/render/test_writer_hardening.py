"""Issue 14, classes 1 and 3: one writer per output tree, and no path written or deleted outside it.

The concurrency tests run real `homelab render` processes; the path tests plant hostile entries
in the files a render reads (manifest, journal, rendered paths) and symlinked folders.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import homelabeazy
from homelabeazy.config.starter import example_text
from homelabeazy.render import writer

SRC = str(Path(homelabeazy.__file__).resolve().parents[1])
LOCK_MESSAGE = "another `homelab render` is writing"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _render_cmd(config: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "homelabeazy", "render", str(config), "--out", str(out)]


def _configs(tmp_path: Path) -> tuple[Path, Path]:
    """Two valid configs whose renders differ in many files (another domain, another node count)."""
    a = tmp_path / "a" / "homelab.yaml"
    b = tmp_path / "b" / "homelab.yaml"
    a.parent.mkdir()
    b.parent.mkdir()
    a.write_text(example_text(), encoding="utf-8")
    b.write_text(example_text().replace("home.example.com", "lab.example.org"), encoding="utf-8")
    return a, b


def _tree(root: Path) -> dict[str, str]:
    """Every user-visible file (state folder excluded), path -> sha256."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".homelab" not in p.relative_to(root).parts
    }


def _run(config: Path, out: Path) -> subprocess.CompletedProcess[str]:
    cmd = _render_cmd(config, out)
    return subprocess.run(cmd, check=False, env=_env(), capture_output=True, text=True, timeout=120)


def _reference(config: Path, out: Path) -> dict[str, str]:
    subprocess.run(_render_cmd(config, out), env=_env(), check=True, capture_output=True)
    return _tree(out)


@pytest.mark.integration
def test_second_render_is_refused_while_one_holds_the_tree(tmp_path: Path) -> None:
    """A render holding the lock (another process) makes a second render fail at once, touching nothing."""
    a, _ = _configs(tmp_path)
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom pathlib import Path\nfrom homelabeazy.render import writer\n"
            "with writer.exclusive(Path(sys.argv[1])):\n    print('held', flush=True)\n    time.sleep(60)\n",
            str(out),
        ],
        env=_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        second = _run(a, out)
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == 1, second.stderr
    assert LOCK_MESSAGE in second.stdout + second.stderr
    assert _tree(out) == {}  # nothing written by the refused render
    third = _run(a, out)
    assert third.returncode == 0, third.stderr  # the lock died with its holder


@pytest.mark.integration
def test_concurrent_renders_of_two_configs_leave_exactly_one_of_them(tmp_path: Path) -> None:
    """Renders of two different configs started together: the tree is one whole render, never a mix."""
    a, b = _configs(tmp_path)
    want = {"a": _reference(a, tmp_path / "ref-a"), "b": _reference(b, tmp_path / "ref-b")}
    assert want["a"] != want["b"]
    for attempt in range(3):
        out = tmp_path / f"out{attempt}"
        procs = [
            subprocess.Popen(
                _render_cmd(c, out), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for c in (a, b, a, b)
        ]
        results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
        for code, stdout, stderr in results:
            assert code == 0 or (code == 1 and LOCK_MESSAGE in stdout + stderr), (code, stdout, stderr)
        assert any(code == 0 for code, _, _ in results)
        tree = _tree(out)
        assert tree in (want["a"], want["b"]), "the tree mixes two renders"
        manifest = json.loads((out / writer.MANIFEST).read_text())["files"]
        assert manifest == tree  # the manifest describes exactly what is on disk
        assert not (out / writer.JOURNAL).exists()
        assert not (out / writer.TMP_DIR).exists()
        rerun = _run(a, out)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr  # no leftover conflicts


# --- class 3: paths from files we read never escape the tree ----------------------------------------


def _seed(out: Path) -> None:
    writer.recover(out)
    writer.apply(out, writer.plan(out, {"README.md": "# lab\n"}))


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    return victim


@pytest.mark.parametrize(
    "entry", ["../victim", "{abs}", "a/../../victim", ".git/HEAD", ".homelab/state.json"]
)
def test_manifest_entries_outside_the_tree_are_refused(tmp_path: Path, entry: str) -> None:
    out = tmp_path / "out"
    _seed(out)
    victim = _victim(tmp_path)
    (out / ".git").mkdir()
    (out / ".git/HEAD").write_text("precious\n")
    entry = entry.replace("{abs}", str(victim))
    digest = hashlib.sha256(b"precious\n").hexdigest()
    (out / writer.MANIFEST).write_text(json.dumps({"files": {entry: digest, "README.md": "x"}}))
    before = _tree(out)
    with pytest.raises(writer.UnsafePathError) as err:
        writer.apply(out, writer.plan(out, {}))
    assert err.value.exit_code == 2
    assert victim.read_text() == "precious\n"
    assert _tree(out) == before


@pytest.mark.parametrize("key", ["rename", "delete", "manifest"])
def test_journal_entries_outside_the_tree_are_refused(tmp_path: Path, key: str) -> None:
    out = tmp_path / "out"
    _seed(out)
    victim = _victim(tmp_path)
    journal: dict[str, object] = {"rename": [], "delete": [], "manifest": {}}
    journal[key] = {"../victim": "x"} if key == "manifest" else ["../victim"]
    (out / writer.JOURNAL).write_text(json.dumps(journal))
    with pytest.raises(writer.UnsafePathError):
        writer.recover(out)
    assert victim.read_text() == "precious\n"
    assert (out / "README.md").read_text() == "# lab\n"
    assert (out / writer.JOURNAL).exists()  # left for the user to inspect


def test_rendered_paths_outside_the_tree_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(writer.UnsafePathError):
        writer.plan(out, {"../victim": "pwned\n"})
    assert not (tmp_path / "victim").exists()


def test_a_symlinked_folder_pointing_out_is_not_followed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _seed(out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "terraform").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(writer.UnsafePathError) as err:
        writer.apply(out, writer.plan(out, {"README.md": "# lab\n", "terraform/main.tf": "x\n"}))
    assert "outside the output tree" in str(err.value)
    assert list(elsewhere.iterdir()) == []


def test_a_symlinked_state_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / ".homelab").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(writer.UnsafePathError), writer.exclusive(out):
        pass
    with pytest.raises(writer.UnsafePathError):
        writer.apply(out, writer.plan(out, {"README.md": "# lab\n"}))
    assert list(elsewhere.iterdir()) == []
    assert not (out / "README.md").exists()


def test_symlinked_folder_inside_the_tree_is_still_fine(tmp_path: Path) -> None:
    """A symlink whose target stays in the tree is not an escape."""
    out = tmp_path / "out"
    _seed(out)
    (out / "real").mkdir()
    (out / "docs").symlink_to(out / "real", target_is_directory=True)
    writer.apply(out, writer.plan(out, {"README.md": "# lab\n", "docs/a.md": "a\n"}))
    assert (out / "real/a.md").read_text() == "a\n"


def test_a_description_with_markdown_stays_one_row_of_plain_text() -> None:
    """Line breaks and terminal escapes are refused at validate (tests/config/test_input_rules.py);
    what is left, `|` and Markdown syntax, stays inside its cell as text."""
    from homelabeazy.checks import load_config
    from homelabeazy.model import build
    from homelabeazy.render import render_all

    plain = "description: guests may use the web apps through Traefik"
    text = example_text().replace(plain, "description: 'line one | x | y *not bold* [no](link)'")
    readme = render_all(build(load_config(text).config))["network/README.md"]
    [row] = [line for line in readme.splitlines() if "line one" in line]
    assert r"line one \| x \| y \*not bold\* \[no\]\(link\)" in row
