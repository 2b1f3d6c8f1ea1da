"""Jinja2 templates for files that are mostly static text (StrictUndefined: a typo fails loudly)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

_ENV = Environment(
    loader=PackageLoader("homelabeazy.render", "templates"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # noqa: S701 - Markdown/YAML/HCL output, never HTML
)


def markdown_cell(value: object) -> str:
    """User text as one Markdown table cell: a `|` or a line break would end the cell or the row,
    and control characters (terminal escapes) have no business in a document."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(value).replace("\r\n", "\n"))
    return " ".join(text.split()).replace("|", "\\|")


_ENV.filters["cell"] = markdown_cell


def render_template(name: str, context: dict[str, Any]) -> str:
    """Render a packaged template."""
    return _ENV.get_template(name).render(**context)
