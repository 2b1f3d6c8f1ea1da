"""The Proxmox VE API adapter: authenticated, TLS-verified GETs with precise errors.

The one Proxmox client of homelab: `homelab import` discovers the estate through it, and
`status`, `drift` and `up`'s preflight read hosts, VMs and the token's privileges through the
`ProxmoxReader` methods below (`client_for` builds it from homelab.yaml's `proxmox:` section).

Why httpx and not proxmoxer: we need a handful of read-only GETs, made concurrently, with the
failure told apart precisely (bad token, missing privilege, refused connection, certificate
problem, timeout). httpx gives one thread-safe pooled client (its pool sized to the import's
concurrency), explicit timeouts, an `ssl.SSLContext` we build ourselves (system trust store or
`--ca-cert`), and distinct exception types for each failure; proxmoxer's attribute-chaining
wrapper over `requests` adds nothing here and hides the connection errors behind its own.

The API token (`user@realm!tokenid=secret`) is read from an environment variable and only ever
placed in the Authorization header; no message, log or repr contains it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from homelabeazy.errors import ExternalSystemError, UsageError

if TYPE_CHECKING:  # httpx and ssl are imported where a client is made: `homelab --help` never pays for them
    import ssl

    import httpx

    from homelabeazy.config.schema import ProxmoxConfig

SYSTEM = "Proxmox"
API_PREFIX = "/api2/json"
TOKEN_SHAPE = "user@realm!tokenid=secret"  # noqa: S105 - a format description


@dataclass(frozen=True)
class ApiToken:
    """A Proxmox API token; its repr never shows the secret."""

    token_id: str
    secret: str = field(repr=False)

    @classmethod
    def parse(cls, value: str, source: str) -> ApiToken:
        """Split `user@realm!tokenid=secret`; `source` names where it came from, for the error."""
        token_id, sep, secret = value.strip().partition("=")
        user, bang, name = token_id.partition("!")
        if not sep or not secret or not bang or "@" not in user or not name:
            raise UsageError(f"{source} does not hold an API token of the form {TOKEN_SHAPE}")
        return cls(token_id, secret)

    @classmethod
    def from_env(cls, variable: str, environ: Mapping[str, str] | None = None) -> ApiToken:
        """Read the token from environment variable `variable`."""
        env = os.environ if environ is None else environ
        value = env.get(variable)
        if not value:
            raise UsageError(
                f"environment variable {variable} is not set: export it as {TOKEN_SHAPE} "
                "(Datacenter > Permissions > API Tokens)"
            )
        return cls.parse(value, f"environment variable {variable}")

    @property
    def header(self) -> str:
        """The Authorization header value Proxmox expects for token auth."""
        return f"PVEAPIToken={self.token_id}={self.secret}"


def tls_context(*, verify: bool = True, ca_cert: Path | None = None) -> ssl.SSLContext | bool:
    """The TLS setting for httpx: the system trust store, a given CA file, or (only if asked) none."""
    import ssl  # noqa: PLC0415 - see TYPE_CHECKING above

    if not verify:
        return False
    if ca_cert is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(ca_cert))
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"--ca-cert {ca_cert}: cannot be read as a PEM CA certificate ({exc})") from None


def normalise_endpoint(endpoint: str) -> str:
    """`https://host:8006` (with or without `/` or `/api2/json`) -> `https://host:8006`."""
    try:
        parts = urlsplit(endpoint.strip())
        _ = parts.port  # a port out of range or not a number raises here
    except ValueError as exc:
        raise UsageError(
            f"endpoint {endpoint!r} is not a URL ({exc}); write it like https://10.10.30.2:8006"
        ) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UsageError(f"endpoint {endpoint!r} must be a URL like https://10.10.30.2:8006")
    if parts.username or parts.password:
        raise UsageError(
            "the endpoint must not carry credentials; the API token comes from the environment "
            "(the variable --token-env names)"
        )
    path = parts.path.rstrip("/")
    if path in ("", API_PREFIX):
        return f"{parts.scheme}://{parts.netloc}"
    raise UsageError(f"endpoint {endpoint!r} must not carry a path other than {API_PREFIX}")


@dataclass(frozen=True)
class HostFacts:
    """A Proxmox node as GET /nodes reports it."""

    name: str
    online: bool
    cpu: float
    mem_used: int
    mem_total: int


@dataclass(frozen=True)
class VmFacts:
    """A QEMU VM as GET /cluster/resources?type=vm reports it."""

    vmid: int
    name: str
    host: str
    running: bool
    cores: int
    memory_mb: int
    tags: tuple[str, ...]


class ProxmoxReader(Protocol):
    """What status, drift and preflight read from Proxmox (ProxmoxClient; fakes in tests)."""

    def hosts(self) -> list[HostFacts]:
        """Every cluster node."""
        ...

    def vms(self) -> list[VmFacts]:
        """Every QEMU VM in the cluster (templates excluded)."""
        ...

    def permissions(self) -> dict[str, set[str]]:
        """The token's privileges per ACL path, counting only those that propagate."""
        ...

    def release(self) -> str:
        """The Proxmox VE point release, `x.y` (GET /version)."""
        ...


def host_facts(rows: list[dict[str, Any]]) -> list[HostFacts]:
    """HostFacts from the rows of GET /nodes."""
    return [
        HostFacts(
            name=str(n["node"]),
            online=n.get("status") == "online",
            cpu=float(n.get("cpu") or 0.0),
            mem_used=int(n.get("mem") or 0),
            mem_total=int(n.get("maxmem") or 0),
        )
        for n in rows
    ]


def vm_facts(rows: list[dict[str, Any]]) -> list[VmFacts]:
    """VmFacts from the rows of GET /cluster/resources?type=vm (containers and templates dropped)."""
    return [
        VmFacts(
            vmid=int(r["vmid"]),
            name=str(r.get("name", "")),
            host=str(r.get("node", "")),
            running=r.get("status") == "running",
            cores=int(r.get("maxcpu") or 0),
            memory_mb=int(r.get("maxmem") or 0) // (1024 * 1024),
            tags=tuple(t for t in str(r.get("tags", "")).replace(",", ";").split(";") if t),
        )
        for r in rows
        if r.get("type") == "qemu" and not r.get("template")
    ]


def propagated_privileges(data: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """GET /access/permissions -> privileges per path.

    Proxmox maps each privilege to its *propagate* flag: a privilege granted on `/` without
    propagation does not reach the VMs and storages below it, so only propagated ones count.
    """
    return {path: {p for p, propagate in privs.items() if propagate} for path, privs in data.items()}


class ProxmoxClient:
    """Read-only access to one Proxmox VE API endpoint. Thread-safe: share one across workers."""

    def __init__(
        self,
        endpoint: str,
        token: ApiToken,
        *,
        verify: bool = True,
        ca_cert: Path | None = None,
        timeout: float = 30.0,
        max_connections: int = 8,
    ) -> None:
        import httpx  # noqa: PLC0415 - loaded only when a client is made (fast --help)

        self.endpoint = normalise_endpoint(endpoint)
        self._verify = verify
        self._client = httpx.Client(
            base_url=self.endpoint + API_PREFIX,
            headers={"Authorization": token.header, "Accept": "application/json"},
            verify=tls_context(verify=verify, ca_cert=ca_cert),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()

    def __enter__(self) -> ProxmoxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """GET an API path (e.g. `/nodes`) and return its `data`; failures raise ExternalSystemError."""
        import httpx  # noqa: PLC0415 - already loaded by __init__; names the exceptions

        action = f"GET {path}" + (f"?{'&'.join(f'{k}={v}' for k, v in params.items())}" if params else "")
        try:
            response = self._client.get(path, params=dict(params or {}))
        except httpx.ConnectError as exc:
            raise self._connect_error(action, exc) from None
        except httpx.TimeoutException:
            raise ExternalSystemError(
                SYSTEM,
                f"{action} on {self.endpoint}",
                "no answer before the timeout",
                "check that the host is up and the API (pveproxy, port 8006) responds",
            ) from None
        except httpx.TransportError as exc:
            raise ExternalSystemError(
                SYSTEM, f"{action} on {self.endpoint}", _first_line(exc), "check the endpoint URL and network"
            ) from None
        return self._data(action, response)

    def hosts(self) -> list[HostFacts]:
        """Every cluster node with its load (one GET /nodes)."""
        return host_facts(self.get("/nodes") or [])

    def vms(self) -> list[VmFacts]:
        """Every QEMU VM of the cluster (one GET /cluster/resources?type=vm)."""
        return vm_facts(self.get("/cluster/resources", {"type": "vm"}) or [])

    def permissions(self) -> dict[str, set[str]]:
        """The token's propagated privileges per ACL path (GET /access/permissions)."""
        return propagated_privileges(self.get("/access/permissions") or {})

    def version(self) -> str:
        """The Proxmox VE version, e.g. `9.1.1` (GET /version; any valid token may read it)."""
        data = self.get("/version") or {}
        return str(data.get("version", "")) if isinstance(data, dict) else ""

    def release(self) -> str:
        """The Proxmox VE point release `x.y` (GET /version's `release`; any token may read it)."""
        data = self.get("/version") or {}
        release = data.get("release") if isinstance(data, dict) else None
        if not isinstance(release, str) or not release:
            raise ExternalSystemError(
                SYSTEM, "GET /version", "the answer has no `release`", "is the endpoint a Proxmox VE API?"
            )
        return release

    def _data(self, action: str, response: httpx.Response) -> Any:
        status = response.status_code
        reason = response.reason_phrase or ""
        if status == 200:
            try:
                return response.json()["data"]
            except (ValueError, KeyError, TypeError):
                raise ExternalSystemError(
                    SYSTEM, action, "the answer is not Proxmox API JSON", "is the endpoint a Proxmox VE API?"
                ) from None
        answer = f"HTTP {status} {reason}".strip()
        if status == 401:
            raise ExternalSystemError(
                SYSTEM,
                f"{action} (authentication)",
                f"{answer}: the API token was rejected",
                f"check the token id and secret ({TOKEN_SHAPE}) and that the token is not expired",
            )
        if status == 403:
            raise ExternalSystemError(
                SYSTEM,
                action,
                f"{answer}: the token lacks a privilege",
                "grant the token's user (and, for a privilege-separated token, the token itself) "
                "the PVEAuditor role on / (Sys.Audit, VM.Audit, Datastore.Audit)",
            )
        raise ExternalSystemError(SYSTEM, action, answer, _fix_for(status))

    def _connect_error(self, action: str, exc: httpx.ConnectError) -> ExternalSystemError:
        text = _first_line(exc)
        if _is_certificate_problem(exc):
            fix = (
                "pass the CA that signed the Proxmox certificate with --ca-cert FILE "
                "(on a node: /etc/pve/pve-root-ca.pem), or --insecure for a throwaway lab"
            )
            return ExternalSystemError(SYSTEM, f"TLS handshake with {self.endpoint}", text, fix)
        return ExternalSystemError(
            SYSTEM,
            f"{action}: connecting to {self.endpoint}",
            text or "connection failed",
            "check the address and port (default 8006) and that pveproxy is running",
        )


def client_for(
    proxmox: ProxmoxConfig,
    *,
    verify: bool | str | None = None,
    timeout: float = 30.0,
    environ: Mapping[str, str] | None = None,
) -> ProxmoxClient:
    """The client for homelab.yaml's `proxmox:` section, token from its `token_secret_env`.

    `verify`: None follows `proxmox.verify_tls`, False turns verification off, a string is a CA
    bundle to verify with. The token must belong to `proxmox.token_id` (the same rule the
    terraform provider's environment follows), so a token for another user is refused up front.
    """
    token = ApiToken.from_env(proxmox.token_secret_env, environ)
    if token.token_id != proxmox.token_id:
        raise UsageError(
            f"environment variable {proxmox.token_secret_env} holds a token for another id than "
            f"proxmox.token_id ({proxmox.token_id}); the value is not shown"
        )
    if isinstance(verify, str):
        return ProxmoxClient(proxmox.endpoint, token, ca_cert=Path(verify), timeout=timeout)
    on = proxmox.verify_tls if verify is None else verify
    return ProxmoxClient(proxmox.endpoint, token, verify=on, timeout=timeout)


def _fix_for(status: int) -> str:
    if status == 404:
        return "the path does not exist on this Proxmox version"
    if status in (500, 595, 596):
        return "the node may be offline or its cluster filesystem unavailable; check `pvecm status`"
    return ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_certificate_problem(exc: BaseException) -> bool:
    import ssl  # noqa: PLC0415 - see TYPE_CHECKING above

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        if isinstance(seen, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
