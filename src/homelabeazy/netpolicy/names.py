"""Does NAME resolve to the right place from zone Z? Answered from the model and the policy.

A client in a zone asks the homelab's resolvers (`network.dns_servers`, which carry the model's
records: pfSense's host overrides or network/dns/) on 53/udp, gets the record's address, then opens
the record's port there. Each step is one decision of the same table `net check` uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from homelabeazy.model.homelab import DnsRecord
from homelabeazy.netpolicy.decide import DecisionTable, Endpoint, Verdict
from homelabeazy.netpolicy.policy import INTERNET, Policy

DNS_PORT = 53


@dataclass(frozen=True)
class NameAnswer:
    """What a client in `zone` gets for `name`: the record, which resolvers it may ask, and reach."""

    name: str
    zone: str
    record: DnsRecord | None
    resolvers: tuple[tuple[IPv4Address, str, Verdict], ...]
    """Each of `network.dns_servers`, its zone, and whether the zone may ask it on 53/udp."""
    service: Verdict | None
    """Whether the zone may open the record's port at its address (None without a record)."""

    @property
    def resolves(self) -> bool:
        """A record exists and a resolver inside the homelab is reachable on 53/udp.

        A resolver on the internet never has the records: the LAN names are not published.
        """
        usable = any(v.allowed for _, zone, v in self.resolvers if zone != INTERNET)
        return self.record is not None and usable

    @property
    def reaches(self) -> bool:
        """It resolves and the answer's port is open from the zone."""
        return self.resolves and self.service is not None and self.service.allowed


def lookup(records: tuple[DnsRecord, ...], name: str) -> DnsRecord | None:
    """The record for `name` (case and a trailing dot do not matter), or None: NXDOMAIN."""
    wanted = name.strip().lower().rstrip(".")
    return next((r for r in records if r.name == wanted), None)


def answer(
    records: tuple[DnsRecord, ...], policy: Policy, table: DecisionTable, name: str, zone: str
) -> NameAnswer:
    """The whole answer for a client in `zone` (a zone name of the policy)."""
    source = Endpoint(zone, None, zone)
    resolvers = []
    for server in policy.dns_servers:
        where = policy.zone_of(server)
        resolvers.append((server, where, table.decide(source, Endpoint(where, server), "udp", DNS_PORT)))
    record = lookup(records, name)
    service = None
    if record is not None:
        dest = Endpoint(policy.zone_of(record.address), record.address, record.name)
        service = table.decide(source, dest, "tcp", record.port)
    return NameAnswer(name.strip().lower().rstrip("."), zone, record, tuple(resolvers), service)
