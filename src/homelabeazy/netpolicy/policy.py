"""The policy model: zones and the one ordered rule list every compiler and the checker read.

The effective list is the user's rules in order, then (when `defaults` is on) the default policy.
Each rule is expanded once here — `any` into concrete zones, a protocol into the protocols it
covers, ports into a PortSet — so the checker, the shadowing analysis and the compilers never
re-interpret the config and cannot disagree about what a rule means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Literal

from homelabeazy.config.schema import FirewallRule, NetworkConfig
from homelabeazy.model.homelab import Zone, zones_of
from homelabeazy.netpolicy.ports import PortSet

if TYPE_CHECKING:
    from homelabeazy.model import Homelab

INTERNET = "internet"
"""Everything outside the VLANs."""
ANY = "any"
"""Every zone, the internet included."""

Protocol = Literal["tcp", "udp", "icmp", "other"]
ALL_PROTOCOLS: tuple[Protocol, ...] = ("tcp", "udp", "icmp", "other")
"""`other` stands for every IP protocol that is not tcp, udp or icmp (GRE, ESP, ...)."""
PORT_PROTOCOLS: tuple[Protocol, ...] = ("tcp", "udp")

Action = Literal["allow", "deny"]
Origin = Literal["user", "default"]


class PolicyError(ValueError):
    """The firewall config names something that does not exist (the config checks report it first)."""


@dataclass(frozen=True)
class Rule:
    """One rule of the effective ordered list, fully expanded."""

    number: int
    """1-based position in the effective list: what `net check` and the compilers name."""
    sources: tuple[str, ...]
    """Source zones (VLAN names and/or `internet`)."""
    destinations: tuple[str, ...]
    """Destination zones."""
    hosts: tuple[IPv4Address, ...] | None
    """None: the whole destination zones. Otherwise only these addresses (e.g. the DNS servers)."""
    protocols: tuple[Protocol, ...]
    """Protocols matched."""
    ports: PortSet
    """Destination ports for tcp/udp (every port when the rule names none)."""
    action: Action
    description: str
    origin: Origin
    from_label: str
    """The source as written: a zone, `internet` or `any`."""
    to_label: str
    """The destination as written: a zone, `internet`, `any`, or `dns` for the DNS default."""
    config_index: int | None = None
    """Index in network.firewall.rules for a user rule."""

    @property
    def all_protocols(self) -> bool:
        """Whether the rule matches every protocol."""
        return self.protocols == ALL_PROTOCOLS

    def label(self) -> str:
        """`#3 guests -> services tcp/443 allow (guests may use ...)`: how people see a rule."""
        protos = "any" if self.all_protocols else "/".join(self.protocols)
        ports = (
            "" if self.ports.is_all() or not set(self.protocols) & set(PORT_PROTOCOLS) else f" {self.ports}"
        )
        to = self.to_label
        if self.hosts is not None:
            to += " " + ",".join(str(h) for h in self.hosts)
        text = f"#{self.number} {self.from_label} -> {to} {protos}{ports} {self.action}"
        return f"{text} ({self.description})" if self.description else text

    def where(self) -> str:
        """Where the rule comes from: its config path, or the default policy."""
        if self.config_index is not None:
            return f"network.firewall.rules[{self.config_index}]"
        return "default policy"


@dataclass(frozen=True)
class Policy:
    """The zones and the effective ordered rules. Unmatched traffic between zones is denied."""

    zones: tuple[Zone, ...]
    rules: tuple[Rule, ...]
    dns_servers: tuple[IPv4Address, ...]

    @property
    def zone_names(self) -> tuple[str, ...]:
        """Every zone a packet can come from or go to: the VLANs in config order, then `internet`."""
        return (*(z.name for z in self.zones), INTERNET)

    def zone(self, name: str) -> Zone | None:
        """The VLAN zone called `name` (None for `internet` and unknown names)."""
        return next((z for z in self.zones if z.name == name), None)

    def zone_of(self, address: IPv4Address) -> str:
        """The zone an address lies in: the VLAN whose subnet holds it, otherwise `internet`."""
        for zone in self.zones:
            if address in zone.cidr:
                return zone.name
        return INTERNET


def _expand_zone(label: str, known: tuple[str, ...]) -> tuple[str, ...]:
    if label == ANY:
        return known
    if label not in known:
        raise PolicyError(f"unknown zone '{label}'")
    return (label,)


def _protocols(protocol: str) -> tuple[Protocol, ...]:
    if protocol == "any":
        return ALL_PROTOCOLS
    return next((p,) for p in ALL_PROTOCOLS if p == protocol)


def _user_rule(number: int, index: int, rule: FirewallRule, known: tuple[str, ...]) -> Rule:
    for spec in rule.ports:
        # An int port may be negative: `str(-1)` would split on its sign (the config check says so too).
        low, _, high = (str(spec), "", "") if isinstance(spec, int) else spec.partition("-")
        if not (1 <= int(low) <= int(high or low) <= 65535):
            raise PolicyError(f"port '{spec}' is outside 1-65535 or reversed")
    ports = PortSet.parse(rule.ports)
    if rule.ports and rule.protocol not in PORT_PROTOCOLS:
        raise PolicyError(f"ports given for protocol '{rule.protocol}'")
    return Rule(
        number=number,
        sources=_expand_zone(rule.from_zone, known),
        destinations=_expand_zone(rule.to_zone, known),
        hosts=None,
        protocols=_protocols(rule.protocol),
        ports=ports,
        action=rule.action,
        description=rule.description,
        origin="user",
        from_label=rule.from_zone,
        to_label=rule.to_zone,
        config_index=index,
    )


def _who(zone: Zone) -> str:
    return zone.name if zone.name == zone.purpose else f"{zone.name} ({zone.purpose})"


def _default_rules(
    start: int, zones: tuple[Zone, ...], known: tuple[str, ...], dns: tuple[IPv4Address, ...]
) -> list[Rule]:
    """The default policy, in the order it is appended (see FirewallConfig.defaults)."""
    policy_zones = Policy(zones, (), dns)
    rules: list[Rule] = []

    for zone in zones:
        if zone.purpose == "management":
            rules.append(
                Rule(
                    number=start + len(rules),
                    origin="default",
                    sources=(zone.name,),
                    destinations=known,
                    hosts=None,
                    protocols=ALL_PROTOCOLS,
                    ports=PortSet.all(),
                    action="allow",
                    description=f"{_who(zone)} reaches everything",
                    from_label=zone.name,
                    to_label=ANY,
                )
            )
    for zone in zones:
        if zone.purpose not in ("services", "guests"):
            continue
        rules.append(
            Rule(
                number=start + len(rules),
                origin="default",
                sources=(zone.name,),
                destinations=(INTERNET,),
                hosts=None,
                protocols=ALL_PROTOCOLS,
                ports=PortSet.all(),
                action="allow",
                description=f"{_who(zone)} reaches the internet",
                from_label=zone.name,
                to_label=INTERNET,
            )
        )
        hosts = tuple(sorted({zone.gateway, *dns}))
        rules.append(
            Rule(
                number=start + len(rules),
                origin="default",
                sources=(zone.name,),
                destinations=tuple(z for z in known if z in {policy_zones.zone_of(h) for h in hosts}),
                hosts=hosts,
                protocols=PORT_PROTOCOLS,
                ports=PortSet.of([(53, 53)]),
                action="allow",
                description=f"{_who(zone)} reaches DNS on its gateway and the DNS servers",
                from_label=zone.name,
                to_label="dns",
            )
        )
    management = tuple(z.name for z in zones if z.purpose == "management")
    if management:
        rules.append(
            Rule(
                number=start + len(rules),
                origin="default",
                sources=tuple(z for z in known if z not in management),
                destinations=management,
                hosts=None,
                protocols=ALL_PROTOCOLS,
                ports=PortSet.all(),
                action="deny",
                description="nothing reaches management except management",
                from_label=ANY,
                to_label=management[0] if len(management) == 1 else "management",
            )
        )
    return rules


def build_policy(
    zones: Sequence[Zone],
    rules: Sequence[FirewallRule],
    defaults: bool,
    dns_servers: Sequence[IPv4Address],
) -> Policy:
    """The effective policy: `rules` in order, then the defaults when `defaults` is set."""
    zone_tuple = tuple(zones)
    dns = tuple(dns_servers)
    known = (*(z.name for z in zone_tuple), INTERNET)
    effective = [_user_rule(i + 1, i, rule, known) for i, rule in enumerate(rules)]
    if defaults:
        effective += _default_rules(len(effective) + 1, zone_tuple, known, dns)
    return Policy(zone_tuple, tuple(effective), dns)


def policy_from_network(network: NetworkConfig) -> Policy:
    """The policy of a validated `network:` section (also usable before the model is built)."""
    zones = zones_of(network)
    return build_policy(zones, network.firewall.rules, network.firewall.defaults, network.dns_servers)


def policy_for_homelab(homelab: Homelab) -> Policy:
    """The policy of a built homelab: its zones from the model, rules and DNS from its config."""
    zones = homelab.zones
    network = homelab.config.network
    return build_policy(zones, network.firewall.rules, network.firewall.defaults, network.dns_servers)
