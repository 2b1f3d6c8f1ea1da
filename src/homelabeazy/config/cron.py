"""Cron schedules as the programs that run ours read them, and the longest gap between two runs.

Velero's Schedules, Kubernetes CronJobs and K3s's etcd snapshots all parse their schedule with
robfig/cron v3's standard parser, so this follows it: five fields (minute, hour, day of month,
month, day of week 0-6), each a list of `*`, `?`, `N`, `A-B` with an optional `/STEP` (`N/STEP`
runs from N to the field's end), names for months and weekdays, and its day rule: when either day
field is unrestricted (`*` or `?` without a step) both must match, otherwise either may.

The longest gap is what a backup's age is judged against (status rows and alert thresholds): the
runs of one day are the same every day, so the gap is the largest of the gaps inside a day and,
for each pair of consecutive days that run at all, the time from the last run of the first to the
first run of the next. The days are scanned over 28 years, the calendar's weekday cycle (three
weeks when only the weekday matters), so a weekday-in-a-month or February 29 schedule gets its
true gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from itertools import pairwise

MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
}
"""The shorthands homelab.yaml accepts besides five fields, as robfig/cron expands them."""

_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 6),
)
_NAMES = {
    "month": {
        m: i + 1
        for i, m in enumerate(
            ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        )
    },
    "day of week": {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])},
}
SCAN_START = date(2001, 1, 1)
SCAN_DAYS = 28 * 365 + 7
"""2001-01-01 to 2028-12-31: every weekday/date pairing and seven leap days, no century rule."""


class CronError(ValueError):
    """A schedule that the parsers of Velero, Kubernetes and K3s would refuse (or that never runs)."""


@dataclass(frozen=True)
class CronSpec:
    """A parsed schedule: the allowed values of each field, and whether each day field is a star."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_star: bool
    weekdays_star: bool

    def runs_on(self, day: date) -> bool:
        """robfig's day rule: AND when either day field is a star, OR otherwise."""
        return self._runs(day.month, day.day, day.isoweekday() % 7)

    def _runs(self, month: int, day: int, weekday: int) -> bool:
        if month not in self.months:
            return False
        in_month = day in self.days
        in_week = weekday in self.weekdays
        if self.days_star or self.weekdays_star:
            return in_month and in_week
        return in_month or in_week

    def times_of_day(self) -> list[int]:
        """The minutes after midnight at which it runs, on a day it runs."""
        return sorted(h * 60 + m for h in self.hours for m in self.minutes)


def _value(text: str, field: str, low: int, high: int) -> int:
    number = _NAMES.get(field, {}).get(text.lower())
    if number is None:
        if not text.isdigit():
            raise CronError(f"{field}: '{text}' is not a number")
        number = int(text)
    if not low <= number <= high:
        raise CronError(f"{field}: {number} is outside {low}-{high}")
    return number


def _part(part: str, field: str, low: int, high: int) -> tuple[set[int], bool]:
    """The values one comma-separated part allows, and whether it is a star."""
    span, _, step_text = part.partition("/")
    step = 1
    if step_text:
        if not step_text.isdigit() or int(step_text) == 0:
            raise CronError(f"{field}: step '{step_text}' must be a positive number")
        step = int(step_text)
    star = span in ("*", "?")
    if star:
        start, end = low, high
    else:
        first, dash, last = span.partition("-")
        start = _value(first, field, low, high)
        end = _value(last, field, low, high) if dash else (high if step_text else start)
        if start > end:
            raise CronError(f"{field}: range {span} runs backwards")
    return set(range(start, end + 1, step)), star and step == 1


def _field(text: str, field: str, low: int, high: int) -> tuple[frozenset[int], bool]:
    values: set[int] = set()
    star = False
    for part in text.split(","):
        if not part:
            raise CronError(f"{field}: empty list item in '{text}'")
        allowed, is_star = _part(part, field, low, high)
        values |= allowed
        star = star or is_star
    return frozenset(values), star


@lru_cache(maxsize=256)
def parse_cron(text: str) -> CronSpec:
    """The schedule `text` (five fields or a shorthand), or CronError saying which field is wrong."""
    fields = MACROS.get(text.strip(), text).split()
    if len(fields) != len(_FIELDS):
        raise CronError(f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}")
    parsed = [_field(value, *spec) for value, spec in zip(fields, _FIELDS, strict=True)]
    spec = CronSpec(
        parsed[0][0], parsed[1][0], parsed[2][0], parsed[3][0], parsed[4][0], parsed[2][1], parsed[4][1]
    )
    longest_gap(spec)  # a schedule that never runs is refused here, where the user wrote it
    return spec


@lru_cache(maxsize=256)
def longest_gap(spec: CronSpec) -> timedelta:
    """The longest time between two consecutive runs (see the module's docstring)."""
    times = spec.times_of_day()
    weekly = spec.days_star and spec.months == frozenset(range(1, 13))
    calendar = _calendar(21 if weekly else SCAN_DAYS)  # weekly: only the weekday matters
    run_days = [n for n, day in enumerate(calendar) if spec._runs(*day)]
    if not run_days:
        raise CronError("never runs (no date matches its day, month and weekday fields)")
    gaps = [b - a for a, b in pairwise(times)]
    day_minutes = 24 * 60
    gaps += [(b - a) * day_minutes - times[-1] + times[0] for a, b in pairwise(run_days)]
    if len(run_days) == 1:  # once in the whole scan: cannot happen for fields cron accepts
        gaps.append(len(calendar) * day_minutes)
    return timedelta(minutes=max(gaps))


@lru_cache(maxsize=2)
def _calendar(length: int) -> tuple[tuple[int, int, int], ...]:
    """(month, day, weekday with Sunday 0) of the first `length` scanned days, computed once."""
    days = (SCAN_START + timedelta(days=n) for n in range(length))
    return tuple((d.month, d.day, d.isoweekday() % 7) for d in days)


def cron_period(text: str) -> timedelta:
    """The longest gap between runs of the schedule `text` (which must be valid)."""
    return longest_gap(parse_cron(text))
