"""Running health probes concurrently, and the small network reads they are made of.

A probe is a callable that reads one outside system and returns rows. `run_probes` runs them all at
once, each in its own thread with its own deadline, and turns every way a probe can fail (timeout,
refused, bad TLS, an exception from a client library) into a row that says so: `homelab status`
never shows a traceback. Threads rather than asyncio because the clients we need (kubernetes,
ldap3) are blocking; each read also carries its own socket timeout so no thread outlives its probe
by much.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import ldap3
from cryptography import x509

from homelabeazy.errors import HomelabError
from homelabeazy.ops.ldap import ldap_server, secure

Health = Literal["ok", "degraded", "down", "skipped"]


@dataclass(frozen=True)
class Row:
    """One line of the status table."""

    layer: str
    name: str
    health: Health
    detail: str

    def as_dict(self) -> dict[str, str]:
        """The row for `--json`."""
        return {"layer": self.layer, "name": self.name, "health": self.health, "detail": self.detail}


class ProbeError(Exception):
    """A system answered, but not healthily (the message says what it answered)."""


@dataclass(frozen=True)
class Probe:
    """A named read of one system with a deadline; `check` returns the rows it found."""

    layer: str
    name: str
    check: Callable[[], list[Row]]
    timeout: float = 5.0


def failure_text(exc: BaseException, timeout: float) -> str:
    """One short line for what went wrong, naming timeouts, refusals and TLS failures plainly."""
    if isinstance(exc, ProbeError | HomelabError):
        return str(exc)
    if isinstance(exc, httpx.TimeoutException | socket.timeout | TimeoutError) or "timed out" in str(exc):
        return f"timeout after {timeout:g}s"
    if (
        isinstance(exc, ssl.SSLError)
        or "CERTIFICATE_VERIFY_FAILED" in str(exc)
        or "SSL" in type(exc).__name__
    ):
        return f"bad TLS: {_first_line(exc)}"
    if isinstance(exc, ConnectionRefusedError) or "Connection refused" in str(exc):
        return "connection refused"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {_first_line(exc)}"
    status = getattr(exc, "status", None)
    if isinstance(status, int):  # ops.kube.KubeApiError, kubernetes.client.ApiException
        text = _first_line(exc)
        return text if text.startswith("HTTP ") else f"HTTP {status} {getattr(exc, 'reason', '')}".strip()
    return f"{type(exc).__name__}: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def run_probes(probes: Sequence[Probe]) -> list[Row]:
    """Run every probe at once; rows come back in probe order, one failure row per failed probe."""
    slots: list[list[Row] | BaseException | None] = [None] * len(probes)

    def work(index: int, probe: Probe) -> None:
        try:
            slots[index] = probe.check()
        except BaseException as exc:  # every failure becomes a row
            slots[index] = exc

    threads = []
    started = time.monotonic()
    for index, probe in enumerate(probes):
        thread = threading.Thread(target=work, args=(index, probe), daemon=True, name=f"probe-{probe.name}")
        thread.start()
        threads.append(thread)
    rows: list[Row] = []
    for index, (probe, thread) in enumerate(zip(probes, threads, strict=True)):
        thread.join(max(0.0, started + probe.timeout - time.monotonic()))
        outcome = slots[index]
        if thread.is_alive():
            rows.append(Row(probe.layer, probe.name, "down", f"timeout after {probe.timeout:g}s"))
        elif isinstance(outcome, BaseException):
            rows.append(Row(probe.layer, probe.name, "down", failure_text(outcome, probe.timeout)))
        else:
            rows.extend(outcome or [])
    return rows


_TLS_CONTEXTS: dict[bool | str, ssl.SSLContext] = {}
_TLS_LOCK = threading.Lock()


def tls_context(verify: bool | str) -> ssl.SSLContext:
    """One shared TLS context per verification setting.

    Building a context loads a CA store (~100 ms of CPU). Forty probes each building their own
    would serialise on that work and lose their concurrency; the lock makes the first probe build
    it while the others wait for it instead of building it too.
    """
    with _TLS_LOCK:
        context = _TLS_CONTEXTS.get(verify)
        if context is None:
            if verify is False:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            elif isinstance(verify, str):
                context = ssl.create_default_context(cafile=verify)
            else:
                context = ssl.create_default_context()
            _TLS_CONTEXTS[verify] = context
        return context


@dataclass(frozen=True)
class HttpAnswer:
    """What an HTTP endpoint answered."""

    status: int
    body: Any
    location: str = ""


def http_get(
    url: str,
    *,
    timeout: float,
    connect_to: tuple[str, int] | None = None,
    verify: bool | str = True,  # True: system CAs, False: no verification, str: a CA bundle file
    headers: dict[str, str] | None = None,
) -> HttpAnswer:
    """GET `url` (no redirects followed); with `connect_to`, open the TCP connection there instead.

    `connect_to` is how routes are probed through Traefik: the request goes to Traefik's address
    while TLS SNI and the Host header carry the route's name, exactly as a browser's would.
    """
    parsed = httpx.URL(url)
    extensions: dict[str, Any] = {}
    send_headers = dict(headers or {})
    if connect_to is not None:
        host, port = connect_to
        send_headers["Host"] = parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"
        extensions["sni_hostname"] = parsed.host
        parsed = parsed.copy_with(host=host, port=port)
    # trust_env=False: the homelab is on the LAN, never behind $HTTPS_PROXY, and reading the
    # environment's proxy/netrc settings costs CPU per client, which serialises concurrent probes.
    with httpx.Client(
        timeout=timeout, verify=tls_context(verify), follow_redirects=False, trust_env=False
    ) as client:
        response = client.get(parsed, headers=send_headers, extensions=extensions)
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return HttpAnswer(response.status_code, body, response.headers.get("location", ""))


def certificate_not_after(host: str, port: int, server_name: str, timeout: float) -> datetime:
    """When the certificate served for `server_name` at host:port expires (not verified: we only read it)."""
    # Not verified: we only read the expiry date; verification is the HTTP probe's job.
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        tls_context(False).wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if der is None:
        raise ProbeError("no certificate presented")
    return x509.load_der_x509_certificate(der).not_valid_after_utc


def days_left(not_after: datetime, now: datetime | None = None) -> int:
    """Whole days until `not_after` (negative once expired)."""
    return (not_after - (now or datetime.now(UTC))).days


def ldap_count(
    url: str,
    *,
    bind_dn: str,
    password: str,
    base: str,
    search_filter: str,
    timeout: float,
    ca_cert: str | None = None,
) -> int:
    """Bind to `url` as `bind_dn` and count the entries under `base` matching `search_filter`.

    The transport is the LDAP adapter's: TLS (verified with `ca_cert`) unless `url` is a loopback
    port-forward, so the bind password never crosses a network in clear.
    """
    server = ldap_server(url, ca_cert, timeout)
    connection = ldap3.Connection(server, user=bind_dn, password=password, receive_timeout=timeout)
    try:
        connection.open()
        secure(connection, url)
        if not connection.bind():
            raise ProbeError(f"bind as {bind_dn} refused: {connection.result.get('description', '?')}")
        entries = connection.extend.standard.paged_search(
            base, search_filter, attributes=[], paged_size=500, generator=False
        )
        return sum(1 for entry in entries if entry.get("type") == "searchResEntry")
    finally:
        connection.unbind()


def tcp_banner(host: str, port: int, timeout: float) -> str:
    """The first line a TCP server sends on connect (an SSH server's `SSH-2.0-...`)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        data = b""
        while b"\n" not in data and len(data) < 512:
            chunk = sock.recv(256)
            if not chunk:
                break
            data += chunk
    return data.split(b"\n", 1)[0].decode("ascii", "replace").strip()
