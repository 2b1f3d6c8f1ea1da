"""Real resolvers on loopback (Unbound, dnsmasq) serving rendered network/dns files, and `dig`."""

from __future__ import annotations

import subprocess
import time
from ipaddress import IPv4Address
from pathlib import Path

from tests.support.integration import need_binary
from tests.support.ports import free_port


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
    """One resolver on a loopback port: Unbound with an include, or dnsmasq with a snippet or hosts.

    `serve*` (re)starts it, so a test can swap what it serves; `dig` asks it.
    """

    def __init__(self, folder: Path, domain: str) -> None:
        self.dig = need_binary("dig", "apt-get install dnsutils")
        self.folder = folder
        self.domain = domain
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def serve(self, include: str) -> None:
        """Unbound answering from `include` (network/dns/unbound-homelab.conf), nothing else."""
        unbound = need_binary("unbound", "apt-get install unbound")
        checkconf = need_binary("unbound-checkconf", "apt-get install unbound")
        self.stop()
        (self.folder / "unbound-homelab.conf").write_text(include, encoding="utf-8")
        conf = _unbound_config(self.folder, self.port, self.domain)
        check = subprocess.run([checkconf, str(conf)], capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stderr + check.stdout
        self._start([unbound, "-d", "-c", str(conf)])

    def serve_unbound(self, server_options: str, tail: str = "") -> None:
        """Unbound with our loopback settings plus `server_options` (lines of its `server:` clause)
        and `tail` (further clauses: `forward-zone:` ...), nothing else."""
        unbound = need_binary("unbound", "apt-get install unbound")
        checkconf = need_binary("unbound-checkconf", "apt-get install unbound")
        self.stop()
        conf = self.folder / "unbound.conf"
        conf.write_text(
            f"""server:
    interface: 127.0.0.1
    port: {self.port}
    do-ip6: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "{self.folder}"
    pidfile: "{self.folder}/unbound.pid"
    use-syslog: no
    logfile: ""
    module-config: "iterator"
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
{server_options}
{tail}""",
            encoding="utf-8",
        )
        check = subprocess.run([checkconf, str(conf)], capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stderr + check.stdout + conf.read_text(encoding="utf-8")
        self._start([unbound, "-d", "-c", str(conf)])

    def answer(self, name: str) -> tuple[str, tuple[IPv4Address, ...]]:
        """The response code and the A addresses for `name`."""
        args = [self.dig, "@127.0.0.1", "-p", str(self.port), "+tries=1", "+time=2", name, "A"]
        out = subprocess.run(args, capture_output=True, text=True, check=False).stdout
        status = out.split("status: ", 1)[1].split(",", 1)[0] if "status: " in out else "timed out"
        addresses = []
        if ";; ANSWER SECTION:" in out:
            for line in out.split(";; ANSWER SECTION:", 1)[1].split("\n\n", 1)[0].splitlines():
                fields = line.split()
                if len(fields) == 5 and fields[3] == "A":
                    addresses.append(IPv4Address(fields[4]))
        return status, tuple(addresses)

    def serve_dnsmasq(self, snippet: str | None = None, hosts: str | None = None) -> None:
        """dnsmasq answering from the snippet (`--conf-file`) or the hosts block (`--addn-hosts`).

        No upstream and no /etc/hosts; names of the domain it does not know are NXDOMAIN (`--local`).
        """
        dnsmasq = need_binary("dnsmasq", "apt-get install dnsmasq-base")
        self.stop()
        args = [dnsmasq, "--keep-in-foreground", "--log-facility=-", f"--port={self.port}"]
        args += ["--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts"]
        args += ["--user=root", "--pid-file=", f"--local=/{self.domain}/", "--conf-file=/dev/null"]
        if snippet is not None:
            (self.folder / "dnsmasq-homelab.conf").write_text(snippet, encoding="utf-8")
            args.append(f"--conf-file={self.folder / 'dnsmasq-homelab.conf'}")
        if hosts is not None:
            (self.folder / "hosts").write_text(hosts, encoding="utf-8")
            args.append(f"--addn-hosts={self.folder / 'hosts'}")
        test = subprocess.run([*args, "--test"], capture_output=True, text=True, check=False)
        assert test.returncode == 0, test.stderr + test.stdout
        self._start(args)

    def _start(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while self.status("k3s." + self.domain) in ("", "timed out"):
            assert self.proc.poll() is None, self.proc.stderr.read() if self.proc.stderr else ""
            assert time.monotonic() < deadline, f"{args[0]} did not answer within 15s"
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
