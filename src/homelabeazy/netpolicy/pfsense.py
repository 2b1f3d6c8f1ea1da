"""The policy for pfSense, as data for a playbook using the pfsensible.core collection.

pfSense filters traffic on the interface it enters, first match wins per interface. So each rule
is placed on the interface of each of its source zones (the internet's is WAN), keeping the
global order on every interface; a rule naming several destination zones becomes one pfSense
rule per zone (same action, adjacent, so first-match is unchanged), and a rule with several port
ranges one per range. Each rule is anchored `after` the previous one on its interface, so a
re-run puts them back in order. Unmatched traffic meets pfSense's own default block.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from homelabeazy.model.homelab import DnsRecord, Zone
from homelabeazy.netpolicy.policy import INTERNET, PORT_PROTOCOLS, Policy, Rule

WAN = "wan"
VLANS_ALIAS = "hl_vlans"
MODULE_PREFIX = "pfsensible.core."
OWNED_TAG = "homelabeazy: "
"""How a DNS resolver entry on pfSense says it is the homelab's: its description starts with this.
Entries without it are the user's, and the playbook passes them on untouched."""
GATEWAY_PURPOSE = "homelab DNS gateway (k8s-gateway)"
CONFIG_XML = "/cf/conf/config.xml"
"""pfSense's configuration, which the pfsensible.core modules edit in place."""
DEFAULT_TRUNK = "igb1"
"""The trunk port when `network.pfsense` is not given (the schema's default too)."""


def interface_name(zone: Zone) -> str:
    """The pfSense interface description of a VLAN (letters, digits and underscores only)."""
    return f"VLAN{zone.vlan_id}_{zone.name.upper().replace('-', '_')}"[:32]


def net_alias(zone: Zone) -> str:
    """The network alias holding a VLAN's subnet (named by VLAN id: aliases allow 31 characters)."""
    return f"hl_net_{zone.vlan_id}"


def hosts_alias(rule: Rule) -> str:
    """The host alias of an address-specific rule."""
    return f"hl_hosts_{rule.number}"


@dataclass(frozen=True)
class PfRule:
    """One pfsense_rule task's arguments."""

    name: str
    interface: str
    action: str
    protocol: str
    source: str
    destination: str
    destination_port: str | None
    after: str
    number: int

    def as_args(self) -> dict[str, Any]:
        """The module arguments (ordered, `destination_port` only when there is one)."""
        args: dict[str, Any] = {
            "name": self.name,
            "interface": self.interface,
            "action": self.action,
            "ipprotocol": "inet",
            "protocol": self.protocol,
            "source": self.source,
            "destination": self.destination,
        }
        if self.destination_port is not None:
            args["destination_port"] = self.destination_port
        args["after"] = self.after
        return args


def _protocol(rule: Rule) -> str:
    if rule.all_protocols:
        return "any"
    named = [p for p in rule.protocols if p != "other"]
    return "tcp/udp" if named == ["tcp", "udp"] else named[0]


def _zone_address(policy: Policy, zone: str) -> str:
    spec = policy.zone(zone)
    return "!" + VLANS_ALIAS if spec is None else net_alias(spec)


def _destinations(policy: Policy, rule: Rule, source: str) -> list[str]:
    if rule.hosts is not None:
        return [hosts_alias(rule)]
    if set(rule.destinations) == set(policy.zone_names):
        return ["any"]
    # traffic inside one zone never reaches the firewall, so that part of a rule has no pfSense form
    return [_zone_address(policy, d) for d in rule.destinations if d != source]


def _ports(rule: Rule) -> list[str | None]:
    if rule.ports.is_all() or not set(rule.protocols) <= set(PORT_PROTOCOLS):
        return [None]
    return list(rule.ports.specs())


def rule_name(rule: Rule) -> str:
    """`hlNNN description`: the rule's name in pfSense (pfsensible finds its rules by it), the
    description exactly as written (the schema keeps it to one line of at most 100 bytes)."""
    return f"hl{rule.number:03d} {rule.description or rule.label()}"


def pfsense_rules(policy: Policy) -> list[PfRule]:
    """Every pfSense rule, grouped by nothing: in effective order, each anchored on its interface."""
    last: dict[str, str] = {}
    out: list[PfRule] = []
    for rule in policy.rules:
        for source in rule.sources:
            spec = policy.zone(source)
            interface = WAN if spec is None else interface_name(spec)
            pieces = [(d, p) for d in _destinations(policy, rule, source) for p in _ports(rule)]
            for k, (destination, port) in enumerate(pieces):
                suffix = f" [{k + 1}/{len(pieces)}]" if len(pieces) > 1 else ""
                name = rule_name(rule) + suffix
                out.append(
                    PfRule(
                        name=name,
                        interface=interface,
                        action="pass" if rule.action == "allow" else "block",
                        protocol=_protocol(rule),
                        source=_zone_address(policy, source) if source != INTERNET else "!" + VLANS_ALIAS,
                        destination=destination,
                        destination_port=port,
                        after=last.get(interface, "top"),
                        number=rule.number,
                    )
                )
                last[interface] = name
    return out


def dns_host_overrides(records: tuple[DnsRecord, ...]) -> list[dict[str, str]]:
    """The model's DNS records as pfsense_dns_resolver `hosts`: first label, parent domain, address."""
    out = []
    for record in records:
        host, _, domain = record.name.partition(".")
        descr = OWNED_TAG + record.purpose
        out.append({"host": host, "domain": domain, "ip": str(record.address), "descr": descr})
    return out


@dataclass(frozen=True)
class PfDns:
    """What pfSense's resolver answers itself, and where it forwards the domain (the DNS gateway)."""

    records: tuple[DnsRecord, ...] = ()
    domain: str = ""
    gateway: IPv4Address | None = None

    def overrides(self) -> list[dict[str, str]]:
        """Host overrides: every record, or only the API and nodes when the gateway answers routes."""
        kept = [r for r in self.records if self.gateway is None or r.kind != "route"]
        return dns_host_overrides(tuple(kept))

    def domain_overrides(self) -> list[dict[str, str]]:
        """The domain forwarded to the DNS gateway (none without it)."""
        if self.gateway is None:
            return []
        return [{"domain": self.domain, "ip": str(self.gateway), "descr": OWNED_TAG + GATEWAY_PURPOSE}]


def pfsense_vars(
    policy: Policy, trunk_interface: str = DEFAULT_TRUNK, dns: PfDns | None = None
) -> dict[str, Any]:
    """The playbook's data: the trunk port, VLANs, interfaces, aliases, rules in order, DNS names."""
    vlans = [
        {
            "id": zone.vlan_id,
            "descr": f"{zone.name} ({zone.purpose})",
            "interface": interface_name(zone),
            "address": str(zone.gateway),
            "prefixlen": zone.cidr.prefixlen,
        }
        for zone in policy.zones
    ]
    aliases: list[dict[str, Any]] = [
        {
            "name": net_alias(zone),
            "type": "network",
            "address": str(zone.cidr),
            "descr": f"VLAN {zone.vlan_id} {zone.name}",
        }
        for zone in policy.zones
    ]
    aliases.append(
        {
            "name": VLANS_ALIAS,
            "type": "network",
            "address": " ".join(str(z.cidr) for z in policy.zones),
            "descr": "every homelab VLAN (what is outside is the internet)",
        }
    )
    for rule in policy.rules:
        if rule.hosts is not None:
            aliases.append(
                {
                    "name": hosts_alias(rule),
                    "type": "host",
                    "address": " ".join(str(h) for h in rule.hosts),
                    "descr": f"destinations of rule {rule.number}",
                }
            )
    return {
        "pfsense_config_xml": CONFIG_XML,
        "pfsense_trunk_interface": trunk_interface,
        "homelab_vlans": vlans,
        "homelab_aliases": aliases,
        "homelab_rules": [r.as_args() for r in pfsense_rules(policy)],
        **_dns_vars(dns),
    }


def _dns_vars(dns: PfDns | None) -> dict[str, Any]:
    if dns is None:
        return {}
    return {
        "homelab_dns_tag": OWNED_TAG,
        "homelab_dns_hosts": dns.overrides(),
        "homelab_dns_domains": dns.domain_overrides(),
    }


def pfsense_playbook(dns_overrides: bool = True) -> list[dict[str, Any]]:
    """The playbook: a read of pfSense's configuration that stops before any change when a task would
    take over an object that is not the homelab's, then every task over the generated data, in
    order; DNS last, if wanted."""

    def task(name: str, module: str, args: dict[str, Any], loop: str, label: str) -> dict[str, Any]:
        return {
            "name": name,
            MODULE_PREFIX + module: args,
            "loop": "{{ " + loop + " }}",
            "loop_control": {"label": "{{ " + label + " }}"},
        }

    return [
        {
            "name": "Configure the homelab VLANs and firewall policy on pfSense",
            "hosts": "pfsense",
            "gather_facts": False,
            "vars_files": ["vars/homelab.yml"],
            "tasks": [
                _read_config("Read pfSense's configuration (what is there before any change)"),
                {
                    "name": "Stop before taking over a VLAN, interface, alias or rule not the homelab's",
                    "ansible.builtin.assert": {
                        "that": "homelab_pfsense_conflicts | length == 0",
                        "fail_msg": "{{ homelab_pfsense_conflicts | join('; ') }}",
                        "quiet": True,
                    },
                    "vars": {
                        "homelab_pfsense_conflicts": (
                            "{{ homelab_pfsense_config.content | b64decode | homelab_pfsense_conflicts("
                            "pfsense_trunk_interface, homelab_vlans, homelab_aliases, homelab_rules) }}"
                        )
                    },
                },
                task(
                    "Declare the VLANs on the trunk interface",
                    "pfsense_vlan",
                    {
                        "interface": "{{ pfsense_trunk_interface }}",
                        "vlan_id": "{{ item.id }}",
                        "descr": "{{ item.descr }}",
                        "state": "present",
                    },
                    "homelab_vlans",
                    "item.id",
                ),
                task(
                    "Assign and address one interface per VLAN",
                    "pfsense_interface",
                    {
                        "descr": "{{ item.interface }}",
                        "interface": "{{ pfsense_trunk_interface }}.{{ item.id }}",
                        "enable": True,
                        "ipv4_type": "static",
                        "ipv4_address": "{{ item.address }}",
                        "ipv4_prefixlen": "{{ item.prefixlen }}",
                        "state": "present",
                    },
                    "homelab_vlans",
                    "item.interface",
                ),
                task(
                    "Define the zone aliases",
                    "pfsense_alias",
                    {
                        "name": "{{ item.name }}",
                        "type": "{{ item.type }}",
                        "address": "{{ item.address }}",
                        "descr": "{{ item.descr }}",
                        "state": "present",
                    },
                    "homelab_aliases",
                    "item.name",
                ),
                task(
                    "Install the firewall rules in order",
                    "pfsense_rule",
                    {
                        "name": "{{ item.name }}",
                        "interface": "{{ item.interface }}",
                        "action": "{{ item.action }}",
                        "ipprotocol": "{{ item.ipprotocol }}",
                        "protocol": "{{ item.protocol }}",
                        "source": "{{ item.source }}",
                        "destination": "{{ item.destination }}",
                        "destination_port": "{{ item.destination_port | default(omit) }}",
                        "after": "{{ item.after }}",
                        "state": "present",
                    },
                    "homelab_rules",
                    "item.name",
                ),
                *(_resolver_tasks() if dns_overrides else []),
            ],
        }
    ]


def _read_config(name: str) -> dict[str, Any]:
    """Slurp config.xml; never logged (it holds password hashes and keys)."""
    return {
        "name": name,
        "ansible.builtin.slurp": {"src": "{{ pfsense_config_xml }}"},
        "register": "homelab_pfsense_config",
        "no_log": True,
    }


RESOLVER_SETTINGS: tuple[str, ...] = (
    "active_interface",
    "outgoing_interface",
    "custom_options",
    "enablessl",
    "dnssec",
    "forwarding",
    "forward_tls_upstream",
    "regdhcp",
    "regdhcpstatic",
    "regovpnclients",
    "hideidentity",
    "hideversion",
    "prefetch",
    "prefetchkey",
    "dnssecstripped",
)
"""pfsense_dns_resolver arguments always passed, read back from pfSense (booleans as on or off)."""

RESOLVER_OPTIONAL: tuple[str, ...] = (
    "port",
    "tlsport",
    "system_domain_local_zone_type",
    "msgcachesize",
    "outgoing_num_tcp",
    "incoming_num_tcp",
    "edns_buffer_size",
    "num_queries_per_thread",
    "jostle_timeout",
    "cache_max_ttl",
    "cache_min_ttl",
    "infra_host_ttl",
    "infra_cache_numhosts",
    "unwanted_reply_threshold",
    "log_verbosity",
)
"""Passed as pfSense holds them; one it does not hold yet is omitted (the module writes its default)."""


def _resolver_tasks() -> list[dict[str, Any]]:
    """The resolver's host and domain overrides: every homelab name answered on every VLAN.

    pfsense_dns_resolver (pfsensible.core 0.7.1) writes the resolver's whole configuration: a list
    it gets replaces pfSense's entry by entry, a setting it does not get takes the module's default
    and a boolean it does not get is switched off. So the filter `homelab_resolver`
    (filter_plugins/homelab_pfsense.py) reads pfSense's configuration first and hands the module
    every setting exactly as it is, and the override lists with only the homelab's own entries
    (description starting with `homelab_dns_tag`) replaced.
    """
    args: dict[str, Any] = {"state": "present"}
    args.update({name: "{{ homelab_resolver." + name + " }}" for name in RESOLVER_SETTINGS})
    args.update({name: "{{ homelab_resolver." + name + " | default(omit) }}" for name in RESOLVER_OPTIONAL})
    args["hosts"] = "{{ homelab_resolver.hosts }}"
    args["domainoverrides"] = "{{ homelab_resolver.domainoverrides }}"
    return [
        _read_config("Read pfSense's configuration again (the resolver as it is now)"),
        {
            "name": "Merge the homelab's names into the resolver's own entries and settings",
            "ansible.builtin.set_fact": {
                "homelab_resolver": (
                    "{{ homelab_pfsense_config.content | b64decode | homelab_resolver("
                    "homelab_dns_hosts, homelab_dns_domains, homelab_dns_tag) }}"
                )
            },
        },
        {
            "name": "Answer the homelab's names on the DNS resolver (host and domain overrides)",
            MODULE_PREFIX + "pfsense_dns_resolver": args,
        },
    ]
