"""`homelab status` probe concurrency: 40 probes that each take 200 ms, concurrently vs one at a time.

Each probe is a real HTTP GET (ops.probes.http_get) to a loopback server that waits 200 ms before
answering, judged like a route. Target: all 40 concurrently in < 0.6 s (one at a time is ~8 s).

    python benchmarks/bench_status.py [--probes 40] [--delay 0.2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from homelabeazy.ops.probes import Probe, Row, http_get, run_probes


def slow_server(delay: float) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: ARG002 - silence the access log
            return

        def do_GET(self) -> None:
            time.sleep(delay)
            body = b'{"status": "OK"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128  # 40 simultaneous connects must not overflow the listen backlog

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def probes(port: int, count: int) -> list[Probe]:
    def check(i: int) -> list[Row]:
        answer = http_get(f"http://127.0.0.1:{port}/probe/{i}", timeout=5)
        return [Row("bench", f"p{i}", "ok" if answer.status == 200 else "down", f"HTTP {answer.status}")]

    return [Probe("bench", f"p{i}", lambda i=i: check(i), timeout=5) for i in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = slow_server(args.delay)
    port = server.server_address[1]
    try:
        concurrent = []
        for _ in range(args.rounds):
            began = time.perf_counter()
            rows = run_probes(probes(port, args.probes))
            concurrent.append(time.perf_counter() - began)
            bad = [r for r in rows if r.health != "ok"]
            if len(rows) != args.probes or bad:
                print(f"probe failures: {bad}", file=sys.stderr)
                return 1
        began = time.perf_counter()
        for probe in probes(port, args.probes):
            probe.check()
        sequential = time.perf_counter() - began
    finally:
        server.shutdown()
        server.server_close()
    best, median = min(concurrent), statistics.median(concurrent)
    print(f"status probes: {args.probes} x {args.delay * 1000:.0f} ms (real HTTP GETs on loopback)")
    print(f"  concurrent : best {best:.3f} s, median {median:.3f} s over {args.rounds} rounds")
    print(f"  one at a time: {sequential:.3f} s")
    print(f"  speed-up   : {sequential / median:.1f}x")
    target = 0.6
    verdict = "PASS" if median < target else "FAIL"
    print(f"  target     : concurrent < {target} s -> {verdict}")
    return 0 if median < target else 1


if __name__ == "__main__":
    sys.exit(main())
