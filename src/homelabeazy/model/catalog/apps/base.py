"""What the homelab knows about one well-known app chart: the values it needs behind our routes.

A user app is any chart; a few popular ones refuse to work until a value that only the homelab
knows (its own public host, say) is set. Each such chart gets one module in this package that
completes the user's values, never overriding what the user wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from homelabeazy.desired.outcomes import Outcome

Values = dict[str, Any]


@dataclass(frozen=True)
class AppFacts:
    """What the model knows about an app that a chart may need in its values."""

    hosts: tuple[str, ...]
    """Full host names of the app's routes (empty when the app is not routed)."""


@dataclass(frozen=True)
class KnownChart:
    """A chart the homelab can configure: which chart it is and how its values are completed."""

    name: str
    repos: frozenset[str]
    """Repository URLs publishing it, without a trailing `/` (a same-named chart elsewhere is not it)."""
    complete: Callable[[Values, AppFacts], Values]
    """User values (a copy, safe to change) and the app's facts -> the values to render."""
    outcomes: Callable[[AppFacts], Iterable[Outcome]] | None = None
    """What the homelab relies on in the chart's rendered objects (the values it completes can
    still be set otherwise by the user's own): checked by `validate --deep`."""

    def matches(self, repo: str, name: str) -> bool:
        """Whether `name` from `repo` is this chart."""
        return name == self.name and repo.rstrip("/") in self.repos


def env_names(env: object) -> set[str]:
    """Variable names a bjw-s-common style `env` sets: a list of `{name: ...}` or a name->value map."""
    if isinstance(env, Mapping):
        return {str(key) for key in env}
    if isinstance(env, list):
        return {str(item["name"]) for item in env if isinstance(item, Mapping) and "name" in item}
    return set()


def with_env(values: Values, name: str, value: str) -> Values:
    """`values` with `name=value` added to its `env`, in whichever of the two shapes the user chose.

    A variable the user already sets is left alone, and so is an `env` of any other shape (the
    chart will report that one itself).
    """
    env = values.get("env")
    if name in env_names(env):
        return values
    if env is None:
        return {**values, "env": [{"name": name, "value": value}]}
    if isinstance(env, list):
        return {**values, "env": [*env, {"name": name, "value": value}]}
    if isinstance(env, Mapping):
        return {**values, "env": {**env, name: value}}
    return values
