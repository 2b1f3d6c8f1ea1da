"""What one zone may open in another, in words: the cells of `homelab net matrix`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from homelabeazy.netpolicy.decide import DecisionTable
from homelabeazy.netpolicy.policy import ALL_PROTOCOLS, Protocol
from homelabeazy.netpolicy.ports import PortSet

ReachKind = Literal["all", "some", "none", "local"]


@dataclass(frozen=True)
class Reach:
    """How much of `dest` a zone reaches: everything, some services, nothing, or local (same zone)."""

    kind: ReachKind
    text: str


def _describe(allowed: dict[Protocol, PortSet]) -> list[str]:
    parts: list[str] = []
    tcp, udp = allowed["tcp"], allowed["udp"]
    if tcp and tcp == udp:
        parts.append(f"tcp+udp {tcp}")
    else:
        parts.extend(f"{name} {ports}" for name, ports in (("tcp", tcp), ("udp", udp)) if ports)
    parts.extend(name for name in ("icmp", "other") if allowed[name])
    return parts


def _is_everything(allowed: dict[Protocol, PortSet]) -> bool:
    return all(allowed[p].is_all() if p in ("tcp", "udp") else bool(allowed[p]) for p in ALL_PROTOCOLS)


def reach(table: DecisionTable, source: str, dest: str) -> Reach:
    """Summarise what `source` may open in `dest`, including address-specific allowances (DNS)."""
    if source == dest:
        return Reach("local", "local (not routed)")
    generic = table.allowed_ports(source, dest)
    if _is_everything(generic):
        return Reach("all", "all")
    parts = _describe(generic)
    for address in table.specific.get(dest, ()):
        extra = table.allowed_ports(source, dest, address)
        only_here = {p: extra[p].subtract(generic[p]) for p in ALL_PROTOCOLS}
        described = _describe(only_here)
        if described:
            parts.append(f"{'; '.join(described)} to {address}")
    if not parts:
        return Reach("none", "none")
    return Reach("some", "; ".join(parts))
