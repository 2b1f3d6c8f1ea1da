"""Discover a Proxmox estate: hosts, then every guest's config, read with bounded concurrency.

Reading the world (the `ops.proxmox` client) is separate from deciding what it means (the pure
parsers in `homelabeazy.importer`). The essentials — /version, /nodes, /cluster/resources — must
succeed or the import stops with the adapter's precise error; a single guest that cannot be read
or parsed becomes a `ReadFailure` in the report and the rest continue.

Why threads: each guest costs one GET whose time is almost all network round trip, so a small
pool of workers sharing one pooled HTTP client overlaps the waits. The pool is bounded (default
16) so a large estate never opens hundreds of connections against pveproxy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Protocol

from homelabeazy.errors import ExternalSystemError
from homelabeazy.importer import Guest, GuestConfigError, parse_guest
from homelabeazy.importer.addresses import ReadFailure
from homelabeazy.lifecycle.import_limits import DEFAULT_CONCURRENCY, MAX_CONCURRENCY

GUEST_KINDS = ("qemu", "lxc")


class ApiReader(Protocol):
    """What discovery needs from the Proxmox adapter: one authenticated GET returning `data`."""

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """GET `path` and return the answer's `data`; failures raise ExternalSystemError."""


@dataclass(frozen=True)
class GuestRef:
    """A guest as /cluster/resources lists it, before its config is read."""

    node: str
    kind: str
    vmid: int
    name: str
    status: str

    @property
    def config_path(self) -> str:
        """`/nodes/{node}/{qemu|lxc}/{vmid}/config`."""
        return f"/nodes/{self.node}/{self.kind}/{self.vmid}/config"


@dataclass(frozen=True)
class Discovery:
    """What an import found: the cluster's version and nodes, parsed guests, and failures."""

    release: str
    nodes: tuple[str, ...]
    guests: tuple[Guest, ...]
    failures: tuple[ReadFailure, ...]
    warnings: tuple[str, ...] = ()


Progress = Callable[[int, int, GuestRef], None]
"""Called after each guest is read: (done, total, the guest) — drives the CLI's progress bar."""


def list_guests(resources: Any) -> list[GuestRef]:
    """QEMU VMs and LXC containers from a /cluster/resources?type=vm answer, sorted by vmid."""
    refs = []
    for row in resources if isinstance(resources, list) else []:
        if not isinstance(row, dict) or row.get("type") not in GUEST_KINDS:
            continue
        try:
            vmid = int(row["vmid"])
            node = str(row["node"])
        except (KeyError, TypeError, ValueError):
            continue
        name = str(row.get("name") or f"{row['type']} {vmid}")
        refs.append(GuestRef(node, str(row["type"]), vmid, name, str(row.get("status", "unknown"))))
    return sorted(refs, key=lambda r: r.vmid)


def read_guest(api: ApiReader, ref: GuestRef) -> Guest | ReadFailure:
    """Read and parse one guest's config; any failure becomes a ReadFailure naming the cause."""
    try:
        config = api.get(ref.config_path)
        if not isinstance(config, dict):
            raise GuestConfigError("the config answer is not a JSON object")
        return parse_guest(ref.kind, ref.node, ref.vmid, ref.status, config)
    except ExternalSystemError as exc:
        error = f"{exc.answer}" + (f" — {exc.fix}" if exc.fix else "")
        return ReadFailure(ref.node, ref.kind, ref.vmid, ref.name, f"GET {ref.config_path}: {error}")
    except GuestConfigError as exc:
        return ReadFailure(ref.node, ref.kind, ref.vmid, ref.name, f"config not understood: {exc}")


def discover(
    api: ApiReader,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_start: Callable[[int], None] | None = None,
    on_progress: Progress | None = None,
) -> Discovery:
    """Read the whole estate; guest configs are fetched by at most `concurrency` workers at once."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be between 1 and {MAX_CONCURRENCY}")
    version = api.get("/version")
    release = str(version.get("release") or version.get("version") or "") if isinstance(version, dict) else ""
    nodes_answer = api.get("/nodes")
    nodes = tuple(sorted(str(n["node"]) for n in nodes_answer if isinstance(n, dict) and "node" in n))
    refs = list_guests(api.get("/cluster/resources", {"type": "vm"}))
    warnings = []
    if not refs and nodes:
        warnings.append(
            "no guests are visible: the estate is empty, or the token lacks VM.Audit "
            "(a privilege-separated token needs its own permissions)"
        )
    if on_start is not None:
        on_start(len(refs))
    guests: list[Guest] = []
    failures: list[ReadFailure] = []
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="pve-import") as pool:
        futures = {pool.submit(read_guest, api, ref): ref for ref in refs}
        for done, future in enumerate(as_completed(futures), start=1):
            result = future.result()
            if isinstance(result, ReadFailure):
                failures.append(result)
            else:
                guests.append(result)
            if on_progress is not None:
                on_progress(done, len(refs), futures[future])
    guests.sort(key=lambda g: (g.node, g.vmid))
    failures.sort(key=lambda f: (f.node, f.vmid))
    return Discovery(release, nodes, tuple(guests), tuple(failures), tuple(warnings))
