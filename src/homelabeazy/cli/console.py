"""One place for output: status and problems to stderr, machine-readable output to stdout.

The two rich Consoles (`err`, `out`) are made on first use, not at import: importing rich costs
more than the rest of `homelab --help`, which never prints through them.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from homelabeazy.errors import Problem

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


@cache
def _console(stderr: bool) -> Console:
    from rich.console import Console

    # No emoji codes: `homelab.yaml:100:3` would otherwise print as `homelab.yaml💯3`.
    return Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False)


def __getattr__(name: str) -> Console:
    """`console.err` and `console.out`: the Consoles, created on first access."""
    if name == "err":
        return _console(True)
    if name == "out":
        return _console(False)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_CONTROL = {
    code: f"\\x{code:02x}" for code in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if code not in (0x09, 0x0A)
}
"""C0/C1 control characters (ESC starts terminal sequences that retitle, recolour or rewrite the
screen), shown as visible \\xNN instead; tab and newline stay."""


def escape(text: str) -> str:
    """`text` with rich markup and terminal control characters escaped: user data (YAML keys,
    Proxmox descriptions) never styles, breaks or rewrites the terminal."""
    from rich.markup import escape as rich_escape

    return rich_escape(text.translate(_CONTROL))


def problem(p: Problem) -> None:
    """Print one located problem: `file:line:col: field: message (hint)` with its severity."""
    style = _STYLE.get(p.severity, "")
    _console(True).print(f"[{style}]{p.severity}[/]: {escape(p.format())}")


def success(message: str) -> None:
    """A green one-line success report."""
    _console(True).print(f"[green]✓[/] {escape(message)}")


def info(message: str) -> None:
    """A plain progress/status line."""
    _console(True).print(escape(message))


def failure(message: str) -> None:
    """A red failure report (no traceback)."""
    _console(True).print(f"[bold red]error[/]: {escape(message)}")


def plain(text: str) -> str:
    """`text` with terminal control characters shown as \\xNN, for output printed without markup."""
    return text.translate(_CONTROL)
