"""`ci:` the pins of the rendered repository's CI workflows."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from homelabeazy import toolchain
from homelabeazy.config.schema.fields import Section, UrlRule, pattern

ActionRef = Annotated[
    str,
    pattern(
        r"^v[0-9]+(\.[0-9]+){0,2}@[0-9a-f]{40}$",
        "must be a release tag and its full commit, like v4.4.0@<40 hex digits>",
    ),
]
"""`<release tag>@<its full commit>`, e.g. `v4.4.0@11d5960a326750d5838078e36cf38b85af677262`: one
scalar, so Renovate finds and rewrites both halves together wherever the line sits."""


_WEB_LINKS = UrlRule(
    ("https", "http"),
    secrets_go="pip's --find-links takes no credentials here: serve the wheels where the CI can read them",
)
_FOLDER = re.compile(r"file:///[A-Za-z0-9._~/+,@=-]+")


def _find_links(value: str) -> str:
    """A web page (the URL rule every URL field follows) or a local folder (`file:///path`)."""
    if value.startswith("file:"):
        if _FOLDER.fullmatch(value) is None:
            raise ValueError("must be file:/// and an absolute path of letters, digits and . _ ~ / + , @ = -")
        return value
    return _WEB_LINKS(value)


def _known_actions(value: dict[str, str]) -> dict[str, str]:
    unknown = sorted(set(value) - set(toolchain.ACTION_PINS))
    if unknown:
        raise ValueError(
            f"{', '.join(unknown)}: not an action the rendered workflows use "
            f"(known: {', '.join(sorted(toolchain.ACTION_PINS))})"
        )
    return value


class CiConfig(Section):
    """The CI workflows `homelab render` writes (`.github/`, `.forgejo/`, `.gitea/workflows/`)."""

    actions: Annotated[dict[str, ActionRef], AfterValidator(_known_actions)] = Field(
        default_factory=lambda: {a.repo: a.ref for a in toolchain.ACTIONS}
    )
    """Action (`owner/repo`) -> `<release tag>@<commit>` the workflows run, e.g.
    `actions/checkout: v4.4.0@11d5960a…` (40 hex digits). The workflows name the commit (a tag can be
    moved to other code, a commit cannot) with the tag beside it; Renovate proposes newer releases
    here. An action not named keeps homelabeazy's tested pin."""
    find_links: Annotated[str, AfterValidator(_find_links)] | None = None
    """Where pip also looks for the homelabeazy wheel (pip's `--find-links`: a web page or folder
    listing wheels, e.g. a release's download page), for a homelabeazy not on PyPI. Whatever it
    serves, the CI refuses a build other than the one that rendered the repository."""
