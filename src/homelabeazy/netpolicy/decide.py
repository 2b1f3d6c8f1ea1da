"""The reachability checker: a decision table compiled from the ordered rules.

For every (source zone, destination) pair the rules are walked once, in order, and each rule takes
the part of its port space that no earlier rule took. The result is, per protocol, a sorted list of
disjoint port segments naming the deciding rule, so a question is answered by one binary search
— and rules that end up with no segment anywhere are exactly the shadowed ones.

Destinations are zones, refined by the addresses that address-specific rules name (the DNS
default): a query for such an address uses its own table, any other address of the zone uses the
zone's table.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from homelabeazy.netpolicy.policy import ALL_PROTOCOLS, PORT_PROTOCOLS, Action, Policy, Protocol, Rule
from homelabeazy.netpolicy.ports import PortSet

INTRA_ZONE = "intra-zone traffic is not routed through the firewall"
DEFAULT_DENY = "no rule matched: traffic between zones is denied by default"

Segment = tuple[int, int, int]
"""(first port, last port, rule number); icmp and other protocols use the single port 0."""

DestKey = tuple[str, IPv4Address | None]


@dataclass(frozen=True)
class Endpoint:
    """One end of a flow: a zone, optionally a specific address in it."""

    zone: str
    address: IPv4Address | None = None
    label: str = ""
    """What the user typed (a zone, an address or a host name), for messages."""


@dataclass(frozen=True)
class Verdict:
    """What happens to a flow, and the rule that decided it (None for the implicit ones)."""

    action: Action
    rule: Rule | None
    reason: str

    @property
    def allowed(self) -> bool:
        """Whether the flow passes."""
        return self.action == "allow"


def _space(protocol: Protocol, rule: Rule) -> PortSet:
    """The part of a protocol's port space a rule covers (0 stands for 'no ports')."""
    if protocol not in rule.protocols:
        return PortSet()
    if protocol in PORT_PROTOCOLS:
        return rule.ports
    return PortSet.of([(0, 0)])


def _full(protocol: Protocol) -> PortSet:
    return PortSet.all() if protocol in PORT_PROTOCOLS else PortSet.of([(0, 0)])


@dataclass
class DecisionTable:
    """The compiled form of a Policy: answers queries and knows which rules ever decide anything."""

    policy: Policy
    tables: dict[tuple[str, DestKey], dict[Protocol, list[Segment]]] = field(default_factory=dict)
    specific: dict[str, tuple[IPv4Address, ...]] = field(default_factory=dict)
    """Zone -> addresses that some rule names individually."""
    used: set[int] = field(default_factory=set)
    """Rule numbers that decide at least one flow."""
    blockers: dict[int, set[int]] = field(default_factory=dict)
    """Rule number -> earlier rules that took part of its space."""
    reachable: set[int] = field(default_factory=set)
    """Rule numbers that match at least one routed (inter-zone) flow, decided or not."""

    def __post_init__(self) -> None:
        for rule in self.policy.rules:
            for host in rule.hosts or ():
                zone = self.policy.zone_of(host)
                self.specific[zone] = tuple(sorted({*self.specific.get(zone, ()), host}))
        for source in self.policy.zone_names:
            for dest in self.policy.zone_names:
                if source == dest:
                    continue
                for address in (None, *self.specific.get(dest, ())):
                    self.tables[(source, (dest, address))] = self._compile(source, dest, address)

    def _matches(self, rule: Rule, source: str, dest: str, address: IPv4Address | None) -> bool:
        if source not in rule.sources or dest not in rule.destinations:
            return False
        return rule.hosts is None or (address is not None and address in rule.hosts)

    def _compile(self, source: str, dest: str, address: IPv4Address | None) -> dict[Protocol, list[Segment]]:
        result: dict[Protocol, list[Segment]] = {}
        for protocol in ALL_PROTOCOLS:
            free = _full(protocol)
            segments: list[Segment] = []
            for rule in self.policy.rules:
                if not self._matches(rule, source, dest, address):
                    continue
                wanted = _space(protocol, rule)
                if not wanted:
                    continue
                self.reachable.add(rule.number)
                gained = wanted.intersect(free)
                lost = wanted.subtract(free)
                if lost:
                    self.blockers.setdefault(rule.number, set()).update(
                        num for lo, hi, num in segments if PortSet.of([(lo, hi)]).intersect(lost)
                    )
                if gained:
                    self.used.add(rule.number)
                    segments.extend((lo, hi, rule.number) for lo, hi in gained.intervals)
                    free = free.subtract(gained)
            result[protocol] = sorted(segments)
        return result

    def rule(self, number: int) -> Rule:
        """The rule with this 1-based number."""
        return self.policy.rules[number - 1]

    def decide(
        self, source: Endpoint, dest: Endpoint, protocol: Protocol, port: int | None = None
    ) -> Verdict:
        """Allow or deny for one flow, and the rule that decided."""
        if protocol in PORT_PROTOCOLS and (port is None or not 1 <= port <= 65535):
            raise ValueError(f"{protocol} needs a destination port 1-65535")
        if source.zone == dest.zone:
            return Verdict("allow", None, INTRA_ZONE)
        address = dest.address if dest.address in self.specific.get(dest.zone, ()) else None
        segments = self.tables[(source.zone, (dest.zone, address))][protocol]
        key = port if protocol in PORT_PROTOCOLS and port is not None else 0
        at = bisect_right(segments, (key, 65536, 0)) - 1
        if at >= 0 and segments[at][0] <= key <= segments[at][1]:
            rule = self.rule(segments[at][2])
            return Verdict(rule.action, rule, rule.description or rule.label())
        return Verdict("deny", None, DEFAULT_DENY)

    def allowed_ports(
        self, source: str, dest: str, address: IPv4Address | None = None
    ) -> dict[Protocol, PortSet]:
        """Per protocol, the ports `source` may open on `dest` (icmp/other: {0} when allowed)."""
        key = address if address in self.specific.get(dest, ()) else None
        table = self.tables[(source, (dest, key))]
        return {
            protocol: PortSet.of(
                (lo, hi) for lo, hi, num in table[protocol] if self.rule(num).action == "allow"
            )
            for protocol in ALL_PROTOCOLS
        }


def compile_policy(policy: Policy) -> DecisionTable:
    """Compile once, query many times."""
    return DecisionTable(policy)
