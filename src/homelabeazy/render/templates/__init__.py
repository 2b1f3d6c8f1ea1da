"""Jinja2 templates for files that are mostly static text (StrictUndefined: a typo fails loudly)."""

from __future__ import annotations

import string
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from homelabeazy.config.schema.fields import is_control

_ENV = Environment(
    loader=PackageLoader("homelabeazy.render", "templates"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # noqa: S701 - Markdown/YAML/HCL output, never HTML
)


_PUNCTUATION = frozenset(string.punctuation)
"""CommonMark lets every ASCII punctuation character be escaped with a backslash, and reads an
escaped one as itself: escaping them all leaves no emphasis, link, code, HTML or entity to parse."""


def markdown_cell(value: object) -> str:
    """User text as one Markdown table cell that reads back as exactly that text.

    Every ASCII punctuation character is backslash-escaped (`|` would end the cell; `*`, `_`, `[`,
    `` ` ``, `<` and `&` would turn into emphasis, links, code, HTML or entities). Control and
    format characters never get here (the schema refuses them in free text); should one, it
    becomes a space rather than a line break or a terminal escape in a document.
    """
    text = "".join(" " if is_control(ch) else f"\\{ch}" if ch in _PUNCTUATION else ch for ch in str(value))
    return text.strip()


_ENV.filters["cell"] = markdown_cell


def render_template(name: str, context: dict[str, Any]) -> str:
    """Render a packaged template."""
    return _ENV.get_template(name).render(**context)
