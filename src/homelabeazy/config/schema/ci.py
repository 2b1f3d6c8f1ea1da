"""`ci:` the pins of the rendered repository's CI workflows."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from homelabeazy import toolchain
from homelabeazy.config.schema.fields import Section


class ActionPin(Section):
    """One GitHub Action, pinned to a commit."""

    version: Annotated[str, StringConstraints(pattern=r"^v[0-9]+(\.[0-9]+){0,2}$")]
    """The release tag the commit belongs to, e.g. `v4.4.0` (written beside the commit for people and
    Renovate, which looks up newer tags and their commits)."""
    commit: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{40}$")]
    """The full 40-hex commit the workflows run (`uses: owner/repo@<commit>`): a tag can be moved to
    other code, a commit cannot."""


def _known_actions(value: dict[str, ActionPin]) -> dict[str, ActionPin]:
    unknown = sorted(set(value) - set(toolchain.ACTION_PINS))
    if unknown:
        raise ValueError(
            f"{', '.join(unknown)}: not an action the rendered workflows use "
            f"(known: {', '.join(sorted(toolchain.ACTION_PINS))})"
        )
    return value


def _tested_actions() -> dict[str, ActionPin]:
    return {a.repo: ActionPin(version=a.version, commit=a.commit) for a in toolchain.ACTIONS}


class CiConfig(Section):
    """The CI workflows `homelab render` writes (`.github/`, `.forgejo/`, `.gitea/workflows/`)."""

    actions: Annotated[dict[str, ActionPin], AfterValidator(_known_actions)] = Field(
        default_factory=_tested_actions
    )
    """Action (`owner/repo`) -> the release and commit the workflows run, e.g.
    `actions/checkout: {version: v4.4.0, commit: 11d5960a…}`. Renovate proposes newer releases here;
    an action not named keeps homelabeazy's tested pin."""
