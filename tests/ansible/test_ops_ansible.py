"""ops/ansible.py's pure parts: events to progress and failures, stats to the recap, redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from homelabeazy.errors import UsageError
from homelabeazy.ops.ansible import (
    Failure,
    HostStats,
    TaskResult,
    _failure_text,
    failure_of,
    recap_of,
    redact,
    run_playbook,
    task_result,
)


def _event(name: str, res: dict[str, object] | None = None, **data: object) -> dict[str, object]:
    return {
        "event": name,
        "event_data": {"host": "k3s-server-1", "task": "Write config", "res": res or {}, **data},
    }


@pytest.mark.parametrize(
    ("name", "res", "extra", "status"),
    [
        ("runner_on_ok", {"changed": False}, {}, "ok"),
        ("runner_on_ok", {"changed": True}, {}, "changed"),
        ("runner_on_skipped", {}, {}, "skipped"),
        ("runner_on_failed", {"msg": "boom"}, {}, "failed"),
        ("runner_on_failed", {"msg": "boom"}, {"ignore_errors": True}, "ok"),
        ("runner_on_unreachable", {"msg": "no route"}, {}, "unreachable"),
    ],
)
def test_task_result_status(name: str, res: dict[str, object], extra: dict[str, object], status: str) -> None:
    assert task_result(_event(name, res, **extra)) == TaskResult("k3s-server-1", "Write config", status)


def test_other_events_are_not_task_results() -> None:
    assert task_result({"event": "playbook_on_play_start", "event_data": {}}) is None
    assert failure_of({"event": "runner_on_ok", "event_data": {}}) is None


@pytest.mark.parametrize(
    ("res", "message"),
    [
        ({"msg": "Could not find\n  the file"}, "Could not find the file"),
        ({"stderr": "E: broken\nmore", "rc": 1}, "E: broken"),
        (
            {"censored": "the output has been hidden due to the fact that 'no_log: true' was specified"},
            "details hidden (no_log task)",
        ),
        (
            {
                "msg": "One or more items failed",
                "results": [{"failed": False, "msg": "fine"}, {"failed": True, "msg": "item broke"}],
            },
            "item broke",
        ),
        (
            {"msg": "non-zero return code", "stderr": "error: timed out waiting\nmore", "rc": 1},
            "error: timed out waiting",
        ),
        ({"msg": "non-zero return code", "stderr": "", "rc": 1}, "non-zero return code"),
        (  # kubectl drain warns about DaemonSet pods before it says why it failed
            {
                "msg": "non-zero return code",
                "stderr": "Warning: ignoring DaemonSet-managed Pods: logging/fluentd-x\n"
                'error when evicting pods/"vault-1" -n "vault" (will retry after 5s): Cannot evict pod',
                "rc": 1,
            },
            'error when evicting pods/"vault-1" -n "vault" (will retry after 5s): Cannot evict pod',
        ),
        ({"stderr": "Warning: only a warning", "rc": 1}, "Warning: only a warning"),
        ({}, "no details"),
    ],
)
def test_failure_message(res: dict[str, object], message: str) -> None:
    assert failure_of(_event("runner_on_failed", res)) == Failure("k3s-server-1", "Write config", message)


def test_ignored_failure_is_not_a_failure() -> None:
    assert failure_of(_event("runner_on_failed", {"msg": "x"}, ignore_errors=True)) is None


def test_recap_from_runner_stats() -> None:
    stats = {
        "ok": {"a": 30, "b": 31},
        "changed": {"a": 2},
        "failures": {"b": 1},
        "dark": {"c": 1},
        "skipped": {"a": 6},
        "processed": {"a": 1, "b": 1, "c": 1},
    }
    assert recap_of(stats) == {
        "a": HostStats(ok=30, changed=2, skipped=6),
        "b": HostStats(ok=31, failed=1),
        "c": HostStats(unreachable=1),
    }
    assert recap_of(None) == {}


def test_redact_removes_secret_values() -> None:
    assert redact("token abc123 and abc123", ["abc123", ""]) == "token *** and ***"


def test_failure_text_lists_every_failure_or_the_errors_printed() -> None:
    failures = [Failure("a", "t1", "m1"), Failure("b", "t2", "m2")]
    assert _failure_text("failed", 2, failures) == "a: t1: m1; b: t2: m2"
    assert _failure_text("timeout", None, []) == "timed out"
    output = "noise\n[ERROR]: the playbook: site.yml could not be found\n"
    assert _failure_text("failed", 1, [], output) == (
        "ansible-playbook ended with status failed (exit code 1) before any task ran: "
        "[ERROR]: the playbook: site.yml could not be found"
    )


def test_missing_playbook_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"site\.yml does not exist"):
        run_playbook(tmp_path, "site.yml")
