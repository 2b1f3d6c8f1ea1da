"""pfSense's resolver configuration from its config.xml, as pfSense's unbound.inc builds it.

Re-stated from pfSense's src/etc/inc/unbound.inc (stored commit
00dab31dbda90ff9f1669ceb7b83e8159d1528ee: `unbound_add_domain_overrides`, `unbound_add_host_entries`
through system.inc's `system_hosts_override_entries`), for the parts that decide what a name
resolves to: each host override (and each of its aliases) becomes `local-data` for every address
it lists, with a `local-data-ptr` per address; only pfSense's own domain gets a `local-zone` line
(its `system_domain_local_zone_type`); each domain override becomes a `forward-zone` for its domain
(DNS-over-TLS to port 853 when it has `forward_tls_upstream`), plus `private-domain` and
`domain-insecure` for it; the custom options go last, verbatim. pfSense's own host entries (its
hostname, DHCP leases) are left out: no name of the tests is one of them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from ipaddress import IPv4Address, ip_address
from xml.etree import ElementTree as ET


def _names(entry: ET.Element) -> list[str]:
    host, domain = entry.findtext("host") or "", entry.findtext("domain") or ""
    names = [f"{host}.{domain}" if host else domain]
    for item in entry.findall("aliases/item"):
        alias_host, alias_domain = item.findtext("host") or "", item.findtext("domain") or ""
        names.append(f"{alias_host}.{alias_domain}" if alias_host else alias_domain)
    return names


def server_options(root: ET.Element) -> str:
    """The `server:` lines pfSense writes for host overrides, its own domain and the overrides' domains."""
    unbound = root.find("unbound")
    assert unbound is not None
    lines: list[str] = []
    system_domain = root.findtext("system/domain") or ""
    zone_type = unbound.findtext("system_domain_local_zone_type") or "transparent"
    if system_domain:
        lines.append(f'local-zone: "{system_domain}." {zone_type}')
    seen_ptr: set[str] = set()
    for entry in unbound.findall("hosts"):
        for address in (entry.findtext("ip") or "").split(","):
            kind = "A" if ip_address(address).version == 4 else "AAAA"
            for name in _names(entry):
                if address not in seen_ptr:
                    lines.append(f'local-data-ptr: "{address} {name}"')
                    seen_ptr.add(address)
                lines.append(f'local-data: "{name}. {kind} {address}"')
    for domain in sorted({e.findtext("domain") or "" for e in unbound.findall("domainoverrides")}):
        lines.append(f'private-domain: "{domain}"')
        lines.append(f'domain-insecure: "{domain}"')
    return "\n".join(f"    {line}" for line in lines)


def forward_zones(root: ET.Element, reachable: Mapping[IPv4Address, int]) -> str:
    """One `forward-zone` per override domain; an address in `reachable` is the stand-in on loopback
    at that port (the test machine cannot reach the homelab's addresses)."""
    unbound = root.find("unbound")
    assert unbound is not None
    zones: dict[str, list[ET.Element]] = {}
    for entry in unbound.findall("domainoverrides"):
        zones.setdefault(entry.findtext("domain") or "", []).append(entry)
    out = []
    for domain in sorted(zones):
        entries = zones[domain]
        tls = any(e.find("forward_tls_upstream") is not None for e in entries)
        out.append(f'forward-zone:\n    name: "{domain}"')
        if tls:
            out.append("    forward-tls-upstream: yes")
        for entry in entries:
            address = entry.findtext("ip") or ""
            standin = reachable.get(IPv4Address(address)) if "@" not in address else None
            if standin is not None:
                out.append(f"    forward-addr: 127.0.0.1@{standin}")
            else:
                out.append(f"    forward-addr: {address}{'@853' if tls and '@' not in address else ''}")
    return "\n".join(out)


def custom_options(root: ET.Element) -> str:
    return base64.b64decode(root.findtext("unbound/custom_options") or "").decode("utf-8")
