"""A throwaway routed network made of namespaces: one per zone, the internet, and a router.

Nothing is linked to the host's network: every veth pair is created inside the router namespace
with its peer moved straight into the zone's namespace. `close()` kills the listeners and deletes
every namespace it created, whatever state the build stopped in.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any

PROBE = Path(__file__).with_name("netprobe.py")


@dataclass
class Site:
    """One namespace standing for a zone, with the addresses of its host(s)."""

    zone: str
    namespace: str
    router_if: str
    gateway: IPv4Interface
    addresses: list[IPv4Interface]


@dataclass
class NetLab:
    """Namespaces, veths and listener processes of one test run (unique name prefix)."""

    prefix: str = field(default_factory=lambda: f"hlt{secrets.token_hex(3)}")
    namespaces: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)

    @property
    def router(self) -> str:
        return f"{self.prefix}-router"

    def _ip(self, *args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)

    def _netns(self, name: str) -> str:
        self._ip("netns", "add", name)
        self.namespaces.append(name)
        self._ip("-n", name, "link", "set", "lo", "up")
        return name

    def build_router(self) -> None:
        self._netns(self.router)
        subprocess.run(
            ["ip", "netns", "exec", self.router, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
            check=True,
            timeout=30,
        )

    def add_site(self, zone: str, gateway: IPv4Interface, addresses: list[IPv4Interface]) -> Site:
        """A namespace for `zone`, wired to the router; its first address routes via `gateway`."""
        index = len(self.sites)
        namespace = self._netns(f"{self.prefix}-{index}")
        router_if = f"z{index}"
        self._ip(
            "-n",
            self.router,
            "link",
            "add",
            router_if,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            namespace,
        )
        self._ip("-n", self.router, "addr", "add", str(gateway), "dev", router_if)
        self._ip("-n", self.router, "link", "set", router_if, "up")
        for address in addresses:
            self._ip("-n", namespace, "addr", "add", str(address), "dev", "eth0")
        self._ip("-n", namespace, "link", "set", "eth0", "up")
        self._ip("-n", namespace, "route", "add", "default", "via", str(gateway.ip))
        site = Site(zone, namespace, router_if, gateway, addresses)
        self.sites.append(site)
        return site

    def load_ruleset(self, path: Path) -> None:
        subprocess.run(
            ["ip", "netns", "exec", self.router, "nft", "-f", str(path)],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )

    def list_chain(self, family_table_chain: tuple[str, str, str]) -> str:
        """`nft list chain` in the router namespace."""
        return subprocess.run(
            ["ip", "netns", "exec", self.router, "nft", "list", "chain", *family_table_chain],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout

    def listen(self, site: Site, tcp: list[int], udp: list[int]) -> None:
        """Start a listener in the site's namespace and wait until it is bound."""
        process = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                site.namespace,
                sys.executable,
                str(PROBE),
                "listen",
                "--tcp",
                ",".join(map(str, tcp)),
                "--udp",
                ",".join(map(str, udp)),
                "--addresses",
                ",".join(str(a.ip) for a in site.addresses),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.processes.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.strip() != "ready":
            detail = process.stderr.read() if process.stderr else ""
            raise RuntimeError(f"listener in {site.namespace} did not start: {detail}")

    def start_probes(self, site: Site, cases: list[dict[str, Any]]) -> subprocess.Popen[str]:
        """Start probing `cases` from the site's namespace; collect with `results()`."""
        process = subprocess.Popen(
            ["ip", "netns", "exec", site.namespace, sys.executable, str(PROBE), "probe"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.processes.append(process)
        assert process.stdin is not None
        process.stdin.write(json.dumps(cases))
        process.stdin.close()
        return process

    @staticmethod
    def results(process: subprocess.Popen[str]) -> dict[str, str]:
        assert process.stdout is not None
        out = process.stdout.read()
        process.wait(timeout=60)
        if process.returncode != 0:
            raise RuntimeError(f"probe failed: {process.stderr.read() if process.stderr else ''}")
        result: dict[str, str] = json.loads(out)
        return result

    def close(self) -> None:
        """Kill every process and delete every namespace this lab created."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False, timeout=30)
        self.namespaces.clear()
        self.processes.clear()


def host_interface(address: IPv4Address, prefixlen: int) -> IPv4Interface:
    return IPv4Interface(f"{address}/{prefixlen}")
