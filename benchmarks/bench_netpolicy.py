"""Speed of the network policy: compiling the decision table, answering checks, rendering network/.

Run: python benchmarks/bench_netpolicy.py  (prints one figure per line)
"""

from __future__ import annotations

import random
import sys
import time
from ipaddress import IPv4Address
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from homelabeazy.checks import load_config
from homelabeazy.config.schema import NetworkConfig
from homelabeazy.config.starter import example_text
from homelabeazy.model import build
from homelabeazy.netpolicy import compile_policy, policy_from_network, shadowed_rules
from homelabeazy.netpolicy.decide import Endpoint
from homelabeazy.render.network import render


def network(zones: int, rules: int, seed: int = 7) -> NetworkConfig:
    rng = random.Random(seed)
    purposes = ["services", "guests", "management"]
    vlans = [
        {
            "name": f"zone{i}",
            "id": 10 + i,
            "cidr": f"10.{i // 250}.{i % 250}.0/24",
            "gateway": f"10.{i // 250}.{i % 250}.1",
            "purpose": "services" if i == 0 else purposes[1 + i % 2],
        }
        for i in range(zones)
    ]
    names = [v["name"] for v in vlans] + ["internet", "any"]
    rule_list = []
    for _ in range(rules):
        proto = rng.choice(["tcp", "udp", "icmp", "any"])
        ports = []
        if proto in ("tcp", "udp"):
            for _ in range(rng.randint(0, 3)):
                lo = rng.randint(1, 60000)
                ports.append(str(lo) if rng.random() < 0.6 else f"{lo}-{lo + rng.randint(1, 500)}")
        rule_list.append(
            {
                "from": rng.choice(names),
                "to": rng.choice(names),
                "protocol": proto,
                "ports": ports,
                "action": rng.choice(["allow", "deny"]),
            }
        )
    return NetworkConfig.model_validate(
        {"vlans": vlans, "dns_servers": ["10.0.0.1"], "firewall": {"defaults": True, "rules": rule_list}}
    )


def timed(label: str, func, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    best = min(_once(func) for _ in range(repeat))
    print(f"{label}: {best * 1000:.2f} ms")
    return best


def _once(func) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main() -> None:
    for zones, rules in ((3, 10), (3, 100), (10, 200), (20, 500)):
        net = network(zones, rules)
        policy = policy_from_network(net)
        timed(f"compile decision table, {zones} zones, {rules} rules", lambda p=policy: compile_policy(p), 3)
        table = compile_policy(policy)
        timed(f"shadowing analysis, {zones} zones, {rules} rules", lambda t=table: shadowed_rules(t), 3)
        rng = random.Random(1)
        zone_names = policy.zone_names
        queries = [
            (
                Endpoint(rng.choice(zone_names)),
                Endpoint(z := rng.choice(zone_names), IPv4Address("10.0.0.1") if z == "zone0" else None),
                rng.choice(["tcp", "udp"]),
                rng.randint(1, 65535),
            )
            for _ in range(100_000)
        ]
        start = time.perf_counter()
        for src, dst, proto, port in queries:
            table.decide(src, dst, proto, port)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        print(f"net check decisions, {zones} zones, {rules} rules: {len(queries) / elapsed:,.0f} per second")
    homelab = build(load_config(example_text()).config)
    timed("render network/ for the example homelab", lambda: render(homelab), 5)


if __name__ == "__main__":
    main()
