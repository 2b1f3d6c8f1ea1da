"""The pure judges of `homelab status`, from captured answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from homelabeazy.lifecycle.status import (
    exit_code,
    judge_applications,
    judge_authelia,
    judge_consul,
    judge_elasticsearch,
    judge_route,
    judge_vault,
    judge_velero,
)
from homelabeazy.ops.probes import HttpAnswer, Row


@pytest.mark.parametrize(
    ("status", "body", "health", "detail"),
    [
        (
            200,
            {"initialized": True, "sealed": False, "standby": False, "version": "2.4.1"},
            "ok",
            "initialised, unsealed, active, 2.4.1",
        ),
        (
            429,
            {"initialized": True, "sealed": False, "standby": True, "version": "2.4.1"},
            "ok",
            "initialised, unsealed, standby, 2.4.1",
        ),
        (
            501,
            {"initialized": False, "sealed": True},
            "down",
            "not initialised (run `homelab up --only secrets`)",
        ),
        (503, {"initialized": True, "sealed": True}, "down", "sealed (unseal it: `homelab secrets unseal`)"),
        (502, "Bad Gateway", "down", "unexpected answer: HTTP 502"),
    ],
    ids=["active", "standby", "uninitialised", "sealed", "proxy-error"],
)
def test_judge_vault(status: int, body: object, health: str, detail: str) -> None:
    assert judge_vault(HttpAnswer(status, body)) == Row("vault", "vault", health, detail)


@pytest.mark.parametrize(
    ("status", "protected", "days", "health"),
    [
        (200, False, 80, "ok"),
        (302, True, 80, "ok"),
        (401, True, 80, "ok"),
        (401, False, 80, "degraded"),
        (404, False, 80, "down"),
        (502, True, 80, "down"),
        (200, False, 3, "degraded"),
        (200, False, None, "ok"),
    ],
)
def test_judge_route(status: int, protected: bool, days: int | None, health: str) -> None:
    assert judge_route("a.example.com", HttpAnswer(status, ""), protected, days).health == health


def test_judge_applications_and_empty() -> None:
    assert judge_applications([])[0].health == "down"
    rows = judge_applications([{"metadata": {"name": "x"}, "status": {}}])
    assert rows == [Row("argocd", "x", "degraded", "Unknown, Unknown")]


def test_judge_small_services() -> None:
    assert judge_elasticsearch({"status": "green", "number_of_nodes": 3}).health == "ok"
    assert judge_elasticsearch({"status": "red", "number_of_nodes": 1}).health == "down"
    assert judge_elasticsearch("garbage").detail == "no answer, ? node(s)"
    assert judge_consul('"10.42.0.7:8300"') == Row("consul", "leader", "ok", "leader 10.42.0.7:8300")
    assert judge_authelia(HttpAnswer(200, {"status": "OK"})).health == "ok"
    assert judge_authelia(HttpAnswer(503, {"status": "KO"})).detail == "HTTP 503 KO"


def test_exit_code_ignores_skipped_rows() -> None:
    assert exit_code([Row("a", "b", "ok", ""), Row("c", "d", "skipped", "")]) == 0
    assert exit_code([Row("a", "b", "ok", ""), Row("c", "d", "degraded", "")]) == 1


def test_a_velero_row_turns_degraded_exactly_when_its_alert_fires(example_homelab) -> None:
    """The model's `late_after`, as `HomelabBackupMissing`: daily at 26 h (1.25 x the period let
    a daily backup be 30 h old), weekly at 7 d 2 h."""
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    def backup(schedule: str, age: timedelta) -> dict:
        done = (now - age).strftime("%Y-%m-%dT%H:%M:%SZ")
        labels = {"velero.io/schedule-name": schedule}
        return {"metadata": {"labels": labels}, "status": {"phase": "Completed", "completionTimestamp": done}}

    def health(daily: timedelta, weekly: timedelta) -> list[str]:
        rows = judge_velero(example_homelab, [backup("daily", daily), backup("weekly", weekly)], now)
        return [r.health for r in rows]

    assert health(timedelta(hours=26), timedelta(days=7, hours=2)) == ["ok", "ok"]
    assert health(timedelta(hours=27), timedelta(days=7, hours=3)) == ["degraded", "degraded"]
