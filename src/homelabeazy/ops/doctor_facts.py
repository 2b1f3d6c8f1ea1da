"""What `homelab doctor` (and `up`'s preflight) learn about this machine: the facts, no verdicts.

Each probe only reads: a tool's `--version` (or its equivalent), `ansible-galaxy collection list`,
and Proxmox's GET /version. A probe that fails becomes a fact too (its error text), so one broken
tool never hides the others; lifecycle/doctor.py decides what the facts mean.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from homelabeazy.errors import ExternalSystemError, HomelabError
from homelabeazy.ops import tools

ENDPOINT_ENV = "PROXMOX_VE_ENDPOINT"
TOKEN_ENV = "PROXMOX_VE_API_TOKEN"  # noqa: S105 - a variable name
INSECURE_ENV = "PROXMOX_VE_INSECURE"
"""The variables the rendered terraform/ reads (the bpg provider's); doctor reads the same ones."""


@dataclass(frozen=True)
class ToolFact:
    """A tool as found: its path and version, or why its version could not be read."""

    name: str
    path: str | None = None
    version: tuple[int, ...] | None = None
    error: str = ""


@dataclass(frozen=True)
class CollectionsFact:
    """The Ansible collections installed (name -> versions), or why they could not be listed."""

    installed: Mapping[str, tuple[str, ...]] | None = None
    error: str = ""


@dataclass(frozen=True)
class ProxmoxFact:
    """The Proxmox API named by PROXMOX_VE_ENDPOINT: not set, its version, or the error met."""

    endpoint: str | None = None
    token_set: bool = False
    version: str | None = None
    error: str = ""
    fix: str = ""


@dataclass(frozen=True)
class Facts:
    """Everything doctor decides from."""

    tools: Mapping[str, ToolFact] = field(default_factory=dict)
    collections: CollectionsFact = field(default_factory=CollectionsFact)
    proxmox: ProxmoxFact = field(default_factory=ProxmoxFact)


def tool_fact(name: str, timeout: float = 20.0) -> ToolFact:
    """Probe one tool; never raises."""
    try:
        found = tools.tool_version(name, timeout)
    except HomelabError as exc:
        return ToolFact(name, tools.find_tool(name), None, str(exc))
    if found is None:
        return ToolFact(name)
    return ToolFact(name, found.path, found.version)


def presence_fact(name: str) -> ToolFact:
    """Where `name` is, without running it (a version costs a process start: for ansible-playbook
    most of a second, which `validate --deep` does not spend before every run)."""
    return ToolFact(name, tools.find_tool(name))


def collections_fact(timeout: float = 60.0) -> CollectionsFact:
    """The collections the ansible-galaxy beside ansible-playbook lists; never raises."""
    try:
        listing = tools.installed_collections(tools.find_tool("ansible-playbook"), timeout)
    except HomelabError as exc:
        return CollectionsFact(None, str(exc))
    return CollectionsFact({name: tuple(versions) for name, versions in listing.items()})


def proxmox_fact(environ: Mapping[str, str] | None = None, timeout: float = 10.0) -> ProxmoxFact:
    """GET /version from $PROXMOX_VE_ENDPOINT with $PROXMOX_VE_API_TOKEN; never raises.

    Error texts come from ops/proxmox.py, which never includes the token's secret.
    """
    from homelabeazy.ops.proxmox import ApiToken, ProxmoxClient  # noqa: PLC0415 - httpx only when asked

    env = os.environ if environ is None else environ
    endpoint = env.get(ENDPOINT_ENV) or None
    if endpoint is None:
        return ProxmoxFact()
    if not env.get(TOKEN_ENV):
        return ProxmoxFact(endpoint)
    insecure = env.get(INSECURE_ENV, "").strip().lower() in ("1", "true", "yes")
    try:
        token = ApiToken.parse(env[TOKEN_ENV], f"environment variable {TOKEN_ENV}")
        with ProxmoxClient(endpoint, token, verify=not insecure, timeout=timeout) as client:
            return ProxmoxFact(endpoint, True, client.version() or "unknown")
    except ExternalSystemError as exc:
        return ProxmoxFact(endpoint, True, None, f"{exc.action} failed: {exc.answer}", exc.fix)
    except HomelabError as exc:  # a malformed endpoint URL or token
        return ProxmoxFact(endpoint, True, None, str(exc), f"correct {ENDPOINT_ENV} / {TOKEN_ENV}")


def gather(
    names: Iterable[str],
    *,
    collections: bool = True,
    proxmox: bool = True,
    environ: Mapping[str, str] | None = None,
    versions_of: Iterable[str] | None = None,
) -> Facts:
    """Probe the named tools, the collections and Proxmox concurrently (each probe waits on a process
    or a socket, so threads make doctor as slow as its slowest probe, not their sum). With
    `versions_of`, only those tools are run for their version; the others are only looked for."""
    wanted = list(names)
    run = set(wanted if versions_of is None else versions_of)
    jobs: dict[str, Callable[[], object]] = {
        f"tool:{n}": partial(tool_fact, n) if n in run else partial(presence_fact, n) for n in wanted
    }
    if collections:
        jobs["collections"] = collections_fact
    if proxmox:
        jobs["proxmox"] = lambda: proxmox_fact(environ)
    with ThreadPoolExecutor(max_workers=len(jobs) or 1) as pool:
        futures = {key: pool.submit(job) for key, job in jobs.items()}
        done = {key: future.result() for key, future in futures.items()}
    found_tools = {n: done[f"tool:{n}"] for n in wanted}
    return Facts(
        tools={n: f for n, f in found_tools.items() if isinstance(f, ToolFact)},
        collections=c if isinstance(c := done.get("collections"), CollectionsFact) else CollectionsFact(),
        proxmox=p if isinstance(p := done.get("proxmox"), ProxmoxFact) else ProxmoxFact(),
    )
