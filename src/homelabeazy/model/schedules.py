"""When a scheduled backup is late: one rule for `homelab status`'s rows and the alert rules.

A backup's newest copy is judged against its schedule's longest gap between runs (config/cron.py),
not one constant: a weekly schedule is not late on its sixth day. Frequent schedules (under 12 h)
may miss one run before they count as late; from twice a day on, a run gets two hours to finish
(a daily backup older than 26 h is late).
"""

from __future__ import annotations

from datetime import timedelta

from homelabeazy.config.cron import cron_period

GRACE = timedelta(hours=2)
FREQUENT = timedelta(hours=12)


def allowed_age(period: timedelta) -> timedelta:
    """The oldest the newest backup may be, for a schedule whose longest gap is `period`."""
    if period < FREQUENT:
        return period * 2
    return period + GRACE


def late_after(cron: str) -> timedelta:
    """The age past which the newest backup of the schedule `cron` is late."""
    return allowed_age(cron_period(cron))
