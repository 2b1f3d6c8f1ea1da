"""Hypothesis strategies for random firewall policies over three VLANs.

Rules draw their port bounds from LANDMARKS: the edges of the port space (1, 65535), the port the
default rules name (53, DNS) and a few more, so a user rule can start, end or sit exactly at a
default rule's port. The brute-force universe (PORTS) is every landmark and its two neighbours:
between two neighbouring universe ports no rule changes, so they cover every distinct case.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from homelabeazy.config.schema import NetworkConfig

ZONES = ["red", "green", "blue"]
ORDINARY = {"red": "10.0.1.200", "green": "10.0.2.200", "blue": "10.0.3.200", "internet": "203.0.113.200"}
DNS_CHOICES = ["10.0.1.1", "10.0.1.53", "10.0.2.53", "10.0.3.1", "198.51.100.53"]
DEFAULT_PORTS = (53,)
"""Every port a default rule names (policy.py: DNS on the gateway and the DNS servers)."""
LANDMARKS = (1, 2, 12, 52, 53, 54, 443, 1024, 65534, 65535)
PORTS = tuple(sorted({q for p in LANDMARKS for q in (p - 1, p, p + 1) if 1 <= q <= 65535}))


@st.composite
def port_spec(draw: st.DrawFn) -> str | int:
    """`443`, `"443"` or `"52-54"`, its bounds landmarks (so the universe sees both sides of them)."""
    low = draw(st.sampled_from(LANDMARKS))
    high = draw(st.sampled_from([p for p in LANDMARKS if p >= low]))
    if low == high:
        return draw(st.sampled_from([low, str(low)]))
    return f"{low}-{high}"


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    protocol = draw(st.sampled_from(["tcp", "udp", "icmp", "any"]))
    ports = draw(st.lists(port_spec(), max_size=3)) if protocol in ("tcp", "udp") else []
    return {
        "from": draw(st.sampled_from([*ZONES, "internet", "any"])),
        "to": draw(st.sampled_from([*ZONES, "internet", "any"])),
        "protocol": protocol,
        "ports": ports,
        "action": draw(st.sampled_from(["allow", "deny"])),
        "description": "",
    }


@st.composite
def networks(draw: st.DrawFn) -> NetworkConfig:
    purposes = draw(st.lists(st.sampled_from(["services", "guests", "management"]), min_size=3, max_size=3))
    vlans = [
        {
            "name": name,
            "id": 10 * (i + 1),
            "cidr": f"10.0.{i + 1}.0/24",
            "gateway": f"10.0.{i + 1}.1",
            "purpose": p,
        }
        for i, (name, p) in enumerate(zip(ZONES, purposes, strict=True))
    ]
    return NetworkConfig.model_validate(
        {
            "vlans": vlans,
            "dns_servers": draw(st.lists(st.sampled_from(DNS_CHOICES), min_size=1, max_size=2, unique=True)),
            "firewall": {"defaults": draw(st.booleans()), "rules": draw(st.lists(rules(), max_size=8))},
        }
    )
