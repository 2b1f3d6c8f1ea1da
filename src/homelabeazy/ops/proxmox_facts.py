"""Read-only facts from the Proxmox VE API for status, drift and preflight.

This is deliberately small: three GETs with an API token. The full Proxmox adapter (import,
clone, tags) is ops/proxmox.py; once merged, it can provide these reads and this module can go —
`status`, `drift` and `preflight` depend only on the `ProxmoxReader` protocol below.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from homelabeazy.errors import ExternalSystemError
from homelabeazy.ops.probes import failure_text, tls_context


@dataclass(frozen=True)
class HostFacts:
    """A Proxmox node as /nodes reports it."""

    name: str
    online: bool
    cpu: float
    mem_used: int
    mem_total: int


@dataclass(frozen=True)
class VmFacts:
    """A VM as /cluster/resources reports it."""

    vmid: int
    name: str
    host: str
    running: bool
    cores: int
    memory_mb: int
    tags: tuple[str, ...]


class ProxmoxReader(Protocol):
    """What status, drift and preflight read from Proxmox."""

    def hosts(self) -> list[HostFacts]:
        """Every cluster node."""
        ...

    def vms(self) -> list[VmFacts]:
        """Every QEMU VM in the cluster."""
        ...

    def permissions(self) -> dict[str, set[str]]:
        """The token's effective privileges, by ACL path."""
        ...


@dataclass
class ProxmoxHttpReader:
    """ProxmoxReader over HTTPS with an API token (`user@realm!name` + secret from the environment)."""

    endpoint: str
    token_id: str
    token_secret_env: str
    verify: bool | str = True
    timeout: float = 5.0

    def _get(self, path: str) -> Any:
        secret = os.environ.get(self.token_secret_env)
        if not secret:
            raise ExternalSystemError(
                "proxmox",
                f"reading {path}",
                f"${self.token_secret_env} is not set",
                f"export {self.token_secret_env}='{self.token_id}=<secret>' (or just the secret)",
            )
        if "=" in secret:  # the bpg provider's form: user@realm!name=secret
            secret = secret.split("=", 1)[1]
        url = self.endpoint.rstrip("/") + "/api2/json" + path
        headers = {"Authorization": f"PVEAPIToken={self.token_id}={secret}"}
        try:
            with httpx.Client(
                timeout=self.timeout, verify=tls_context(self.verify), trust_env=False
            ) as client:
                response = client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise ExternalSystemError(
                "proxmox",
                f"GET {self.endpoint.rstrip('/')}/api2/json{path}",
                failure_text(exc, self.timeout),
                "check proxmox.endpoint and that this machine can reach the API (port 8006)",
            ) from None
        if response.status_code != 200:
            raise ExternalSystemError(
                "proxmox",
                f"GET {path}",
                f"HTTP {response.status_code} {response.reason_phrase}",
                "check the token id and secret" if response.status_code == 401 else "",
            )
        return response.json().get("data")

    def hosts(self) -> list[HostFacts]:
        """Every cluster node with its load."""
        return [
            HostFacts(
                name=str(n["node"]),
                online=n.get("status") == "online",
                cpu=float(n.get("cpu", 0.0)),
                mem_used=int(n.get("mem", 0)),
                mem_total=int(n.get("maxmem", 0)),
            )
            for n in self._get("/nodes") or []
        ]

    def vms(self) -> list[VmFacts]:
        """Every QEMU VM (templates excluded)."""
        return [
            VmFacts(
                vmid=int(r["vmid"]),
                name=str(r.get("name", "")),
                host=str(r.get("node", "")),
                running=r.get("status") == "running",
                cores=int(r.get("maxcpu", 0)),
                memory_mb=int(r.get("maxmem", 0)) // (1024 * 1024),
                tags=tuple(t for t in str(r.get("tags", "")).replace(",", ";").split(";") if t),
            )
            for r in self._get("/cluster/resources?type=vm") or []
            if r.get("type") == "qemu" and not r.get("template")
        ]

    def permissions(self) -> dict[str, set[str]]:
        """Effective privileges per path (`/`, `/vms`, `/storage/local-lvm`, ...)."""
        data = self._get("/access/permissions") or {}
        return {path: {p for p, granted in privs.items() if granted} for path, privs in data.items()}
