"""Hypothesis strategies for random firewall policies over three VLANs (ports kept to 1-12).

Small port numbers keep the brute-force universe small: ports 1-13 cover every distinct case.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from homelabeazy.config.schema import NetworkConfig

ZONES = ["red", "green", "blue"]
ORDINARY = {"red": "10.0.1.200", "green": "10.0.2.200", "blue": "10.0.3.200", "internet": "203.0.113.200"}
DNS_CHOICES = ["10.0.1.1", "10.0.1.53", "10.0.2.53", "10.0.3.1", "198.51.100.53"]
PORTS = range(1, 14)

port_spec = st.tuples(st.integers(1, 12), st.integers(0, 4)).map(
    lambda t: str(t[0]) if t[1] == 0 else f"{t[0]}-{min(12, t[0] + t[1])}"
)


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    protocol = draw(st.sampled_from(["tcp", "udp", "icmp", "any"]))
    ports = draw(st.lists(port_spec, max_size=3)) if protocol in ("tcp", "udp") else []
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
