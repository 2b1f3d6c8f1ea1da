"""`homelab doctor`: are the tools the lifecycle runs here, new enough, and is Proxmox reachable?

Needs no homelab.yaml, so it is the first thing to run on a new machine. Exit 1 when a required
tool or collection is missing or too old, or the configured Proxmox API does not answer.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from homelabeazy.cli import console
from homelabeazy.errors import ExitCode

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON on stdout.")] = False,
) -> int:
    """Check the local tools (terraform, ansible-playbook and its collections, helm, kubectl, ssh, git)
    and the Proxmox API named by PROXMOX_VE_ENDPOINT; print one row each with the fix."""
    from rich.markup import escape

    from homelabeazy import toolchain
    from homelabeazy.lifecycle.doctor import decide, failed
    from homelabeazy.ops.doctor_facts import gather

    rows = decide(gather([t.name for t in toolchain.TOOLS]))
    bad = failed(rows)
    if as_json:
        console.out.out(json.dumps({"ok": not bad, "checks": [r.as_json() for r in rows]}, indent=2))
    else:
        width = max(len(r.check) for r in rows)
        state = max(len(r.status) for r in rows)
        for row in rows:
            status = f"[{_STYLE[row.level]}]{escape(row.status.ljust(state))}[/]"
            rest = escape(f"{row.found}; needs {row.wanted}")
            console.out.print(f"{escape(row.check.ljust(width))}  {status}  {rest}")
        for row in rows:
            if row.fix and row.level in ("fail", "warn"):
                console.out.print(f"[{_STYLE[row.level]}]→ {escape(row.check)}[/]: {escape(row.fix)}")
        if bad:
            console.failure(f"{len(bad)} required check(s) failed: {', '.join(r.check for r in bad)}")
        else:
            console.success("everything homelab runs is here")
    raise typer.Exit(ExitCode.FAILED if bad else ExitCode.OK)
