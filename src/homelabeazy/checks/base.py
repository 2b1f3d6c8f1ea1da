"""What every semantic check is made of: a Finding with the field path to blame, and the registry.

Each check is one small function registered with an id; its docstring's first line is its
documentation (docs/reference/checks.md). A check belongs to the module of its domain; the order
the checks run in (and findings tie-break in) is the order `homelabeazy.checks` lists the domains.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from types import ModuleType

from homelabeazy.config.load import FieldPath
from homelabeazy.config.schema import HomelabConfig, Vlan


@dataclass(frozen=True)
class Finding:
    """One thing a check found wrong (error) or risky (warning)."""

    path: FieldPath
    message: str
    hint: str = ""
    severity: str = "error"
    check: str = ""


@dataclass(frozen=True)
class Check:
    """A registered semantic check."""

    id: str
    doc: str
    run: Callable[[HomelabConfig], Iterable[Finding]]


_REGISTERED: dict[str, list[Check]] = defaultdict(list)
"""Module name -> its checks, in the order they are defined there."""


def check(
    check_id: str,
) -> Callable[[Callable[[HomelabConfig], Iterable[Finding]]], Callable[..., Iterable[Finding]]]:
    """Register a check under `check_id`; its docstring is its documentation."""

    def register(func: Callable[[HomelabConfig], Iterable[Finding]]) -> Callable[..., Iterable[Finding]]:
        doc = (func.__doc__ or "").strip().splitlines()[0]
        _REGISTERED[func.__module__].append(Check(check_id, doc, func))
        return func

    return register


def checks_of(module: ModuleType) -> tuple[Check, ...]:
    """The checks `module` registered, in the order it defines them."""
    return tuple(_REGISTERED[module.__name__])


def services_vlan(config: HomelabConfig) -> tuple[int, Vlan] | None:
    """The (index, vlan) the cluster lives in, if exactly one VLAN has purpose services."""
    found = [(i, v) for i, v in enumerate(config.network.vlans) if v.purpose == "services"]
    return found[0] if len(found) == 1 else None


def usable_range(vlan: Vlan) -> str:
    """The host addresses of `vlan` as `first-last`, for hints."""
    net = vlan.cidr
    return f"{net.network_address + 1}-{net.broadcast_address - 1}" if net.num_addresses > 2 else str(net)


def inside_subnet(address: IPv4Address, net: IPv4Network) -> bool:
    """A host address of `net`: inside it, and neither its network nor its broadcast address."""
    return address in net and address not in (net.network_address, net.broadcast_address)
