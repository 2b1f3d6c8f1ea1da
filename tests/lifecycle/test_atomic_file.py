"""Issue 26: files are written through one writer that follows no symlink and keeps the file's mode.

`homelab up`'s journal was staged at the fixed name `.homelab/state.json.tmp` and `upgrade k3s`
staged homelab.yaml at `.homelab.yaml.tmp`: a symlink planted there was written through (into any
file the user could write), and the rename then made homelab.yaml that link, 0644 where it had been
0600. Now every write goes through homelabeazy.atomic_file, and a test keeps it the only writer.
"""

from __future__ import annotations

import ast
import os
import stat
from pathlib import Path

import pytest

from homelabeazy.atomic_file import create_new, write_atomic
from homelabeazy.config.starter import example_text
from homelabeazy.errors import UsageError
from homelabeazy.lifecycle.journal import Journal, load_journal, save_journal
from homelabeazy.lifecycle.k3s_upgrade import parse_version
from homelabeazy.lifecycle.k3s_upgrade_runner import _record_version
from tests.conftest import REPO


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_journal_is_not_written_through_a_planted_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n", encoding="utf-8")
    (tmp_path / ".homelab").mkdir()
    (tmp_path / ".homelab/state.json.tmp").symlink_to(victim)
    save_journal(tmp_path, Journal({}))
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert not (tmp_path / ".homelab/state.json").is_symlink()
    assert load_journal(tmp_path).records == {}


def test_upgrade_k3s_keeps_homelab_yaml_a_private_regular_file(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n", encoding="utf-8")
    victim.chmod(0o644)
    config = tmp_path / "homelab.yaml"
    config.write_text(example_text(), encoding="utf-8")
    config.chmod(0o600)
    (tmp_path / ".homelab.yaml.tmp").symlink_to(victim)
    assert _record_version(config, parse_version("v1.34.1+k3s1"))
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert _mode(victim) == 0o644
    assert not config.is_symlink()
    assert _mode(config) == 0o600
    assert "k3s_version: v1.34.1+k3s1" in config.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "wanted", "result"), [(0o600, 0o666, 0o600), (0o644, 0o666, 0o644), (0o644, 0o600, 0o600)]
)
def test_a_replaced_file_keeps_its_mode_within_the_wanted_one(
    tmp_path: Path, old: int, wanted: int, result: int
) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"old")
    path.chmod(old)
    write_atomic(path, b"new", "f", mode=wanted)
    assert path.read_bytes() == b"new"
    assert _mode(path) == result


def test_a_new_file_gets_the_mode_less_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "f", b"x", "f", mode=0o666)
    finally:
        os.umask(old)
    assert _mode(tmp_path / "f") == 0o640


def test_a_symlink_at_the_target_is_replaced_never_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"theirs")
    link = tmp_path / "secret.json"
    link.symlink_to(elsewhere)
    write_atomic(link, b"ours", "the secret")
    assert elsewhere.read_bytes() == b"theirs"
    assert not link.is_symlink()
    assert link.read_bytes() == b"ours"
    assert _mode(link) == 0o600


def test_no_temporary_is_left_when_the_rename_fails(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "inside").write_text("x")
    with pytest.raises(UsageError, match="is a folder"):
        write_atomic(tmp_path / "target", b"x", "f")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target"]


def test_create_new_refuses_even_a_dangling_symlink(tmp_path: Path) -> None:
    (tmp_path / "key").symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileExistsError):
        create_new(tmp_path / "key", b"secret", "the key")
    assert not (tmp_path / "nowhere").exists()


# --------------------------------------------------------------------------- the only writer

ALLOWED = {
    "src/homelabeazy/atomic_file.py": "the writer itself",
    "src/homelabeazy/ops/scratch.py": "scratch servers' files inside their own mkdtemp folder",
    "src/homelabeazy/converge/build.py": "the proof's renders inside its own mkdtemp folder",
    "src/homelabeazy/converge/recipes.py": "the outcome proof's values inside its own temporary folder",
    "src/homelabeazy/converge/files/ansible.py": "the syntax check's copy inside its own mkdtemp folder",
    "src/homelabeazy/ops/helm.py": "a chart unpacked into a fresh folder, renamed into the cache",
    "src/homelabeazy/render/writer.py": "renames staged files (written by create_new) into the tree",
}
WRITES = {"write_text", "write_bytes", "mkstemp", "NamedTemporaryFile", "fdopen"}
MODULE_WRITES = {("os", "open"), ("os", "replace"), ("os", "rename"), ("shutil", "move"), ("shutil", "copy")}


def _writes(tree: ast.AST) -> list[int]:
    """Lines that write a file: Path.write_*, os.open/replace/rename, open() for writing, ..."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
        modes = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "mode")]
        writing = any(
            isinstance(m, ast.Constant) and isinstance(m.value, str) and set(m.value) & set("wax+")
            for m in modes
        )
        if name in WRITES or (owner, name) in MODULE_WRITES or (name == "open" and writing):
            found.append(node.lineno)
    return found


def test_every_file_is_written_through_the_one_writer() -> None:
    offenders = []
    for path in sorted((REPO / "src/homelabeazy").rglob("*.py")):
        rel = str(path.relative_to(REPO))
        if rel in ALLOWED or "/blueprint/" in rel:
            continue
        text = path.read_text(encoding="utf-8")
        rows = text.splitlines()
        exempt = ("# a lock: flock only", "# read only: O_RDONLY")
        lines = [n for n in _writes(ast.parse(text)) if not any(m in rows[n - 1] for m in exempt)]
        offenders += [f"{rel}:{line}" for line in lines]
    assert not offenders, f"files written without homelabeazy.atomic_file: {offenders}"
