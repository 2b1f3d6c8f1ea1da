"""A real Unbound on loopback serving a rendered include, and `dig` to ask it (network/dns tests)."""

from __future__ import annotations

import socket
import subprocess
import time
from ipaddress import IPv4Address
from pathlib import Path

from tests.support.integration import need_binary


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unbound_config(folder: Path, port: int, domain: str) -> Path:
    """A resolver that answers only from the include: the domain is a static zone, nothing forwards."""
    conf = folder / "unbound.conf"
    conf.write_text(
        f"""server:
    interface: 127.0.0.1
    port: {port}
    do-ip6: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "{folder}"
    pidfile: "{folder}/unbound.pid"
    use-syslog: no
    logfile: ""
    module-config: "iterator"
    access-control: 127.0.0.0/8 allow
    local-zone: "{domain}." static
include: "{folder}/unbound-homelab.conf"
""",
        encoding="utf-8",
    )
    return conf


class Resolver:
    """A running Unbound serving one rendered include; `swap` restarts it with another."""

    def __init__(self, folder: Path, domain: str) -> None:
        self.unbound = need_binary("unbound", "apt-get install unbound")
        self.checkconf = need_binary("unbound-checkconf", "apt-get install unbound")
        self.dig = need_binary("dig", "apt-get install dnsutils")
        self.folder = folder
        self.domain = domain
        self.port = _free_udp_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def serve(self, include: str) -> None:
        self.stop()
        (self.folder / "unbound-homelab.conf").write_text(include, encoding="utf-8")
        conf = _unbound_config(self.folder, self.port, self.domain)
        check = subprocess.run([self.checkconf, str(conf)], capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stderr + check.stdout
        self.proc = subprocess.Popen([self.unbound, "-d", "-c", str(conf)], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while self.status("k3s." + self.domain) in ("", "timed out"):
            assert self.proc.poll() is None, self.proc.stderr.read() if self.proc.stderr else ""
            assert time.monotonic() < deadline, "unbound did not answer within 15s"
            time.sleep(0.1)

    def ask(self, queries: list[tuple[str, str]]) -> dict[str, IPv4Address]:
        """Ask every (name, type) in one dig run; the A answers by name."""
        args = [self.dig, "@127.0.0.1", "-p", str(self.port), "+noall", "+answer", "+tries=1", "+time=1"]
        for name, qtype in queries:
            args += [name, qtype]
        out = subprocess.run(args, capture_output=True, text=True, check=False).stdout
        answers: dict[str, IPv4Address] = {}
        for line in out.splitlines():
            name, _ttl, klass, rtype, value = line.split()
            assert (klass, rtype) == ("IN", "A"), line
            assert name.rstrip(".") not in answers, f"two answers for {name}"
            answers[name.rstrip(".")] = IPv4Address(value)
        return answers

    def status(self, name: str) -> str:
        args = [self.dig, "@127.0.0.1", "-p", str(self.port), "+tries=1", "+time=1", name, "A"]
        out = subprocess.run(args, capture_output=True, text=True, check=False).stdout
        return out.split("status: ", 1)[1].split(",", 1)[0] if "status: " in out else "timed out"

    def __enter__(self) -> Resolver:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None
