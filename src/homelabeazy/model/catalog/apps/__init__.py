"""Well-known app charts: one module each, one registry line each.

`app_values` is what the model calls: the user's values for a chart app, completed by the chart's
module when the homelab knows that chart.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from homelabeazy.model.catalog.apps import homepage
from homelabeazy.model.catalog.apps.base import AppFacts, KnownChart, Values

KNOWN_CHARTS: tuple[KnownChart, ...] = (homepage.CHART,)
"""Every chart the homelab completes values for."""


def known_chart(repo: str, name: str) -> KnownChart | None:
    """The knowledge about chart `name` from `repo`, if any."""
    return next((chart for chart in KNOWN_CHARTS if chart.matches(repo, name)), None)


def app_values(repo: str, name: str, user_values: Mapping[str, object], facts: AppFacts) -> Values:
    """The values an app's chart is rendered with: the user's, completed for a known chart.

    The user's values are deep-copied so the config stays untouched whatever a module does.
    """
    values: Values = copy.deepcopy(dict(user_values))
    chart = known_chart(repo, name)
    return chart.complete(values, facts) if chart is not None else values


__all__ = ["KNOWN_CHARTS", "AppFacts", "KnownChart", "app_values", "known_chart"]
