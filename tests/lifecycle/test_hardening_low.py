"""Issue 14, low items of the lifecycle: an unknown journal version, unreadable journals, `--only` wording."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from homelabeazy.errors import UsageError
from homelabeazy.lifecycle.journal import JOURNAL_PATH, JOURNAL_VERSION, load_journal


def _write(repo: Path, content: bytes | str) -> None:
    path = repo / JOURNAL_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


@pytest.mark.parametrize("version", [JOURNAL_VERSION + 1, None, "1"])
def test_a_journal_of_another_version_is_refused(tmp_path: Path, version: object) -> None:
    record = {"stage": "provision", "inputs": "x", "result": "ok", "started": "t"}
    data: dict[str, object] = {"stages": [record]}
    if version is not None:
        data["version"] = version
    _write(tmp_path, json.dumps(data))
    with pytest.raises(UsageError) as err:
        load_journal(tmp_path)
    assert "version" in str(err.value)


@pytest.mark.parametrize("content", [b"\xff\xfe not utf-8", "[]", "null"])
def test_a_damaged_journal_is_a_usage_error(tmp_path: Path, content: bytes | str) -> None:
    _write(tmp_path, content)
    with pytest.raises(UsageError):
        load_journal(tmp_path)


def test_a_journal_that_is_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / JOURNAL_PATH).mkdir(parents=True)
    with pytest.raises(UsageError):
        load_journal(tmp_path)


def test_the_current_version_still_loads(tmp_path: Path) -> None:
    record = {"stage": "provision", "inputs": "x", "result": "ok", "started": "t"}
    _write(tmp_path, json.dumps({"version": JOURNAL_VERSION, "stages": [record]}))
    assert load_journal(tmp_path).get("provision") is not None
