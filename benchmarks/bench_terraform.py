"""Figures for the terraform layer: render, offline validation and inventory conversion.

Run: python benchmarks/bench_terraform.py  (prints one line per measurement, median of N runs)
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from ruamel.yaml import YAML

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.converge.files.terraform import validate_terraform
from homelabeazy.model import Homelab, build
from homelabeazy.render.terraform import TFVARS, render
from homelabeazy.render.terraform_inventory import inventory_from_outputs


def big_homelab(agents: int, hosts: int) -> Homelab:
    """The example grown to `agents` workers over `hosts` Proxmox hosts."""
    yaml = YAML(typ="safe", pure=True)
    data = yaml.load(example_text())
    data["proxmox"]["hosts"] = [
        {"name": f"pve{i + 1}", "address": f"10.10.30.{i + 2}", "cpus": 256, "memory_mb": 1048576}
        for i in range(hosts)
    ]
    data["cluster"]["agents"]["count"] = agents
    data["cluster"]["node_ip_range"] = "10.10.10.20-10.10.10.190"
    stream = io.StringIO()
    yaml.dump(data, stream)
    return build(load_config(stream.getvalue()).config)


def outputs_for(homelab: Homelab) -> dict[str, Any]:
    tfvars = json.loads(render(homelab)[TFVARS])
    nodes = {
        k: {"ip": n["ip"], "role": n["role"], "vmid": n["vm_id"], "host": n["host"]}
        for k, n in tfvars["nodes"].items()
    }
    return {
        "nodes": {"value": nodes},
        "proxmox_hosts": {"value": tfvars["proxmox_hosts"]},
        "ssh_user": {"value": tfvars["ssh"]["username"]},
    }


def measure(name: str, func: Callable[[], object], runs: int = 20) -> None:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    print(f"{name:<62} median {statistics.median(times) * 1000:8.2f} ms  (n={runs})")


def main() -> None:
    example = build(load_config(example_text()).config)
    big = big_homelab(agents=150, hosts=5)
    for label, homelab in (("example (5 nodes)", example), ("large (153 nodes, 5 hosts)", big)):
        files = render(homelab)
        outputs = outputs_for(homelab)
        measure(f"render terraform/ — {label}", lambda h=homelab: render(h))
        measure(f"validate --deep terraform/ — {label}", lambda f=files: validate_terraform(f), runs=5)
        measure(f"inventory from terraform output — {label}", lambda o=outputs: inventory_from_outputs(o))


if __name__ == "__main__":
    main()
