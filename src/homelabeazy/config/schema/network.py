"""`network:` VLANs, DNS, the firewall's zones and rules, pfSense."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field

from homelabeazy.config.schema.fields import FreeText, HostName, IPv4, IPv4Net, Label, Login, Section, pattern

Purpose = Literal["services", "guests", "management"]


class Vlan(Section):
    """One VLAN: a zone of the network."""

    name: Label
    """Zone name used in firewall rules (e.g. `services`)."""
    id: int = Field(ge=1, le=4094)
    """802.1Q VLAN id (1-4094)."""
    cidr: IPv4Net
    """Subnet of the VLAN, e.g. 10.10.10.0/24 (no host bits set)."""
    gateway: IPv4
    """Router address inside the subnet (pfSense interface address)."""
    purpose: Purpose
    """What lives here: `services` (the cluster), `guests` (isolated), `management` (Proxmox, admins)."""


PortSpec = Annotated[
    str, pattern(r"^[0-9]{1,5}(-[0-9]{1,5})?$", "must be a port (443) or a range (8000-8100)")
]


MAX_RULE_TEXT = 100
"""Bytes of a rule's description: with its `#N ` it fits nftables' 128-byte rule comment whole."""


def _fits_a_rule_comment(value: str) -> str:
    """nftables quotes a comment with `"` and has no escape for one; and keeps at most 128 bytes."""
    if '"' in value:
        raise ValueError(
            'holds a double quote ("), which an nftables rule comment cannot carry: use single quotes'
        )
    size = len(value.encode("utf-8"))
    if size > MAX_RULE_TEXT:
        raise ValueError(
            f"is {size} bytes long: at most {MAX_RULE_TEXT} fit the rule comments of nftables and pfSense"
        )
    return value


RuleText = Annotated[FreeText, AfterValidator(_fits_a_rule_comment)]
"""A firewall rule's description: free text that nftables and pfSense carry exactly."""


class FirewallRule(Section):
    """One ordered rule between zones; the first matching rule decides, default is deny."""

    from_zone: Label = Field(alias="from")
    """Source zone: a VLAN name, `internet`, or `any`."""
    to_zone: Label = Field(alias="to")
    """Destination zone: a VLAN name, `internet`, or `any`."""
    protocol: Literal["tcp", "udp", "icmp", "any"] = "any"
    """IP protocol the rule matches."""
    ports: list[PortSpec | int] = Field(default_factory=list)
    """Destination ports or ranges (`443`, `8000-8100`); empty means all. Only with tcp/udp."""
    action: Literal["allow", "deny"]
    """What happens to matching traffic."""
    description: RuleText = ""
    """Why the rule exists (shown by `homelab net check` and in pfSense)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)


class FirewallConfig(Section):
    """Inter-VLAN policy. Rules are evaluated in order; unmatched traffic is denied."""

    defaults: bool = True
    """Append the default policy after your rules: management reaches all; services and guests reach
    only the internet and DNS; nothing else reaches management."""
    rules: list[FirewallRule] = Field(default_factory=list)
    """Your rules, evaluated before the defaults."""


class PfsenseConfig(Section):
    """How Ansible reaches pfSense to apply the VLANs and the firewall policy (`network/pfsense/`)."""

    address: IPv4
    """An address pfSense answers SSH on *before* the playbook runs, e.g. its LAN address
    `192.168.1.1`. Not a VLAN gateway from `network.vlans` unless that interface already exists:
    the playbook creates those interfaces."""
    ssh_user: Login = "admin"
    """SSH user; pfsensible.core must run as root, which on pfSense `admin` is."""
    trunk_interface: Annotated[
        str, pattern(r"^[a-z]{1,12}[0-9]{1,4}$", "must be a pfSense interface name like igb1 or vtnet1")
    ] = "igb1"
    """The physical pfSense port carrying the tagged VLANs (e.g. `igb1`, `vtnet1`)."""
    dns_overrides: bool = True
    """Set every homelab name as a DNS resolver host override (and, with `services.dns_gateway`, the
    domain override to it). The playbook reads pfSense's resolver first and keeps every entry and
    option that is not the homelab's; set `false` to add the `network/dns/` records by hand."""


class DnsRecordConfig(Section):
    """A name outside the cluster that the homelab's resolvers answer too: the NAS holding the S3
    store, a mail relay. Every component's outside names are checked against the DNS path
    (`dns-path`), and with `services.dns_gateway` on, a name in the domain resolves only if it is
    a route or listed here."""

    name: HostName
    """A single label (becomes `label.<domain>`) or a full name, e.g. `minio` or `nas.lan.example.net`."""
    address: IPv4
    """Its IPv4 address."""
    port: int = Field(default=443, ge=1, le=65535)
    """The TCP port clients open there (what `homelab net resolve` checks the firewall for)."""
    description: FreeText = ""
    """What answers there (shown in the rendered records and in pfSense)."""


class NetworkConfig(Section):
    """VLANs, DNS and the firewall policy."""

    vlans: list[Vlan] = Field(min_length=1)
    """The VLANs; exactly one must have purpose `services` (the cluster lives there)."""
    dns_servers: list[IPv4] = Field(min_length=1)
    """DNS resolvers handed to the VMs through cloud-init. CoreDNS forwards the pods' outside names
    to every one of them at random, so list only resolvers that carry the homelab's names."""
    dns_records: list[DnsRecordConfig] = Field(default_factory=list)
    """Names outside the cluster the homelab's resolvers answer (pfSense host overrides, network/dns/)."""
    firewall: FirewallConfig = Field(default_factory=FirewallConfig)
    """Inter-VLAN firewall policy."""
    pfsense: PfsenseConfig | None = None
    """Where Ansible reaches pfSense. Without it the pfSense playbook is rendered with no inventory."""
