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


def render_template(name: str, context: dict[str, Any]) -> str:
    """Render a packaged template."""
    return _ENV.get_template(name).render(**context)
