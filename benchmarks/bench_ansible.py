"""Figures for the ansible layer: site.yml against 3 Debian 12 chroot hosts (1 server, 2 agents).

Measures the first (configuring) run once and the no-change second run `--repeat` times; the
second run is what every `homelab up` after the first costs. Needs root and debootstrap (the
rootfs tarball is cached in ~/.cache/homelabeazy/rootfs, built on first use).

Run: sudo python benchmarks/bench_ansible.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.support.chroot_lab import build_lab, lab_homelab  # noqa: E402
from tests.support.rootfs import hosts_under, rootfs_tarball  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="no-change runs to time (default 3)")
    args = parser.parse_args()

    started = time.perf_counter()
    tarball = rootfs_tarball()
    print(f"rootfs tarball ready (cached or built): {time.perf_counter() - started:.1f} s")
    base = Path(tempfile.mkdtemp(prefix="bench-ansible-"))
    with hosts_under(base):
        started = time.perf_counter()
        lab = build_lab(lab_homelab(servers=1, agents=2), base, tarball)
        print(f"3 chroot hosts extracted and rendered tree written: {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        first = lab.run()
        print(f"site.yml first run, 3 hosts: {time.perf_counter() - started:.1f} s, changed={first.changed}")

        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = lab.run()
            times.append(time.perf_counter() - started)
            if result.changed:
                raise SystemExit(f"not idempotent: a re-run changed {result.changed} tasks")
        tasks = sum(stats.ok + stats.skipped for stats in result.recap.values())
        print(
            f"site.yml no-change run, 3 hosts ({tasks} task results, changed=0): "
            f"median {statistics.median(times):.1f} s, min {min(times):.1f} s, max {max(times):.1f} s "
            f"over {len(times)} runs"
        )


if __name__ == "__main__":
    main()
