"""Real servers on loopback for the status probes: OpenBao, slapd, Traefik (+ its backend), and a
TCP peer that never answers (Proxmox is the shared strict fake, tests/support/fake_proxmox.py).
Each is a context manager that kills what it started, even when the test fails."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.ports import free_port

VENV_BIN = Path(sys.executable).parent  # pip-installed bao and traefik live beside Python


def find_binary(name: str) -> str | None:
    import shutil

    found = shutil.which(name)
    if found:
        return found
    for candidate in (VENV_BIN / name, Path("/usr/sbin") / name):
        if candidate.exists():
            return str(candidate)
    return None


def wait_until(what: str, ok: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if ok():
                return
        except Exception as exc:
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up in {timeout}s ({last})")


@contextmanager
def process(argv: list[str], log: Path, **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    """Start a process in its own session; kill its whole group on exit."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


# --- OpenBao --------------------------------------------------------------------------------------


@contextmanager
def openbao(bao: str, tmp: Path) -> Iterator[str]:
    """`bao server -dev` on a free loopback port; yields its URL (root token `root`)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [bao, "server", "-dev", f"-dev-listen-address=127.0.0.1:{port}", "-dev-root-token-id=root"]
    with process(argv, tmp / "bao.log", env={**os.environ, "HOME": str(tmp)}):
        wait_until("openbao", lambda: httpx.get(f"{url}/v1/sys/health", timeout=1).status_code == 200)
        yield url


# --- slapd ----------------------------------------------------------------------------------------

SLAPD_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {tmp}/slapd.pid
moduleload back_mdb
modulepath /usr/lib/ldap
database mdb
maxsize 10485760
suffix "{base}"
rootdn "cn=admin,{base}"
rootpw {password}
directory {tmp}/db
"""


@dataclass
class Slapd:
    url: str
    base: str
    password: str


@contextmanager
def slapd(binary: str, tmp: Path, base: str, password: str) -> Iterator[Slapd]:
    """A throwaway slapd (mdb) on a free loopback port with an empty tree under `base`."""
    (tmp / "db").mkdir()
    conf = tmp / "slapd.conf"
    conf.write_text(SLAPD_CONF.format(tmp=tmp, base=base, password=password))
    port = free_port()
    url = f"ldap://127.0.0.1:{port}"
    with process([binary, "-f", str(conf), "-h", f"{url}/", "-d", "0"], tmp / "slapd.log"):
        wait_until("slapd", lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() is None)
        yield Slapd(url, base, password)


# --- certificates, Traefik and its backend --------------------------------------------------------


@dataclass
class Pki:
    ca: Path
    cert: Path
    key: Path


def _san(host: str) -> x509.GeneralName:
    import ipaddress

    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def make_pki(tmp: Path, hosts: list[str], days: int) -> Pki:
    """A CA and a leaf certificate for `hosts`, valid for `days` days."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "homelab test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days, hours=1))
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(tmp / "ca.pem", tmp / "tls.crt", tmp / "tls.key")
    pki.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    pki.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return pki


@contextmanager
def http_backend(answers: dict[str, tuple[int, Any, dict[str, str]]]) -> Iterator[int]:
    """A tiny HTTP server answering by Host header (and path): {"host/path": (status, body, headers)}."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            host = (self.headers.get("Host") or "").split(":")[0]
            status, body, headers = answers.get(f"{host}{self.path}") or answers.get(host) or (404, "", {})
            data = json.dumps(body).encode() if not isinstance(body, str) else body.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def traefik(binary: str, tmp: Path, hosts: list[str], backend_port: int, pki: Pki) -> Iterator[int]:
    """Real Traefik: one websecure entrypoint on loopback, a router per host, our certificate."""
    routers = {
        f"r{i}": {"rule": f"Host(`{h}`)", "service": "backend", "tls": {}, "entryPoints": ["websecure"]}
        for i, h in enumerate(hosts)
    }
    dynamic = {
        "http": {
            "routers": routers,
            "services": {
                "backend": {"loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{backend_port}"}]}}
            },
        },
        "tls": {
            "certificates": [{"certFile": str(pki.cert), "keyFile": str(pki.key)}],
            "stores": {
                "default": {"defaultCertificate": {"certFile": str(pki.cert), "keyFile": str(pki.key)}}
            },
        },
    }
    # Traefik's file provider reads YAML or TOML by extension; JSON is valid YAML.
    (tmp / "dynamic.yml").write_text(json.dumps(dynamic))
    port = free_port()
    argv = [
        binary,
        f"--entryPoints.websecure.address=127.0.0.1:{port}",
        f"--providers.file.filename={tmp / 'dynamic.yml'}",
        "--log.level=ERROR",
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
    ]
    with process(argv, tmp / "traefik.log"):

        def routed() -> bool:
            answer = httpx.get(
                f"https://127.0.0.1:{port}/", headers={"Host": hosts[0]}, verify=False, timeout=1
            )
            return answer.status_code != 404

        wait_until("traefik", routed)
        yield port


# --- fakes ----------------------------------------------------------------------------------------


@contextmanager
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (for timeouts)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        sock.close()


# --- sshd -----------------------------------------------------------------------------------------


@dataclass
class Sshd:
    port: int
    user: str
    options: list[str]


@contextmanager
def sshd(binary: str, tmp: Path, authorized_keys: str | None = None) -> Iterator[Sshd]:
    """A throwaway sshd on a loopback port accepting one generated key for the current user
    (or exactly the public keys in `authorized_keys`, when given).

    sshd refuses to start without its privilege-separation directory /run/sshd, which the
    openssh-server package normally creates when its service starts; we create it the same way
    when missing (and leave it, as the package does: other sshd processes may rely on it).
    """
    import getpass

    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    for name in ("host_key", "user_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / name)], check=True)
    (tmp / "authorized_keys").write_text(authorized_keys or (tmp / "user_key.pub").read_text())
    (tmp / "authorized_keys").chmod(0o600)
    port = free_port()
    config = tmp / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {tmp / 'host_key'}\nPidFile {tmp / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {tmp / 'authorized_keys'}\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n"
    )
    options = [
        "-i",
        str(tmp / "user_key"),
        "-o",
        f"UserKnownHostsFile={tmp / 'known_hosts'}",
        "-o",
        "IdentitiesOnly=yes",
    ]
    with process([binary, "-D", "-e", "-f", str(config)], tmp / "sshd.log"):
        wait_until("sshd", lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() is None)
        yield Sshd(port, getpass.getuser(), options)


# --- git over HTTP with basic auth ----------------------------------------------------------------


@contextmanager
def git_http(root: Path, username: str, password: str) -> Iterator[str]:
    """Real `git http-backend` (smart HTTP) serving the repositories under `root` on loopback,
    behind HTTP basic auth for exactly `username:password`. Yields the base URL."""
    import base64

    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": username,
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            }
            done = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
            )
            head, _, payload = done.stdout.partition(b"\r\n\r\n")
            status = 200
            headers = []
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve
        do_POST = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
