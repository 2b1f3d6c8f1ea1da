"""Vault (or OpenBao) over its HTTP API with hvac: the only code that talks to Vault.

Every call goes through `_call`, which turns hvac/requests exceptions into an `ExternalSystemError`
naming Vault, the action, Vault's answer and what to do. Secret values are never put into a
message: actions name paths, never data, and Vault's own error texts do not echo request bodies.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import hvac
import hvac.exceptions
import requests

from homelabeazy.errors import ExternalSystemError

SYSTEM = "Vault"
T = TypeVar("T")


class _Missing(Exception):
    """Vault answered 404: the path does not exist (readers turn this into None)."""


@dataclass(frozen=True)
class SealStatus:
    """What /sys/seal-status says (readable without a token)."""

    initialized: bool
    sealed: bool
    shares: int
    threshold: int
    progress: int
    version: str


@dataclass(frozen=True, repr=False)
class InitResult:
    """The unseal keys and root token Vault hands out exactly once. repr hides them."""

    unseal_keys: tuple[str, ...]
    root_token: str

    def __repr__(self) -> str:
        return f"InitResult(<{len(self.unseal_keys)} unseal keys and a root token, hidden>)"


@dataclass(frozen=True, repr=False)
class StoredSecret:
    """A KV v2 secret as read: its data and the version a check-and-set write must name."""

    data: Mapping[str, str]
    version: int

    def __repr__(self) -> str:
        return f"StoredSecret(keys={sorted(self.data)}, version={self.version})"


class VaultAdapter:
    """One Vault server at `address`; `token` may be set later (after init)."""

    def __init__(
        self,
        address: str,
        token: str | None = None,
        ca_cert: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.address = address.rstrip("/")
        # Verification is on unless the caller gives a CA bundle to verify with instead.
        verify: bool | str = ca_cert if ca_cert else True
        # requests takes a float; int() would turn a sub-second status timeout into "wait forever" (0).
        self._client = hvac.Client(url=self.address, token=token, verify=verify, timeout=timeout)

    def set_token(self, token: str) -> None:
        """Use `token` for every following call."""
        self._client.token = token

    def close(self) -> None:
        """Close the kept-alive connections (a port-forward's stream ends with them)."""
        self._client.adapter.close()

    # ------------------------------------------------------------------ plumbing

    def _call(self, action: str, func: Callable[[], T], fix: str = "", missing_ok: bool = False) -> T:
        try:
            return func()
        except hvac.exceptions.InvalidPath:
            if missing_ok:
                raise _Missing from None
            raise ExternalSystemError(SYSTEM, f"{action} at {self.address}", "no such path", fix) from None
        except requests.exceptions.SSLError:
            raise ExternalSystemError(
                SYSTEM,
                f"{action} at {self.address}",
                "TLS certificate verification failed",
                "pass the CA that signed Vault's certificate with --ca-cert (or VAULT_CACERT)",
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            what = "timed out" if isinstance(exc, requests.exceptions.Timeout) else "connection refused"
            raise ExternalSystemError(
                SYSTEM,
                f"{action} at {self.address}",
                f"unreachable ({what})",
                "check that Vault is running and --vault-addr / VAULT_ADDR points at it",
            ) from None
        except hvac.exceptions.VaultDown:
            raise ExternalSystemError(
                SYSTEM, f"{action} at {self.address}", "Vault is sealed", "run `homelab secrets unseal`"
            ) from None
        except hvac.exceptions.Forbidden:
            raise ExternalSystemError(
                SYSTEM,
                f"{action} at {self.address}",
                "permission denied",
                "check the token: VAULT_TOKEN, or the root token in the bootstrap file",
            ) from None
        except hvac.exceptions.Unauthorized:
            raise ExternalSystemError(
                SYSTEM,
                f"{action} at {self.address}",
                "no valid token",
                "set VAULT_TOKEN or keep the bootstrap file written by `homelab secrets init`",
            ) from None
        except hvac.exceptions.VaultError as exc:
            answer = "; ".join(str(e) for e in (exc.errors or [])) or type(exc).__name__
            raise ExternalSystemError(SYSTEM, f"{action} at {self.address}", answer, fix) from None

    # ------------------------------------------------------------------ seal

    def seal_status(self) -> SealStatus:
        """Whether Vault is initialised and sealed; needs no token."""
        raw = self._call("read seal status", self._client.sys.read_seal_status)
        return SealStatus(
            initialized=bool(raw.get("initialized")),
            sealed=bool(raw.get("sealed")),
            shares=int(raw.get("n", 0)),
            threshold=int(raw.get("t", 0)),
            progress=int(raw.get("progress", 0)),
            version=str(raw.get("version", "")),
        )

    def initialize(self, shares: int, threshold: int) -> InitResult:
        """Initialise a fresh Vault with Shamir `shares`/`threshold`; Vault answers only once."""
        raw = self._call(
            "initialise",
            lambda: self._client.sys.initialize(secret_shares=shares, secret_threshold=threshold),
        )
        return InitResult(tuple(raw["keys"]), str(raw["root_token"]))

    def unseal(self, keys: tuple[str, ...]) -> SealStatus:
        """Submit unseal keys until Vault reports unsealed (or the keys run out)."""
        for key in keys:
            raw = self._call("submit an unseal key", lambda k=key: self._client.sys.submit_unseal_key(k))  # type: ignore[misc]
            if not raw.get("sealed", True):
                break
        return self.seal_status()

    def wait_active(self, timeout: float = 30.0) -> None:
        """Wait until this node serves requests: a single raft node elects itself after unsealing."""
        deadline = time.monotonic() + timeout
        answer = "not active"
        while time.monotonic() < deadline:
            try:
                health = self._client.sys.read_health_status(method="GET")
            except (requests.exceptions.RequestException, hvac.exceptions.VaultError) as exc:
                answer = type(exc).__name__
            else:
                if isinstance(health, dict) and not health.get("sealed") and not health.get("standby"):
                    return
                answer = "standby or sealed"
            time.sleep(0.2)
        raise ExternalSystemError(
            SYSTEM,
            f"wait for {self.address} to become active",
            answer,
            "check the Vault server log (raft leader election)",
        )

    # ------------------------------------------------------------------ token

    def check_token(self) -> None:
        """Fail early, before any change, when the token is missing or wrong."""
        self._call("look up the token", self._client.auth.token.lookup_self)

    # ------------------------------------------------------------------ mounts

    def secret_mounts(self) -> dict[str, dict[str, Any]]:
        """Secret engines by path without the trailing slash."""
        raw = self._call("list secret engines", self._client.sys.list_mounted_secrets_engines)
        data = raw.get("data", raw)
        return {path.rstrip("/"): info for path, info in data.items() if isinstance(info, dict)}

    def enable_kv2(self, mount: str) -> None:
        """Mount a KV version 2 engine at `mount`."""
        self._call(
            f"enable KV v2 at {mount}/",
            lambda: self._client.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"}),
        )

    def auth_methods(self) -> dict[str, str]:
        """Auth methods: path without slash -> type."""
        raw = self._call("list auth methods", self._client.sys.list_auth_methods)
        data = raw.get("data", raw)
        return {path.rstrip("/"): info["type"] for path, info in data.items() if isinstance(info, dict)}

    def enable_auth(self, method: str, path: str) -> None:
        """Enable auth `method` at `path`."""
        self._call(
            f"enable {method} auth at auth/{path}/",
            lambda: self._client.sys.enable_auth_method(method, path=path),
        )

    # ------------------------------------------------------------------ kv v2

    def read_secret(self, mount: str, path: str) -> StoredSecret | None:
        """The current version of `mount/path`, or None when it does not exist (or was deleted)."""
        try:
            raw = self._call(
                f"read {mount}/{path}",
                lambda: self._client.secrets.kv.v2.read_secret_version(
                    path, mount_point=mount, raise_on_deleted_version=True
                ),
                missing_ok=True,
            )
        except _Missing:
            return None
        data = raw["data"]
        return StoredSecret(
            {str(k): str(v) for k, v in (data.get("data") or {}).items()},
            int(data["metadata"]["version"]),
        )

    def write_secret(self, mount: str, path: str, data: Mapping[str, str], cas: int | None) -> int:
        """Write a new version; with `cas`, Vault refuses unless the current version is `cas`
        (0 = must not exist), so a concurrent writer can never be silently overwritten."""
        raw = self._call(
            f"write {mount}/{path}",
            lambda: self._client.secrets.kv.v2.create_or_update_secret(
                path, secret=dict(data), cas=cas, mount_point=mount
            ),
            "another writer changed it; run the command again",
        )
        return int(raw["data"]["version"])

    def list_secrets(self, mount: str, path: str = "") -> list[str]:
        """The names directly under `mount/path` (folders end in `/`); [] when there are none."""
        try:
            raw = self._call(
                f"list {mount}/{path}",
                lambda: self._client.secrets.kv.v2.list_secrets(path, mount_point=mount),
                missing_ok=True,
            )
        except _Missing:
            return []
        return [str(k) for k in (raw.get("data") or {}).get("keys") or []]

    def read_metadata(self, mount: str, path: str) -> dict[str, Any] | None:
        """KV v2 metadata of `mount/path` (every version's times and flags), or None."""
        try:
            raw = self._call(
                f"read the metadata of {mount}/{path}",
                lambda: self._client.secrets.kv.v2.read_secret_metadata(path, mount_point=mount),
                missing_ok=True,
            )
        except _Missing:
            return None
        return dict(raw.get("data") or {})

    def read_version(self, mount: str, path: str, version: int) -> Mapping[str, Any] | None:
        """The data of one version; None when that version is deleted, destroyed or absent."""
        try:
            raw = self._call(
                f"read {mount}/{path} version {version}",
                lambda: self._client.secrets.kv.v2.read_secret_version(
                    path, version=version, mount_point=mount, raise_on_deleted_version=True
                ),
                missing_ok=True,
            )
        except _Missing:
            return None
        data = (raw.get("data") or {}).get("data")
        return dict(data) if isinstance(data, dict) else None

    # ------------------------------------------------------------------ policies and roles

    def read_policy(self, name: str) -> str | None:
        """The HCL of policy `name`, or None."""
        try:
            raw = self._call(
                f"read policy {name}", lambda: self._client.sys.read_acl_policy(name), missing_ok=True
            )
        except _Missing:
            return None
        data = raw.get("data", raw)
        return str(data.get("policy", ""))

    def write_policy(self, name: str, hcl: str) -> None:
        """Create or replace policy `name`."""
        self._call(f"write policy {name}", lambda: self._client.sys.create_or_update_acl_policy(name, hcl))

    def read(self, path: str) -> dict[str, Any] | None:
        """A generic logical read (auth roles, configs); None when absent."""
        try:
            raw = self._call(f"read {path}", lambda: self._client.read(path), missing_ok=True)
        except _Missing:
            return None
        if raw is None:
            return None
        data = raw.get("data") if isinstance(raw, dict) else None
        return dict(data) if isinstance(data, dict) else {}

    def write(self, path: str, data: Mapping[str, Any], fix: str = "") -> None:
        """A generic logical write (auth roles, configs)."""
        self._call(f"write {path}", lambda: self._client.write_data(path, data=dict(data)), fix)

    # ------------------------------------------------------------------ raft snapshots

    def raft_snapshot(self) -> bytes:
        """A snapshot of the whole raft store (every secret, version, policy, token), in memory."""

        def take() -> bytes:
            response = self._client.sys.take_raft_snapshot()
            return bytes(response.content)

        return self._call(
            "take a raft snapshot",
            take,
            "the token needs `read` on sys/storage/raft/snapshot, and Vault must use raft storage",
        )

    def raft_restore(self, snapshot: bytes, *, force: bool) -> None:
        """Replace the whole raft store with `snapshot`. `force` accepts a snapshot taken by another
        cluster (other unseal keys): Vault then answers to the snapshot's keys and tokens."""
        restore = (
            self._client.sys.force_restore_raft_snapshot if force else self._client.sys.restore_raft_snapshot
        )
        self._call(
            "restore a raft snapshot",
            lambda: restore(snapshot),
            "the token needs `update` on sys/storage/raft/snapshot(-force)",
        )
