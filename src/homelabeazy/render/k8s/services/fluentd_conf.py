"""Fluentd's configuration format, written from data: directives are (name, argument, params, children).

Fluentd's syntax is neither YAML nor JSON; building it from structures keeps quoting in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Directive:
    """`<name argument>` with `key value` lines and nested directives."""

    name: str
    argument: str = ""
    params: tuple[tuple[str, str], ...] = ()
    children: tuple[Directive, ...] = field(default=())


def render_conf(directives: list[Directive], indent: int = 0) -> str:
    """The configuration text, two spaces per nesting level."""
    pad = "  " * indent
    lines: list[str] = []
    for d in directives:
        opening = f"<{d.name} {d.argument}>" if d.argument else f"<{d.name}>"
        lines.append(pad + opening)
        lines.extend(f"{pad}  {key} {value}" for key, value in d.params)
        if d.children:
            lines.append(render_conf(list(d.children), indent + 1).rstrip("\n"))
        lines.append(f"{pad}</{d.name}>")
    return "\n".join(lines) + "\n"
