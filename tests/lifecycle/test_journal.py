"""The `homelab up` journal survives crashes: a reader sees the old or the new file, never half of one.

Crash injection as the writer's tests do it (tests/render/test_writer.py): a failure raised at each
step between writing the temporary file and renaming it over the journal, and a real process
SIGKILLed at the moment its new journal is on disk but not yet renamed. Plus the records a reader
must refuse: unknown results and damaged files.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from homelabeazy.errors import UsageError
from homelabeazy.lifecycle import journal as journal_module
from homelabeazy.lifecycle.journal import (
    JOURNAL_PATH,
    JOURNAL_VERSION,
    RESULTS,
    Journal,
    StageRecord,
    load_journal,
    save_journal,
)

OLD = Journal(
    {
        "provision": StageRecord(
            "provision", "aaa", "ok", "2026-01-01T00:00:00+00:00", "2026-01-01T00:01:00+00:00"
        )
    }
)
NEW = Journal(
    {
        "provision": StageRecord(
            "provision", "aaa", "ok", "2026-01-01T00:00:00+00:00", "2026-01-01T00:01:00+00:00"
        ),
        "configure": StageRecord("configure", "bbb", "running", "2026-01-01T00:02:00+00:00"),
    }
)


class Crash(Exception):
    """The injected failure."""


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    save_journal(tmp_path, NEW)
    assert load_journal(tmp_path).records == NEW.records
    assert (tmp_path / JOURNAL_PATH).read_text(encoding="utf-8") == NEW.to_json()


def test_the_file_is_versioned_indented_json_one_record_per_stage(tmp_path: Path) -> None:
    """People read and fix this file by hand (the usage error tells them to): stable, indented."""
    save_journal(tmp_path, NEW)
    text = (tmp_path / JOURNAL_PATH).read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["version"] == JOURNAL_VERSION
    assert [s["stage"] for s in data["stages"]] == ["provision", "configure"]
    assert text == json.dumps(data, indent=2) + "\n"


def test_a_record_without_summary_loads_with_an_empty_one(tmp_path: Path) -> None:
    raw = {"stage": "wait", "inputs": "x", "result": "ok", "started": "t"}
    write_raw(tmp_path, json.dumps({"version": 1, "stages": [raw]}))
    assert load_journal(tmp_path).get("wait") == StageRecord("wait", "x", "ok", "t", None, "")


def test_times_are_utc_to_the_second() -> None:
    stamp = journal_module.now()
    assert stamp.endswith("+00:00")
    assert datetime.fromisoformat(stamp).microsecond == 0


@pytest.mark.parametrize("result", RESULTS)
def test_every_known_result_loads(tmp_path: Path, result: str) -> None:
    record = StageRecord("wait", "ccc", result, "2026-01-01T00:00:00+00:00")  # type: ignore[arg-type]
    save_journal(tmp_path, Journal({"wait": record}))
    assert load_journal(tmp_path).get("wait") == record


@pytest.mark.parametrize("step", ["write", "os.write", "fsync", "replace"])
def test_failure_before_the_rename_leaves_the_old_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """A crash anywhere before the rename: the journal on disk is still, byte for byte, the old one."""
    save_journal(tmp_path, OLD)
    before = (tmp_path / JOURNAL_PATH).read_bytes()

    def crash(*args: object, **kwargs: object) -> None:
        raise Crash(step)

    if step == "write":  # the new text is half produced when the process dies
        monkeypatch.setattr(Journal, "to_json", lambda self: crash())
    elif step == "os.write":  # the bytes are half on disk when the process dies
        monkeypatch.setattr(os, "write", crash)
    elif step == "fsync":
        monkeypatch.setattr(os, "fsync", crash)
    else:
        monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(Crash):
        save_journal(tmp_path, NEW)
    assert (tmp_path / JOURNAL_PATH).read_bytes() == before
    # The temporary file (beside the journal, so the rename is atomic) is gone with the failure.
    assert sorted(p.name for p in (tmp_path / JOURNAL_PATH).parent.iterdir()) == ["state.json"]
    monkeypatch.undo()
    assert load_journal(tmp_path).records == OLD.records
    save_journal(tmp_path, NEW)  # a left-over temporary file does not stop the next save
    assert load_journal(tmp_path).records == NEW.records


KILLED_CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from homelabeazy.lifecycle.journal import Journal, StageRecord, save_journal

    real_fsync = os.fsync

    def fsync_then_hang(fd):
        real_fsync(fd)
        print("synced", flush=True)  # the new text is on disk; the rename has not happened
        time.sleep(60)

    os.fsync = fsync_then_hang
    record = StageRecord("configure", "bbb", "running", "2026-01-01T00:02:00+00:00")
    save_journal(Path(sys.argv[1]), Journal({"configure": record}))
    print("finished", flush=True)
    """
)


def test_process_killed_between_write_and_rename_leaves_the_old_journal(tmp_path: Path) -> None:
    """SIGKILL (no clean-up runs) after the new journal is written and synced, before the rename."""
    save_journal(tmp_path, OLD)
    before = (tmp_path / JOURNAL_PATH).read_bytes()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "synced", "the journal was saved without fsync"
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert (tmp_path / JOURNAL_PATH).read_bytes() == before
    assert load_journal(tmp_path).records == OLD.records
    save_journal(tmp_path, NEW)
    assert load_journal(tmp_path).records == NEW.records


def write_raw(repo: Path, text: str) -> None:
    (repo / JOURNAL_PATH).parent.mkdir(parents=True, exist_ok=True)
    (repo / JOURNAL_PATH).write_text(text, encoding="utf-8")


def record(**changes: object) -> dict[str, object]:
    raw: dict[str, object] = {"stage": "wait", "inputs": "x", "result": "ok", "started": "t", "ended": "t"}
    raw.update(changes)
    return raw


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (json.dumps({"version": 1, "stages": [record(result="done")]}), "unknown result 'done'"),
        (json.dumps({"version": 1, "stages": [record(result="OK")]}), "unknown result 'OK'"),
        (json.dumps({"version": 1, "stages": [record(result=None)]}), "unknown result None"),
        (NEW.to_json()[: len(NEW.to_json()) // 2], "Expecting"),  # torn: half a file
        ("", "Expecting value"),
        ("[]", "not a valid homelab journal"),
        (json.dumps({"version": 1}), "'stages'"),
        (json.dumps({"version": 1, "stages": [{"stage": "wait", "result": "ok"}]}), "'inputs'"),
        (json.dumps({"version": 1, "stages": ["wait"]}), "string indices"),
    ],
    ids=[
        "unknown-result",
        "wrong-case-result",
        "null-result",
        "torn",
        "empty",
        "list",
        "no-stages",
        "record-missing-field",
        "record-not-an-object",
    ],
)
def test_damaged_journal_is_a_usage_error_naming_the_file(tmp_path: Path, text: str, reason: str) -> None:
    """Never silently discarded (that would re-run terraform against a live homelab), never a traceback."""
    write_raw(tmp_path, text)
    with pytest.raises(UsageError) as caught:
        load_journal(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / JOURNAL_PATH}: not a valid homelab journal (")
    assert reason in message
