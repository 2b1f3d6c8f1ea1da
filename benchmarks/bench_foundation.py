"""Foundation speed: validate + build + render (+ first write) of the example and of large configs.

Targets (issue #2): the example under 0.5 s, a 300-VM / 100-app homelab under 3 s, and growth
linear in the number of VMs (100 -> 200 -> 300 VMs must scale like 1 : 2 : 3, not 1 : 4 : 9).
Run: `python benchmarks/bench_foundation.py` (or `make bench` for every benchmark).
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from ruamel.yaml import YAML  # noqa: E402

from homelabeazy.checks import load_config  # noqa: E402
from homelabeazy.config.load import parse_yaml  # noqa: E402
from homelabeazy.config.starter import example_text  # noqa: E402
from homelabeazy.model import build  # noqa: E402
from homelabeazy.render import render_all, writer  # noqa: E402

REPEAT = 7
VMS_PER_HOST = 25


def generated_config(vms: int, apps: int) -> str:
    """The example grown to `vms` node VMs on enough Proxmox hosts, with `apps` apps and users."""
    data, _ = parse_yaml(example_text())
    hosts = max(1, -(-vms // VMS_PER_HOST))
    data["proxmox"]["hosts"] = [
        {"name": f"pve{i + 1}", "address": f"10.10.30.{i + 2}", "cpus": 256, "memory_mb": 1024 * 1024}
        for i in range(hosts)
    ]
    services = data["network"]["vlans"][0]
    services.update(cidr="10.10.8.0/22", gateway="10.10.8.1")
    data["cluster"].update(
        vip="10.10.8.10",
        node_ip_range="10.10.8.20-10.10.10.255",
        loadbalancer_range="10.10.11.0-10.10.11.250",
    )
    # the NAS with the S3 store moves out of the (now much larger) node range
    data["network"]["dns_records"][0]["address"] = "10.10.11.253"
    data["cluster"]["servers"]["count"] = 3
    data["cluster"]["agents"]["count"] = vms - 3
    # A big lab pins and sizes many nodes by hand: the input grows with the VMs, as in real life.
    data["cluster"]["node_overrides"] = {
        f"k3s-agent-{i + 1}": {"host": f"pve{i % hosts + 1}", "disk_gb": 100} for i in range(0, vms - 3, 2)
    }
    data["groups"] = [{"name": f"team{i}", "description": f"team {i}"} for i in range(apps // 4 + 1)]
    data["users"] = [
        {
            "username": f"user{i}",
            "display_name": f"User {i}",
            "email": f"user{i}@home.example.com",
            "groups": [f"team{i % (apps // 4 + 1)}"],
        }
        for i in range(apps)
    ]
    data["apps"] = [
        {
            "name": f"app{i}",
            "chart": {"repo": "https://charts.example.com", "name": f"chart{i}", "version": "1.0.0"},
            "host": f"app{i}",
            "port": 8080,
            "access": ("public", "one_factor", "two_factor", "group")[i % 4],
            **({"groups": [f"team{i // 4}"]} if i % 4 == 3 else {}),
        }
        for i in range(apps)
    ]
    stream = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, stream)
    return stream.getvalue()


def best(func: Callable[[], Any]) -> tuple[float, Any]:
    """Best wall time of REPEAT runs, in seconds (the least disturbed by other load), and the result."""
    times = []
    result = None
    for _ in range(REPEAT):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def measure(text: str) -> dict[str, float]:
    validate_s, loaded = best(lambda: load_config(text))
    build_s, homelab = best(lambda: build(loaded.config))
    render_s, files = best(lambda: render_all(homelab))

    def write_fresh() -> None:
        with tempfile.TemporaryDirectory() as folder:
            writer.apply(Path(folder), writer.plan(Path(folder), files))

    write_s, _ = best(write_fresh)
    return {
        "validate": validate_s,
        "build": build_s,
        "render": render_s,
        "write": write_s,
        "total": validate_s + build_s + render_s,
        "files": len(files),
        "nodes": len(homelab.nodes),
        "routes": len(homelab.routes),
    }


def cli_wall_time() -> float:
    """`homelab validate` + `homelab render` of the example as a user runs them (new processes)."""
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "homelab.yaml"
        config.write_text(example_text(), encoding="utf-8")
        env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
        start = time.perf_counter()
        for args in (["validate", str(config)], ["render", str(config)]):
            subprocess.run(
                [sys.executable, "-m", "homelabeazy", *args], check=True, env=env, capture_output=True
            )
        return time.perf_counter() - start


def row(name: str, text: str, m: dict[str, float], verdict: str) -> str:
    lines = text.count("\n")
    return (
        f"{name:<24}{lines:>7}{m['nodes']:>7}{m['routes']:>7}{m['files']:>7}"
        f"{m['validate'] * 1000:>8.1f}ms{m['build'] * 1000:>7.1f}ms{m['render'] * 1000:>7.1f}ms"
        f"{m['total'] * 1000:>7.1f}ms{m['write'] * 1000:>7.1f}ms{m['total'] / lines * 1e6:>9.0f}us  {verdict}"
    )


def main() -> int:
    print(f"foundation: validate + build + render (best of {REPEAT}); write = first write to an empty dir")
    header = f"{'config':<24}{'lines':>7}{'nodes':>7}{'routes':>7}{'files':>7}"
    header += f"{'validate':>10}{'build':>9}{'render':>9}{'total':>9}{'write':>9}{'per line':>11}  target"
    print(header)
    print("-" * len(header))
    failed = False
    for name, text, target in (
        ("example", example_text(), 0.5),
        ("300 VMs / 100 apps", generated_config(300, 100), 3.0),
    ):
        m = measure(text)
        ok = m["total"] < target
        failed |= not ok
        print(row(name, text, m, f"< {target:.1f} s {'ok' if ok else 'MISSED'}"))
    # Growth: VMs, apps, users and node overrides all scale together, so the input grows 1:2:3:6.
    per_line = []
    for vms in (100, 200, 300, 600):
        text = generated_config(vms, vms // 3)
        m = measure(text)
        per_line.append(m["total"] / text.count("\n"))
        print(row(f"{vms} VMs / {vms // 3} apps", text, m, "growth"))
    spread = max(per_line) / min(per_line)
    linear = per_line[-1] <= 1.5 * per_line[0]  # quadratic work would make it ~6x at 600 VMs
    print(
        f"growth: time per input line from 100 to 600 VMs changes {per_line[-1] / per_line[0]:.2f}x "
        f"(spread {spread:.2f}x; linear stays near 1, quadratic would reach 6) "
        f"{'ok' if linear else 'NOT LINEAR'}"
    )
    failed |= not linear
    print(f"CLI wall time, example, `validate` + `render` as two new processes: {cli_wall_time():.2f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
