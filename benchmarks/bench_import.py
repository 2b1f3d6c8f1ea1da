"""Figures for `homelab import`: discovery of a large estate, concurrent vs one at a time.

The fake Proxmox (tests/support/fake_proxmox.py) serves a generated estate over HTTPS on loopback,
checks every request against the Proxmox VE API description, and sleeps a fixed latency per
request to stand in for a real cluster's round trip. Discovery makes 3 essential calls
(/version, /nodes, /cluster/resources) and then one config read per guest.

Run: python benchmarks/bench_import.py [--guests 500] [--latency-ms 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.support.fake_proxmox import DEFAULT_TOKEN, Estate, FakeProxmox  # noqa: E402

from homelabeazy.importer import render_import  # noqa: E402
from homelabeazy.lifecycle.importer import DEFAULT_CONCURRENCY, Discovery, discover  # noqa: E402
from homelabeazy.ops.proxmox import ApiToken, ProxmoxClient  # noqa: E402


@dataclass(frozen=True)
class RemoteFake:
    """Where the fake listens; it runs in its own process, as a real cluster runs on its own machine,
    so the client's threads and the server's do not share one interpreter lock."""

    url: str
    ca_file: Path


def _serve(estate: Estate, latency: float, pipe: Connection) -> None:
    with FakeProxmox(estate, latency=latency) as pve:
        pipe.send((pve.url, str(pve.ca_file)))
        pipe.recv()  # wait for "stop"
        pipe.send((pve.violations, pve.max_in_flight))


@contextmanager
def remote_fake(estate: Estate, latency: float) -> Iterator[tuple[RemoteFake, list[object]]]:
    """Start the fake in a child process; on exit, collect its API violations and peak concurrency."""
    parent, child = mp.Pipe()
    process = mp.get_context("fork").Process(target=_serve, args=(estate, latency, child), daemon=True)
    process.start()
    stats: list[object] = []
    try:
        url, ca_file = parent.recv()
        yield RemoteFake(url, Path(ca_file)), stats
    finally:
        parent.send("stop")
        stats.extend(parent.recv())
        process.join(timeout=10)
        if process.is_alive():
            process.kill()


CPU_SECONDS: list[float] = []


def run_once(pve: RemoteFake, concurrency: int) -> tuple[float, Discovery]:
    """Seconds for one full discovery at `concurrency`, and its result (client CPU time recorded)."""
    token = ApiToken.parse(DEFAULT_TOKEN, "benchmark")
    with ProxmoxClient(pve.url, token, ca_cert=pve.ca_file, max_connections=concurrency) as client:
        start, cpu = time.perf_counter(), time.process_time()
        found = discover(client, concurrency=concurrency)
        CPU_SECONDS.append(time.process_time() - cpu)
        return time.perf_counter() - start, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3, help="runs per concurrent setting (median)")
    args = parser.parse_args()

    estate = Estate.synthetic(args.guests, nodes=5)
    calls = args.guests + 3
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (client and fake share these CPUs)")
    print(f"estate: {args.guests} guests on 5 nodes, {args.latency_ms:.0f} ms per API call, {calls} calls")
    with remote_fake(estate, args.latency_ms / 1000) as (pve, stats):
        serial, found = run_once(pve, 1)  # one run: it is the slow, predictable baseline
        assert len(found.guests) == args.guests, found.failures
        print(f"one at a time        : {serial:7.2f} s  ({calls / serial:6.0f} calls/s)")
        results = {}
        for concurrency in sorted({4, 8, DEFAULT_CONCURRENCY, 32}):
            times = []
            for _ in range(args.repeat):
                seconds, found = run_once(pve, concurrency)
                assert len(found.guests) == args.guests, found.failures
                times.append(seconds)
            results[concurrency] = statistics.median(times)
            marker = " (default)" if concurrency == DEFAULT_CONCURRENCY else ""
            seconds = results[concurrency]
            print(
                f"concurrency {concurrency:3d}{marker:10s}: {seconds:7.2f} s  "
                f"({calls / seconds:6.0f} calls/s)  speed-up {serial / seconds:5.1f}x"
            )
    cpu_ms = statistics.median(CPU_SECONDS) * 1000 / calls
    print(f"client CPU per API call (TLS, HTTP, JSON, parsing): {cpu_ms:.2f} ms (median over runs)")
    violations, max_in_flight = stats
    assert violations == [], violations
    print(f"API requests checked against pve-apidata.json: 0 violations; peak {max_in_flight} in flight")
    start = time.perf_counter()
    files = render_import(found.guests)
    render_seconds = time.perf_counter() - start
    size = sum(len(text) for text in files.values())
    print(
        f"HCL generation       : {render_seconds * 1000:7.1f} ms for {args.guests} resources "
        f"({size / 1024:.0f} KiB)"
    )
    speedup = serial / results[DEFAULT_CONCURRENCY]
    verdict = "meets" if speedup >= 10 else "MISSES"
    print(
        f"default concurrency {DEFAULT_CONCURRENCY}: {speedup:.1f}x faster than one at a time "
        f"({verdict} the 10x target)"
    )
    return 0 if speedup >= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
