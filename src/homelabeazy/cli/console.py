"""One place for output: status and problems to stderr, machine-readable output to stdout."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from homelabeazy.errors import Problem

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def problem(p: Problem) -> None:
    """Print one located problem: `file:line:col: field: message (hint)` with its severity."""
    style = _STYLE.get(p.severity, "")
    err.print(f"[{style}]{p.severity}[/]: {escape(p.format())}")


def success(message: str) -> None:
    """A green one-line success report."""
    err.print(f"[green]✓[/] {escape(message)}")


def info(message: str) -> None:
    """A plain progress/status line."""
    err.print(escape(message))


def failure(message: str) -> None:
    """A red failure report (no traceback)."""
    err.print(f"[bold red]error[/]: {escape(message)}")
