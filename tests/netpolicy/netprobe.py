"""Tiny traffic endpoints run inside the test's network namespaces (standard library only).

    python netprobe.py listen --addresses A,B --tcp 22,443 --udp 53   # TCP answers "ok", UDP echoes
    python netprobe.py probe < cases.json             # try every case in parallel; prints results as JSON

A case is {"id", "address", "port", "protocol"}; its result is "allow" when the TCP handshake
completed and the listener's answer arrived, or the UDP datagram came back, else "deny".
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

TIMEOUT = 1.0


def _serve_tcp(port: int) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", port))
    server.listen(64)
    threading.Thread(target=_accept, args=(server,), daemon=True).start()


def _accept(server: socket.socket) -> None:
    while True:
        conn, _ = server.accept()
        try:
            conn.sendall(b"ok")
        finally:
            conn.close()


def _serve_udp(address: str, port: int) -> None:
    # bound per address: a wildcard socket would answer from the primary address, which conntrack
    # (rightly) does not see as the reply to a datagram sent to a secondary one
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((address, port))
    threading.Thread(target=_echo, args=(server,), daemon=True).start()


def _echo(server: socket.socket) -> None:
    while True:
        data, peer = server.recvfrom(2048)
        server.sendto(data, peer)


def listen(addresses: list[str], tcp: list[int], udp: list[int]) -> None:
    for port in tcp:
        _serve_tcp(port)
    for port in udp:
        for address in addresses:
            _serve_udp(address, port)
    print("ready", flush=True)
    threading.Event().wait()


def _probe_tcp(address: str, port: int) -> str:
    try:
        with socket.create_connection((address, port), timeout=TIMEOUT) as conn:
            return "allow" if conn.recv(2) == b"ok" else "deny"
    except OSError:
        return "deny"


def _probe_udp(address: str, port: int, token: bytes) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(TIMEOUT / 2)
        for _ in range(2):
            try:
                sock.sendto(token, (address, port))
                data, _ = sock.recvfrom(2048)
                if data == token:
                    return "allow"
            except OSError:
                continue
    return "deny"


def _probe(case: dict[str, Any]) -> tuple[str, str]:
    if case["protocol"] == "tcp":
        return case["id"], _probe_tcp(case["address"], case["port"])
    return case["id"], _probe_udp(case["address"], case["port"], case["id"].encode())


def probe(cases: list[dict[str, Any]]) -> dict[str, str]:
    with ThreadPoolExecutor(max_workers=max(1, len(cases))) as pool:
        return dict(pool.map(_probe, cases))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["listen", "probe"])
    parser.add_argument("--tcp", default="")
    parser.add_argument("--udp", default="")
    parser.add_argument("--addresses", default="")
    args = parser.parse_args()
    if args.mode == "listen":
        ports = [int(p) for p in args.tcp.split(",") if p], [int(p) for p in args.udp.split(",") if p]
        listen([a for a in args.addresses.split(",") if a], *ports)
    else:
        print(json.dumps(probe(json.load(sys.stdin))))


if __name__ == "__main__":
    main()
