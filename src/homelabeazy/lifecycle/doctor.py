"""`homelab doctor`'s verdicts: one row per tool, collection and the Proxmox API, from probed facts.

Pure: ops/doctor_facts.py gathers the facts, this module only compares them with the
requirements in toolchain.py (the same numbers the rendered repo's requirements.yml and README
state). `up`'s preflight takes the rows of what `up` runs from here, so the two never disagree.

Levels: `fail` (a required tool is missing, too old or unreadable; the Proxmox API named by
PROXMOX_VE_ENDPOINT does not answer) makes doctor exit 1; `warn` is worth knowing but blocks
nothing (an optional tool, a collection older than the tested pin); `skip` was not checked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from homelabeazy import toolchain
from homelabeazy.ops.doctor_facts import (
    ENDPOINT_ENV,
    TOKEN_ENV,
    CollectionsFact,
    Facts,
    ProxmoxFact,
    ToolFact,
)
from homelabeazy.toolchain import Collection, Tool, parse_version_text, version_text

Level = Literal["ok", "warn", "fail", "skip"]

GALAXY_FIX = "cd ansible && ansible-galaxy collection install -r requirements.yml"


@dataclass(frozen=True)
class Row:
    """One line of doctor's report."""

    check: str
    status: str
    level: Level
    found: str
    wanted: str
    fix: str = ""
    version: str = ""

    @property
    def problem(self) -> str:
        """The line preflight lists for a failed row."""
        return f"{self.check}: {self.status} ({self.found}); needs {self.wanted}: {self.fix}"

    def as_json(self) -> dict[str, str]:
        """The row for `--json`."""
        return asdict(self)


def _bad(required: bool) -> Level:
    return "fail" if required else "warn"


def tool_row(tool: Tool, fact: ToolFact) -> Row:
    """Present and new enough, missing, too old, or its version unreadable."""
    if fact.path is None:
        return Row(tool.name, "missing", _bad(tool.required), "not on PATH", tool.wanted, tool.install)
    if fact.version is None:
        fix = f"check that `{fact.path}` runs, or {tool.install}"
        return Row(tool.name, "unreadable", _bad(tool.required), fact.error or "no version", tool.wanted, fix)
    text = version_text(fact.version)
    found = f"{text} at {fact.path}"
    if fact.version < tool.minimum:
        fix = f"upgrade: {tool.install}"
        return Row(tool.name, "too old", _bad(tool.required), found, tool.wanted, fix, text)
    return Row(tool.name, "ok", "ok", found, tool.wanted, "", text)


def collection_row(collection: Collection, fact: CollectionsFact, required: bool, fix: str) -> Row:
    """Installed at (or above) the pinned version, older, or missing."""
    check = f"collection {collection.name}"
    wanted = f"{collection.version} (pinned)" + ("" if collection.tested else ", untested")
    if fact.installed is None:
        return Row(check, "unknown", _bad(required), fact.error or "not listed", wanted, fix)
    versions = fact.installed.get(collection.name)
    if not versions:
        return Row(check, "missing", _bad(required), "not installed", wanted, fix)
    best = max(versions, key=_sortable)
    if _sortable(best) < _sortable(collection.version):
        return Row(check, "older than tested", "warn", best, wanted, fix, best)
    return Row(check, "ok", "ok", best, wanted, "", best)


def proxmox_row(fact: ProxmoxFact) -> Row:
    """Not configured (skip), no token (warn), unreachable or rejected (fail), old (warn), ok."""
    check, wanted = "Proxmox API", f">= {version_text(toolchain.PROXMOX_VE_MIN)}"
    if fact.endpoint is None:
        fix = f"export {ENDPOINT_ENV}=https://<host>:8006 and {TOKEN_ENV} to check it"
        return Row(check, "not configured", "skip", f"{ENDPOINT_ENV} is not set", wanted, fix)
    if not fact.token_set:
        fix = f"export {TOKEN_ENV}='user@realm!tokenid=<secret>'"
        return Row(check, "no token", "warn", f"{fact.endpoint}; {TOKEN_ENV} is not set", wanted, fix)
    if fact.version is None:
        return Row(check, "unreachable", "fail", fact.error or "no answer", wanted, fact.fix)
    found = f"Proxmox VE {fact.version} at {fact.endpoint}"
    if _sortable(fact.version) < toolchain.PROXMOX_VE_MIN:
        fix = "upgrade Proxmox VE; the pinned bpg/proxmox provider supports 8.x and 9.x"
        return Row(check, "older than tested", "warn", found, wanted, fix, fact.version)
    return Row(check, "ok", "ok", found, wanted, "", fact.version)


def _sortable(text: str) -> tuple[int, ...]:
    try:
        return parse_version_text(text)
    except ValueError:
        return (0,)


def _collections(for_up: bool) -> list[tuple[Collection, bool, str]]:
    """(collection, required, fix) for ansible/ and, unless for `up`, the network playbooks."""
    rows = [(c, True, GALAXY_FIX) for c in toolchain.ANSIBLE_COLLECTIONS]
    if not for_up:
        seen = {c.name for c in toolchain.ANSIBLE_COLLECTIONS}
        for folder, pinned in (
            ("network/proxmox", toolchain.PROXMOX_COLLECTIONS),
            ("network/pfsense", toolchain.PFSENSE_COLLECTIONS),
        ):
            fix = f"cd {folder} && ansible-galaxy collection install -r requirements.yml"
            rows += [(c, False, fix) for c in pinned if c.name not in seen]
            seen |= {c.name for c in pinned}
    return rows


def decide(facts: Facts, *, for_up: bool = False) -> list[Row]:
    """Every row, in a fixed order: tools, collections, then the Proxmox API (doctor only).

    `for_up`: only what `homelab up` runs (preflight checks Proxmox itself, more deeply).
    """
    tools = [t for t in toolchain.TOOLS if t.for_up or not for_up]
    rows = [tool_row(t, facts.tools.get(t.name, ToolFact(t.name))) for t in tools]
    rows += [collection_row(c, facts.collections, req, fix) for c, req, fix in _collections(for_up)]
    if not for_up:
        rows.append(proxmox_row(facts.proxmox))
    return rows


def deep_tool_names() -> list[str]:
    """The tools `validate --deep` runs, which it checks before it renders anything."""
    return [t.name for t in toolchain.TOOLS if t.for_deep]


def deep_rows(facts: Facts) -> list[Row]:
    """The rows of what `validate --deep` runs: the same verdicts and fixes doctor gives. A tool
    found whose version was not read (deep only looks for it) counts as present."""
    rows = []
    for tool in (t for t in toolchain.TOOLS if t.for_deep):
        fact = facts.tools.get(tool.name, ToolFact(tool.name))
        if fact.path is not None and fact.version is None and not fact.error:
            rows.append(Row(tool.name, "ok", "ok", f"found at {fact.path}", tool.wanted))
        else:
            rows.append(tool_row(tool, fact))
    return rows


def up_tool_names() -> list[str]:
    """The tools `up`'s preflight probes."""
    return [t.name for t in toolchain.TOOLS if t.for_up]


def failed(rows: list[Row]) -> list[Row]:
    """The rows that make doctor exit 1 (and preflight stop)."""
    return [r for r in rows if r.level == "fail"]
