"""How late is late: a schedule's longest gap between runs (robfig/cron's reading of it, as Velero,
Kubernetes and K3s run it) and the age at which its newest backup counts as missing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from homelabeazy.config.cron import CronError, cron_period, parse_cron
from homelabeazy.model.schedules import allowed_age, late_after


@pytest.mark.parametrize(
    ("cron", "period"),
    [
        ("0 3 * * *", timedelta(days=1)),
        ("0 4 * * 0", timedelta(days=7)),
        ("0 1 1 * *", timedelta(days=31)),
        ("0 */6 * * *", timedelta(hours=6)),
        ("30 */6 * * *", timedelta(hours=6)),
        ("0 * * * *", timedelta(hours=1)),
        ("*/15 * * * *", timedelta(minutes=15)),
        ("0 0,12 * * *", timedelta(hours=12)),
        ("@daily", timedelta(days=1)),
        ("@hourly", timedelta(hours=1)),
        ("@weekly", timedelta(days=7)),
        ("@monthly", timedelta(days=31)),
        # uneven hours: the longest gap is the night's, not 24 h divided by the number of runs
        ("0 3,5 * * *", timedelta(hours=22)),
        ("0 0,6,12 * * *", timedelta(hours=12)),
        ("0 */7 * * *", timedelta(hours=7)),
        # weekdays only: Friday to Monday
        ("0 4 * * 1-5", timedelta(days=3)),
        ("0 4 * * MON-FRI", timedelta(days=3)),
        ("0 0 1,15 * *", timedelta(days=17)),
        # both day fields restricted: either matches (robfig/cron, like Vixie cron)
        ("0 0 13 * 5", timedelta(days=7)),
        # a step on the weekday makes it restricted: the 1st OR every other weekday from Sunday
        ("0 0 1 * */2", timedelta(days=2)),
        ("0 0 29 2 *", timedelta(days=4 * 365 + 1)),
        ("5/20 * * * *", timedelta(minutes=20)),
    ],
)
def test_cron_period_is_the_longest_gap(cron: str, period: timedelta) -> None:
    assert cron_period(cron) == period


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("0 24 * * *", "hour: 24 is outside 0-23"),
        ("60 * * * *", "minute: 60 is outside 0-59"),
        ("0 0 0 * *", "day of month: 0 is outside 1-31"),
        ("0 0 * 13 *", "month: 13 is outside 1-12"),
        ("0 0 * * 7", "day of week: 7 is outside 0-6"),
        ("0 0 * * FUN", "day of week: 'FUN' is not a number"),
        ("*/0 * * * *", "step '0' must be a positive number"),
        ("0 5-3 * * *", "range 5-3 runs backwards"),
        ("0 1,,2 * * *", "empty list item"),
        ("0 0 31 2 *", "never runs"),
        ("0 0 * *", "expected 5 fields"),
    ],
)
def test_a_schedule_the_runners_refuse_is_refused(cron: str, words: str) -> None:
    with pytest.raises(CronError, match=words):
        parse_cron(cron)


@pytest.mark.parametrize(
    ("period", "allowed"),
    [
        (timedelta(hours=1), timedelta(hours=2)),
        (timedelta(hours=6), timedelta(hours=12)),
        (timedelta(hours=11, minutes=59), timedelta(hours=23, minutes=58)),
        (timedelta(hours=12), timedelta(hours=14)),
        (timedelta(days=1), timedelta(hours=26)),
        (timedelta(days=7), timedelta(days=7, hours=2)),
    ],
)
def test_allowed_age(period: timedelta, allowed: timedelta) -> None:
    assert allowed_age(period) == allowed


def test_a_weekly_schedule_is_late_after_a_week_not_a_day() -> None:
    assert late_after("0 4 * * 0") == timedelta(days=7, hours=2)
    assert late_after("0 3 * * *") == timedelta(hours=26)
    assert late_after("0 3,5 * * *") == timedelta(hours=24)
