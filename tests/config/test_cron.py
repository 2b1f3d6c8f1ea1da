"""The cron parser, edge by edge: each field's limits (the last value in, the next one out), inclusive
range ends, steps, names, the day rule, and the longest gap of schedules that span months.

tests/model/test_schedules.py holds the periods of everyday schedules and the allowed ages; here each
rule of robfig/cron's standard parser (what Velero, Kubernetes and K3s run) gets a case on each side.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from homelabeazy.config.cron import CronError, cron_period, parse_cron

# --- field limits: the last value in, one past it out ------------------------------------------


def test_every_fields_first_and_last_value_is_accepted() -> None:
    low = parse_cron("0 0 1 1 0")
    assert (low.minutes, low.hours, low.days, low.months, low.weekdays) == ({0}, {0}, {1}, {1}, {0})
    high = parse_cron("59 23 31 12 6")
    assert (high.minutes, high.hours, high.days, high.months, high.weekdays) == ({59}, {23}, {31}, {12}, {6})


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("60 0 * * *", "minute: 60 is outside 0-59"),
        ("0 24 * * *", "hour: 24 is outside 0-23"),
        ("0 0 32 * *", "day of month: 32 is outside 1-31"),
        ("0 0 0 * *", "day of month: 0 is outside 1-31"),
        ("0 0 * 0 *", "month: 0 is outside 1-12"),
        ("0 0 * 13 *", "month: 13 is outside 1-12"),
        ("0 0 * * 7", "day of week: 7 is outside 0-6"),
        ("0 0-24 * * *", "hour: 24 is outside 0-23"),
        ("0 22-23/1,25 * * *", "hour: 25 is outside 0-23"),
        ("-1 0 * * *", "minute: '' is not a number"),
        ("0 0 * * -1", "day of week: '' is not a number"),
        ("1.5 0 * * *", "minute: '1.5' is not a number"),
    ],
)
def test_one_past_a_fields_limit_is_refused(cron: str, words: str) -> None:
    with pytest.raises(CronError, match=f"^{words}"):
        parse_cron(cron)


def test_names_in_either_case_only_in_their_own_field() -> None:
    spec = parse_cron("0 0 * JAN,dec sun-Sat")
    assert (spec.months, spec.weekdays) == ({1, 12}, set(range(7)))
    assert parse_cron("0 0 * feb-Apr MON").months == {2, 3, 4}
    assert parse_cron("0 0 * * fri").weekdays == {5}
    with pytest.raises(CronError, match=r"^day of week: 'jan' is not a number"):
        parse_cron("0 0 * * jan")
    with pytest.raises(CronError, match=r"^month: 'mon' is not a number"):
        parse_cron("0 0 * mon *")
    with pytest.raises(CronError, match=r"^hour: 'mon' is not a number"):
        parse_cron("0 mon * * *")


# --- ranges and steps: both ends inclusive --------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "values"),
    [
        ("1-3", {1, 2, 3}),
        ("5-5", {5}),
        ("0-23", set(range(24))),
        ("*/6", {0, 6, 12, 18}),
        ("*/5", {0, 5, 10, 15, 20}),
        ("2-10/4", {2, 6, 10}),
        ("2-11/4", {2, 6, 10}),
        ("20/2", {20, 22}),
        ("22/1", {22, 23}),
        ("23/5", {23}),
        ("7", {7}),
        ("1,3-4,22/1", {1, 3, 4, 22, 23}),
        ("3,3", {3}),
    ],
)
def test_range_and_step_values(hours: str, values: set[int]) -> None:
    assert parse_cron(f"0 {hours} * * *").hours == values


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("0 5-3 * * *", "hour: range 5-3 runs backwards"),
        ("0 */0 * * *", "hour: step '0' must be a positive number"),
        ("0 */x * * *", "hour: step 'x' must be a positive number"),
        # a slash with no step: robfig/cron fails to parse the empty number, so Velero, Kubernetes
        # and K3s refuse the schedule (it was accepted here as if the slash were not there)
        ("0 1-5/ * * *", "hour: step '' must be a positive number"),
        ("0 5/ * * *", "hour: step '' must be a positive number"),
        # only ASCII digits are numbers to Go's strconv.Atoi (int() reads any Unicode digit)
        ("0 \u0663 * * *", "hour: '\u0663' is not a number"),
        ("0 \u00b2 * * *", "hour: '\u00b2' is not a number"),
        ("0 */\u00b2 * * *", "hour: step '\u00b2' must be a positive number"),
        ("0 1, * * *", "hour: empty list item in '1,'"),
        ("0 ,1 * * *", "hour: empty list item in ',1'"),
    ],
)
def test_bad_ranges_steps_and_lists(cron: str, words: str) -> None:
    with pytest.raises(CronError, match=f"^{words}"):
        parse_cron(cron)


def test_field_count_and_shorthands() -> None:
    with pytest.raises(CronError, match=r"^expected 5 fields .*, got 6$"):
        parse_cron("0 0 * * * *")
    with pytest.raises(CronError, match=r"got 1$"):
        parse_cron("@yearly")
    assert parse_cron("  @daily  ") == parse_cron("0 0 * * *")
    assert parse_cron(" 0  3 * *  * ") == parse_cron("0 3 * * *")


# --- the day rule ---------------------------------------------------------------------------------


def test_a_star_is_unrestricted_and_a_stepped_star_is_not() -> None:
    assert parse_cron("0 0 * * *").days_star
    assert parse_cron("0 0 ? * ?").weekdays_star
    assert not parse_cron("0 0 */2 * *").days_star
    assert not parse_cron("0 0 1-31 * *").days_star
    assert not parse_cron("0 0 * * 0-6").weekdays_star
    assert parse_cron("0 0 1,* * *").days_star


@pytest.mark.parametrize(
    ("cron", "runs", "skips"),
    [
        # both day fields restricted: the 13th OR a Friday
        ("0 0 13 * 5", [date(2026, 1, 13), date(2026, 2, 20), date(2026, 3, 13)], [date(2026, 2, 12)]),
        # a star on either side: both must match
        ("0 0 * * 5", [date(2026, 2, 20)], [date(2026, 1, 13), date(2026, 2, 19)]),
        ("0 0 13 * *", [date(2026, 1, 13)], [date(2026, 2, 20)]),
        ("0 0 13 * ?", [date(2026, 1, 13)], [date(2026, 2, 20)]),
        # the month is always required
        ("0 0 * 2 *", [date(2026, 2, 1), date(2026, 2, 28)], [date(2026, 3, 1), date(2026, 1, 31)]),
        ("0 0 13 2 5", [date(2026, 2, 13), date(2026, 2, 20)], [date(2026, 3, 13), date(2026, 3, 20)]),
        # Sunday is 0, Saturday 6
        ("0 0 * * 0", [date(2026, 3, 1)], [date(2026, 3, 2), date(2026, 2, 28)]),
        ("0 0 * * 6", [date(2026, 2, 28)], [date(2026, 3, 1)]),
    ],
)
def test_runs_on(cron: str, runs: list[date], skips: list[date]) -> None:
    spec = parse_cron(cron)
    assert [spec.runs_on(day) for day in runs] == [True] * len(runs)
    assert [spec.runs_on(day) for day in skips] == [False] * len(skips)


def test_times_of_day_are_minutes_after_midnight_in_order() -> None:
    assert parse_cron("30 2,1 * * *").times_of_day() == [90, 150]
    assert parse_cron("5,0 0 * * *").times_of_day() == [0, 5]
    assert parse_cron("59 23 * * *").times_of_day() == [23 * 60 + 59]


# --- the longest gap of schedules that span months and years --------------------------------------


@pytest.mark.parametrize(
    ("cron", "period"),
    [
        ("0 0 * 2 *", timedelta(days=338)),  # Feb 28 to Feb 1 of the next year
        ("0 0 31 * *", timedelta(days=61)),  # Aug 31 to Oct 31
        ("0 0 1 1 *", timedelta(days=366)),  # across a leap year
        ("59 23 31 12 *", timedelta(days=366)),
        ("0 0 29 2 1", timedelta(days=350)),  # February only: Feb 29 or its Mondays
        ("0 0 1-31 * 1", timedelta(days=1)),  # a listed range is a restriction: any day of the month
        ("0 0 ? * 1", timedelta(days=7)),
        ("0 0 1 * 1", timedelta(days=7)),  # the 1st or a Monday: never more than a week
        ("0 12 * * 6,0", timedelta(days=6)),  # Sunday noon to Saturday noon
        ("0 3,5 * * 1-5", timedelta(days=2, hours=22)),  # Friday 05:00 to Monday 03:00
        ("30 23 * * *", timedelta(days=1)),
        ("0,59 0 * * *", timedelta(hours=23, minutes=1)),  # 00:59 to the next day's 00:00
        ("0 0 * * 0", timedelta(days=7)),
        ("0 23 * * 6", timedelta(days=7)),
    ],
)
def test_longest_gap_across_days(cron: str, period: timedelta) -> None:
    assert cron_period(cron) == period


@pytest.mark.parametrize("cron", ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 2 *"])
def test_a_schedule_that_never_runs_is_refused(cron: str) -> None:
    with pytest.raises(CronError, match=r"^never runs"):
        parse_cron(cron)
