"""A fake Proxmox VE API server for tests: real HTTP(S) on 127.0.0.1, strict about requests.

Why a fake: no Proxmox can run here. Why strict: a lenient fake would let a client pass tests
while asking real Proxmox for paths or parameters it rejects. Every request is checked against
the real API description (pve-apidata.json, see `pve_apidata.py`): path template, method,
parameter names, types, enums and ranges — before authentication, so even a request that would
be refused is checked. Violations are collected in `violations`; the `fake_proxmox` fixture below
fails the test when any were recorded (register it in a conftest.py, as tests/importer does).

It serves an *estate*: a JSON file (tests/fixtures/proxmox/estates/*.json) holding the version,
the nodes and every guest with its node, type (qemu/lxc), status and config exactly as
`GET /nodes/{node}/{type}/{vmid}/config` returns it. /cluster/resources and the per-node guest
lists are derived from it, as Proxmox derives them from the guests' configs.

The token's privileges (GET /access/permissions) are the estate's `permissions` (none unless given).

Simulations: `latency` (seconds slept per request, concurrently per connection), a wrong or
missing token (401), `deny()` a path (403 with Proxmox's wording), `fail_guest()` (a guest whose
config read fails), and TLS with a freshly generated CA and server certificate (`tls=True`,
`ca_file` for the client to trust).

Usage:

    with FakeProxmox(Estate.load(path), tls=True) as pve:
        client = ProxmoxClient(pve.url, token=pve.token, ca_cert=pve.ca_file)
        ...
    pve.assert_valid()
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.support.pve_apidata import ApiDescription

ESTATES = Path(__file__).resolve().parent.parent / "fixtures" / "proxmox" / "estates"
DEFAULT_TOKEN = "homelab@pve!import=5f0c3f0e-8a1b-4c2d-9e3f-0a1b2c3d4e5f"
API_PREFIX = "/api2/json"


@dataclass
class FakeGuest:
    """One guest of the estate: where it runs and its config as the API returns it."""

    node: str
    kind: str  # "qemu" or "lxc"
    vmid: int
    status: str
    config: dict[str, Any]

    @property
    def name(self) -> str:
        """The guest's name as /cluster/resources reports it (QEMU `name`, LXC `hostname`)."""
        key = "name" if self.kind == "qemu" else "hostname"
        return str(self.config.get(key, f"{'VM' if self.kind == 'qemu' else 'CT'} {self.vmid}"))

    def resource(self) -> dict[str, Any]:
        """Its entry in /cluster/resources?type=vm."""
        entry: dict[str, Any] = {
            "id": f"{self.kind}/{self.vmid}",
            "type": self.kind,
            "vmid": self.vmid,
            "node": self.node,
            "name": self.name,
            "status": self.status,
            "template": int(self.config.get("template", 0)),
            "maxcpu": int(self.config.get("cores", 1)) * int(self.config.get("sockets", 1)),
            "maxmem": int(str(self.config.get("memory", 512)).split("=")[-1]) * 1024 * 1024,
        }
        if "tags" in self.config:
            entry["tags"] = self.config["tags"]
        return entry


@dataclass
class Estate:
    """A whole fake Proxmox cluster: version, nodes, guests."""

    version: dict[str, Any]
    nodes: list[dict[str, Any]]
    guests: list[FakeGuest]
    permissions: dict[str, dict[str, int]] = field(default_factory=dict)
    """GET /access/permissions: ACL path -> privilege -> propagate flag (1/0), for the token."""

    @classmethod
    def load(cls, path: Path | str) -> Estate:
        """Read an estate JSON file (a bare name means tests/fixtures/proxmox/estates/<name>.json)."""
        file = Path(path)
        if not file.suffix:
            file = ESTATES / f"{path}.json"
        data = json.loads(file.read_text(encoding="utf-8"))
        guests = [FakeGuest(**g) for g in data["guests"]]
        return cls(
            version=data["version"],
            nodes=data["nodes"],
            guests=guests,
            permissions=data.get("permissions", {}),
        )

    @classmethod
    def synthetic(cls, count: int, nodes: int = 5) -> Estate:
        """A generated estate of `count` guests spread over `nodes` nodes (for benchmarks)."""
        names = [f"pve{i + 1}" for i in range(nodes)]
        guests = []
        for i in range(count):
            vmid = 1000 + i
            node = names[i % nodes]
            if i % 4 == 3:
                config: dict[str, Any] = {
                    "hostname": f"ct-{vmid}",
                    "cores": 1,
                    "memory": 512,
                    "rootfs": f"local-lvm:vm-{vmid}-disk-0,size=8G",
                    "net0": f"name=eth0,bridge=vmbr0,hwaddr=BC:24:11:{i >> 8 & 255:02X}:{i & 255:02X}:02,"
                    f"ip=10.20.{i >> 8}.{i & 255}/16,gw=10.20.0.1,tag=20",
                    "onboot": 1,
                    "ostype": "debian",
                }
                guests.append(FakeGuest(node, "lxc", vmid, "running", config))
            else:
                config = {
                    "name": f"vm-{vmid}",
                    "cores": 2,
                    "sockets": 1,
                    "memory": "4096",
                    "scsi0": f"local-lvm:vm-{vmid}-disk-0,iothread=1,size=32G",
                    "net0": f"virtio=BC:24:11:{i >> 8 & 255:02X}:{i & 255:02X}:01,bridge=vmbr0,tag=10",
                    "ipconfig0": f"ip=10.10.{i >> 8}.{i & 255}/16,gw=10.10.0.1",
                    "agent": "1",
                    "onboot": 1,
                }
                guests.append(FakeGuest(node, "qemu", vmid, "running", config))
        node_list = [{"node": n, "status": "online", "maxcpu": 32, "maxmem": 128 << 30} for n in names]
        version = {"release": "9.1", "version": "9.1.1", "repoid": "42a1b3c4"}
        return cls(version=version, nodes=node_list, guests=guests)

    def guest(self, vmid: int) -> FakeGuest | None:
        """The guest with `vmid`, if any."""
        return next((g for g in self.guests if g.vmid == vmid), None)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received (for assertions on what a client asked)."""

    method: str
    path: str
    query: dict[str, list[str]]
    authorized: bool


@dataclass
class _Failure:
    pattern: re.Pattern[str]
    status: int
    reason: str


@dataclass
class _Tls:
    directory: tempfile.TemporaryDirectory[str]
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls_files(hostname: str = "127.0.0.1") -> _Tls:
    """A throwaway CA and a server certificate for `hostname` signed by it (PEM files in a temp dir)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fake Proxmox VE CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(hostname))
    except ValueError:
        san = x509.DNSName(hostname)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory = tempfile.TemporaryDirectory(prefix="fake-pve-tls-")
    base = Path(directory.name)
    pem = serialization.Encoding.PEM
    (base / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (base / "server.pem").write_bytes(cert.public_bytes(pem))
    (base / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return _Tls(directory, base / "ca.pem", base / "server.pem", base / "server.key")


class FakeProxmox:
    """A threaded fake Proxmox VE API serving one estate on 127.0.0.1 (HTTP or HTTPS)."""

    def __init__(
        self,
        estate: Estate,
        *,
        token: str = DEFAULT_TOKEN,
        tls: bool = True,
        latency: float = 0.0,
        api: ApiDescription | None = None,
    ) -> None:
        self.estate = estate
        self.token = token
        self.latency = latency
        self.api = api or ApiDescription.load()
        self.violations: list[str] = []
        self.requests: list[RecordedRequest] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._failures: list[_Failure] = []
        self._tls = make_tls_files() if tls else None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeProxmox:
        """Bind a free port on 127.0.0.1 and serve in a background thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        server = _Server(("127.0.0.1", 0), handler)
        if self._tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self._tls.cert_file, self._tls.key_file)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-proxmox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket, delete the certificate files."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._tls is not None:
            self._tls.directory.cleanup()

    def __enter__(self) -> FakeProxmox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL a client is given as the endpoint (`https://127.0.0.1:PORT`)."""
        assert self._server is not None, "start() the fake first"
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    @property
    def ca_file(self) -> Path:
        """PEM file of the CA that signed the server certificate (for `--ca-cert`)."""
        assert self._tls is not None, "the fake was started without TLS"
        return self._tls.ca_file

    # ------------------------------------------------------------------ simulations

    def deny(self, path_regex: str, status: int = 403, reason: str | None = None) -> None:
        """Answer requests whose API path matches `path_regex` with `status` (default 403)."""
        text = reason or "Permission check failed (/vms, VM.Audit)"
        self._failures.append(_Failure(re.compile(path_regex), status, text))

    def fail_guest(self, vmid: int, status: int = 500, reason: str | None = None) -> None:
        """Make reading guest `vmid`'s config fail (e.g. a node whose pmxcfs is stuck)."""
        text = reason or f"unable to read config of {vmid}: got timeout"
        self._failures.append(_Failure(re.compile(rf"^/nodes/[^/]+/(qemu|lxc)/{vmid}/"), status, text))

    def assert_valid(self) -> None:
        """Fail when any request violated the Proxmox VE API description."""
        assert not self.violations, "requests violating the Proxmox VE API:\n" + "\n".join(self.violations)

    def config_requests(self) -> list[RecordedRequest]:
        """The guest config reads received so far."""
        return [r for r in self.requests if r.path.endswith("/config")]

    # ------------------------------------------------------------------ serving

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def answer(self, method: str, path: str, query: dict[str, list[str]], auth: str | None) -> _Answer:
        """The response to one request (also usable without a socket)."""
        authorized = auth == f"PVEAPIToken={self.token}"
        problems = self.api.check_request(method, path, query)
        with self._lock:
            self.requests.append(RecordedRequest(method, path, query, authorized))
            self.violations.extend(problems)
        if auth is None:
            return _Answer(401, "No ticket")
        if not authorized:
            return _Answer(401, "authentication failure")
        if problems:
            return _Answer(400, "Parameter verification failed.", {"errors": problems})
        for failure in self._failures:
            if failure.pattern.search(path):
                return _Answer(failure.status, failure.reason)
        return self._route(path, query)

    def _route(self, path: str, query: dict[str, list[str]]) -> _Answer:
        estate = self.estate
        if path == "/version":
            return _Answer(200, "OK", estate.version)
        if path == "/nodes":
            return _Answer(200, "OK", estate.nodes)
        if path == "/access/permissions":
            return _Answer(200, "OK", estate.permissions)
        if path == "/cluster/resources":
            kind = query.get("type", [None])[-1]
            rows: list[dict[str, Any]] = []
            if kind in (None, "node"):
                rows += [{"id": f"node/{n['node']}", "type": "node", **n} for n in estate.nodes]
            if kind in (None, "vm"):
                rows += [g.resource() for g in estate.guests]
            return _Answer(200, "OK", rows)
        listing = re.fullmatch(r"/nodes/([^/]+)/(qemu|lxc)", path)
        if listing:
            node, kind = listing.groups()
            self._node_or_raise(node)
            found = [g for g in estate.guests if g.node == node and g.kind == kind]
            return _Answer(200, "OK", [{"vmid": g.vmid, "name": g.name, "status": g.status} for g in found])
        guest_path = re.fullmatch(r"/nodes/([^/]+)/(qemu|lxc)/(\d+)/(config|status/current)", path)
        if guest_path:
            node, kind, vmid, what = guest_path.groups()
            guest = estate.guest(int(vmid))
            if guest is None or guest.node != node or guest.kind != kind:
                folder = "qemu-server" if kind == "qemu" else "lxc"
                return _Answer(500, f"Configuration file 'nodes/{node}/{folder}/{vmid}.conf' does not exist")
            if what == "config":
                return _Answer(200, "OK", guest.config)
            return _Answer(200, "OK", {"vmid": guest.vmid, "status": guest.status, "name": guest.name})
        return _Answer(501, f"the fake does not serve {path}")

    def _node_or_raise(self, node: str) -> None:
        if not any(n["node"] == node for n in self.estate.nodes):
            raise _NodeMissingError(node)


class _NodeMissingError(Exception):
    pass


@dataclass
class _Answer:
    status: int
    reason: str
    data: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> bytes:
        return json.dumps({"data": self.data, **self.extra}).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a burst of concurrent connections must not be refused


class _Handler(BaseHTTPRequestHandler):
    fake: FakeProxmox
    protocol_version = "HTTP/1.1"  # keep-alive, as pveproxy does
    # Headers and body go out in separate writes; with Nagle on, the body would wait for the
    # client's delayed ACK (~40 ms) and the fake would add latency nobody asked for.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _handle(self, method: str) -> None:
        fake = self.fake
        fake._enter()
        try:
            if fake.latency:
                time.sleep(fake.latency)
            url = urlsplit(self.path)
            if not url.path.startswith(API_PREFIX + "/"):
                with fake._lock:
                    fake.violations.append(f"{method} {url.path}: not under {API_PREFIX}")
                answer = _Answer(404, "Not found")
            else:
                path = unquote(url.path[len(API_PREFIX) :]).rstrip("/") or "/"
                query = parse_qs(url.query, keep_blank_values=True)
                self._drain_body()
                try:
                    answer = fake.answer(method, path, query, self.headers.get("Authorization"))
                except _NodeMissingError as exc:
                    answer = _Answer(595, f"no such node '{exc}'")
            body = answer.body()
            self.send_response(answer.status, answer.reason)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            fake._leave()

    def _drain_body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


@pytest.fixture
def fake_proxmox() -> Iterator[Callable[..., FakeProxmox]]:
    """Factory fixture: `fake_proxmox("homelab", latency=0.01)` -> a started FakeProxmox.

    Every server it started is stopped at teardown, and the test fails if any of them received a
    request that violates the Proxmox VE API description. Register it in a conftest.py with
    `from tests.support.fake_proxmox import fake_proxmox  # noqa: F401`.
    """
    started: list[FakeProxmox] = []

    def start(estate: str | Path | Estate = "homelab", **options: Any) -> FakeProxmox:
        data = estate if isinstance(estate, Estate) else Estate.load(estate)
        server = FakeProxmox(data, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
    for server in started:
        server.assert_valid()


def estate_names() -> Iterable[str]:
    """Names of the fixture estates (file stems under tests/fixtures/proxmox/estates)."""
    return sorted(p.stem for p in ESTATES.glob("*.json"))


__all__ = ["DEFAULT_TOKEN", "Estate", "FakeGuest", "FakeProxmox", "estate_names", "fake_proxmox"]
