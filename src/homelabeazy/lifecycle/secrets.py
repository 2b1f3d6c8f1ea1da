"""Vault for the homelab: what must exist (pure decisions) and one executor that makes it so.

The pure half reads only the model and facts already fetched from Vault: which secrets are
missing, which keys to generate, which policies and roles to write. The executor reads facts
through `VaultAdapter`, asks the pure half, then applies. Idempotence is by construction: a
secret is only ever written with check-and-set (version 0 = must not exist yet, or the version
just read when filling missing keys), so a re-run never overwrites a value; only `rotate` asks.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.model import Homelab
from homelabeazy.model.secrets_plan import (
    APPROLE_PATH,
    AUTOMATION_ROLE,
    ESO_ROLE,
    KUBERNETES_AUTH_PATH,
    SNAPSHOT_ROLE,
    auth_roles,
    consumer_policies,
    plan_seed,
    spec_for,
)
from homelabeazy.ops import vault_bootstrap
from homelabeazy.ops.vault import StoredSecret, VaultAdapter
from homelabeazy.secret_files import ensure_outside_repo

ValueFormat = Literal["password", "gossip_key"]

# Consul's gossip encryption needs exactly 32 random bytes, base64; every other generated value
# is a password-like string.
FORMATS: Mapping[tuple[str, str], ValueFormat] = {("consul/gossip", "key"): "gossip_key"}

PASSWORD_ALPHABET = string.ascii_letters + string.digits
PASSWORD_LENGTH = 40  # ~238 bits; letters and digits survive every config format unquoted

ALLOW_HTTP_ENV = "HOMELAB_VAULT_ALLOW_HTTP"
"""Set to 1 to let unseal keys, the root token and secrets travel to Vault over plain http://."""


class CleartextVaultError(UsageError):
    """A plain-http Vault address off this machine, without the explicit opt-in (exit 2)."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_vault_url(address: str, environ: Mapping[str, str] | None = None) -> str:
    """`address` when it is a usable Vault URL whose transport the user accepted.

    Unseal keys and the root token go to this address: over http:// to another machine they
    travel in clear, so that needs HOMELAB_VAULT_ALLOW_HTTP=1 (a port-forward on loopback does not).
    """
    try:
        parts = urlsplit(address)
        _ = parts.port  # an out-of-range or non-numeric port raises here
    except ValueError as exc:
        raise UsageError(f"Vault address {address!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise UsageError(
            f"Vault address {address!r} must be http(s)://HOST[:PORT] without credentials "
            "(the token comes from VAULT_TOKEN or the bootstrap file)"
        )
    env = os.environ if environ is None else environ
    if parts.scheme == "http" and not _loopback(parts.hostname) and env.get(ALLOW_HTTP_ENV) != "1":
        raise CleartextVaultError(
            f"Vault address {address} is plain http:// to another machine: unseal keys, the root token and "
            f"every secret would travel unencrypted. Use https:// (and --ca-cert), a port-forward to "
            f"127.0.0.1, or set {ALLOW_HTTP_ENV}=1 to accept that"
        )
    return address


def cleartext_warning(address: str) -> str | None:
    """The loud warning to print when secrets go to `address` unencrypted across a network."""
    parts = urlsplit(address)
    if parts.scheme == "http" and not _loopback(parts.hostname or ""):
        return (
            f"Vault at {address} is plain http:// ({ALLOW_HTTP_ENV}=1): unseal keys, the root token and "
            "secrets travel UNENCRYPTED"
        )
    return None


def vault_address(homelab: Homelab, given: str | None = None) -> str:
    """`given` (--vault-addr / VAULT_ADDR), checked, else https://<the Vault route's host> of the model."""
    if given:
        return check_vault_url(given)
    for route in homelab.routes:
        if route.owner == "vault":
            return f"https://{route.host}"
    raise UsageError("no Vault address: pass --vault-addr or set VAULT_ADDR")


# ---------------------------------------------------------------------------- values


def value_format(path: str, key: str) -> ValueFormat:
    """The format a generated value of `path`/`key` must have."""
    return FORMATS.get((path, key), "password")


def generate_value(fmt: ValueFormat, token_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A fresh value from the OS's cryptographic randomness (`token_bytes` feeds gossip keys)."""
    if fmt == "gossip_key":
        return base64.b64encode(token_bytes(32)).decode("ascii")
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


# ---------------------------------------------------------------------------- executor


@dataclass
class Report:
    """What a command did, in words safe to print (paths and names, never values)."""

    done: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def require_unsealed(vault: VaultAdapter) -> None:
    """Fail before any change when Vault is not initialised or sealed."""
    status = vault.seal_status()
    if not status.initialized:
        raise ExternalSystemError(
            "Vault", f"use {vault.address}", "Vault is not initialised", "run `homelab secrets init`"
        )
    if status.sealed:
        raise ExternalSystemError(
            "Vault", f"use {vault.address}", "Vault is sealed", "run `homelab secrets unseal`"
        )


@dataclass(frozen=True)
class KubernetesAuth:
    """Where Vault reaches the Kubernetes API to review service-account tokens.

    Inside the cluster Vault finds the API's CA on its own pod; from outside, `ca_cert` (PEM) is needed.
    """

    host: str
    ca_cert: str | None = None


def configure(
    vault: VaultAdapter, homelab: Homelab, kubernetes: KubernetesAuth | None, report: Report
) -> None:
    """KV v2 mount, policies, Kubernetes auth and AppRole; each step a no-op when already so."""
    mount = homelab.vault_kv_mount
    mounts = vault.secret_mounts()
    if mount not in mounts:
        vault.enable_kv2(mount)
        report.done.append(f"enabled KV v2 at {mount}/")
    elif str((mounts[mount].get("options") or {}).get("version")) != "2":
        raise ExternalSystemError(
            "Vault",
            f"use the {mount}/ mount",
            f"{mount}/ is a {mounts[mount].get('type')} engine, not KV version 2",
            "move it, or set services.vault.kv_mount to another name",
        )
    else:
        report.unchanged.append(f"KV v2 at {mount}/")
    for name, hcl in consumer_policies(homelab).items():
        if vault.read_policy(name) == hcl:
            report.unchanged.append(f"policy {name}")
        else:
            vault.write_policy(name, hcl)
            report.done.append(f"wrote policy {name}")
    _configure_auth(vault, homelab, kubernetes, report)


def _configure_auth(
    vault: VaultAdapter, homelab: Homelab, kubernetes: KubernetesAuth | None, report: Report
) -> None:
    roles = auth_roles(homelab)
    enabled = vault.auth_methods()
    for method, path in (("kubernetes", KUBERNETES_AUTH_PATH), ("approle", APPROLE_PATH)):
        if path not in enabled:
            vault.enable_auth(method, path)
            report.done.append(f"enabled {method} auth at auth/{path}/")
    _write_role(vault, f"auth/{KUBERNETES_AUTH_PATH}/role/{ESO_ROLE}", roles.kubernetes_role, report)
    _write_role(vault, f"auth/{APPROLE_PATH}/role/{AUTOMATION_ROLE}", roles.approle, report)
    if roles.snapshot_role is not None:
        _write_role(vault, f"auth/{KUBERNETES_AUTH_PATH}/role/{SNAPSHOT_ROLE}", roles.snapshot_role, report)
    if kubernetes:
        wanted: dict[str, object] = {"kubernetes_host": kubernetes.host}
        if kubernetes.ca_cert:
            wanted["kubernetes_ca_cert"] = kubernetes.ca_cert
        current = vault.read(f"auth/{KUBERNETES_AUTH_PATH}/config") or {}
        if all(str(current.get(k, "")).strip() == str(v).strip() for k, v in wanted.items()):
            report.unchanged.append(f"kubernetes auth config ({kubernetes.host})")
        else:
            vault.write(
                f"auth/{KUBERNETES_AUTH_PATH}/config",
                wanted,
                fix="when Vault runs outside the cluster, pass --kubernetes-ca-cert with the API server's CA",
            )
            report.done.append(f"configured kubernetes auth for {kubernetes.host}")
    else:
        report.notes.append(
            "kubernetes auth is enabled but not configured: no --kubernetes-host given; "
            "re-run `homelab secrets seed --kubernetes-host https://<api>:6443` once the cluster is up"
        )


def _write_role(vault: VaultAdapter, path: str, wanted: Mapping[str, object], report: Report) -> None:
    current = vault.read(path)
    if current is not None and _role_matches(current, wanted):
        report.unchanged.append(path)
        return
    vault.write(path, wanted)
    report.done.append(f"wrote {path}")


def _role_matches(current: Mapping[str, object], wanted: Mapping[str, object]) -> bool:
    """Compare only what we set; Vault returns TTLs in seconds and lists sorted its own way."""
    for key, value in wanted.items():
        have = current.get(key)
        if isinstance(value, list):
            if sorted(map(str, value)) != sorted(map(str, have or [])):  # type: ignore[call-overload]
                return False
        elif isinstance(value, str) and value[-1:] in ("h", "m") and value[:-1].isdigit():
            if have != int(value[:-1]) * (3600 if value.endswith("h") else 60):
                return False
        elif have != value:
            return False
    return True


def read_all(vault: VaultAdapter, homelab: Homelab) -> dict[str, StoredSecret | None]:
    """Every secret of the model as Vault holds it now."""
    return {spec.path: vault.read_secret(homelab.vault_kv_mount, spec.path) for spec in homelab.secrets}


def seed(
    vault: VaultAdapter,
    homelab: Homelab,
    kubernetes: KubernetesAuth | None = None,
    token_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> Report:
    """Ensure mount, policies, roles, then generate every missing `random` secret (never overwrite)."""
    require_unsealed(vault)
    vault.check_token()
    report = Report()
    configure(vault, homelab, kubernetes, report)
    existing = read_all(vault, homelab)
    plan = plan_seed(homelab.secrets, existing)
    for action in plan.generate:
        stored = existing[action.path]
        data = dict(stored.data) if stored else {}
        for key in action.keys:
            data[key] = generate_value(value_format(action.path, key), token_bytes)
        vault.write_secret(homelab.vault_kv_mount, action.path, data, cas=action.cas)
        report.done.append(f"generated {action.path} ({', '.join(action.keys)})")
    report.unchanged.extend(f"secret {path}" for path in plan.complete)
    for path, keys in plan.missing_external:
        report.missing.append(
            f"{homelab.vault_kv_mount}/{path} ({', '.join(keys)}): external, write it yourself with "
            f"`vault kv put -mount={homelab.vault_kv_mount} {path} {' '.join(k + '=...' for k in keys)}`"
        )
    return report


def rotate(
    vault: VaultAdapter,
    homelab: Homelab,
    path: str,
    token_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> Report:
    """Replace every key of the one generated secret at `path` with a fresh value."""
    spec = spec_for(homelab.secrets, path)
    if spec.generate == "external":
        raise UsageError(
            f"{path} is an external secret: write its new value yourself, homelab cannot make one"
        )
    require_unsealed(vault)
    vault.check_token()
    stored = vault.read_secret(homelab.vault_kv_mount, path)
    data = dict(stored.data) if stored else {}
    for key in spec.keys:
        data[key] = generate_value(value_format(path, key), token_bytes)
    version = vault.write_secret(homelab.vault_kv_mount, path, data, cas=stored.version if stored else 0)
    report = Report()
    report.done.append(
        f"rotated {homelab.vault_kv_mount}/{path} ({', '.join(spec.keys)}) -> version {version}"
    )
    report.notes.append(f"restart or resync {spec.consumer} so it picks up the new value")
    return report


@dataclass(frozen=True)
class VaultStatus:
    """What `homelab secrets status` shows."""

    address: str
    initialized: bool
    sealed: bool
    version: str
    mount_ready: bool | None = None
    secrets: tuple[tuple[str, str], ...] = ()
    policies_missing: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        """Unsealed with the mount, every secret and every policy in place."""
        return (
            self.initialized
            and not self.sealed
            and bool(self.mount_ready)
            and all(state == "present" for _, state in self.secrets)
            and not self.policies_missing
        )


def status(vault: VaultAdapter, homelab: Homelab, with_token: bool) -> VaultStatus:
    """Seal state always; mount, secrets and policies when a token is available and Vault unsealed."""
    seal = vault.seal_status()
    base = VaultStatus(vault.address, seal.initialized, seal.sealed, seal.version)
    if not seal.initialized or seal.sealed or not with_token:
        return base
    vault.check_token()
    mount_ready = homelab.vault_kv_mount in vault.secret_mounts()
    states: list[tuple[str, str]] = []
    if mount_ready:
        plan = plan_seed(homelab.secrets, read_all(vault, homelab))
        generate = {a.path for a in plan.generate}
        external = {p for p, _ in plan.missing_external}
        states = [
            (
                s.path,
                "missing" if s.path in generate else "missing-external" if s.path in external else "present",
            )
            for s in homelab.secrets
        ]
    policies_missing = tuple(n for n in consumer_policies(homelab) if vault.read_policy(n) is None)
    return VaultStatus(vault.address, True, False, seal.version, mount_ready, tuple(states), policies_missing)


# ---------------------------------------------------------------------------- init and unseal


def initialize(
    vault: VaultAdapter,
    homelab: Homelab,
    bootstrap_path: Path,
    repo_dir: Path,
    kubernetes: KubernetesAuth | None = None,
) -> Report:
    """Initialise once (keys only into the bootstrap file), unseal, then configure.

    An already initialised Vault is never re-initialised: the command unseals it from an
    existing bootstrap file and configures it, or says what to do.
    """
    report = Report()
    seal = vault.seal_status()
    if seal.initialized:
        report.unchanged.append(f"Vault at {vault.address} is already initialised (not re-initialised)")
        if not bootstrap_path.exists():
            report.notes.append(
                f"no bootstrap file at {bootstrap_path}: unseal and configure with the keys you hold"
            )
            return report
        keys = vault_bootstrap.load(bootstrap_path)
    else:
        bootstrap_file_check(bootstrap_path, repo_dir)
        vault_bootstrap.reserve(bootstrap_path)
        try:
            result = vault.initialize(homelab.config.services.vault.key_shares, _threshold(homelab))
        except BaseException:
            vault_bootstrap.release(bootstrap_path)
            raise
        keys = vault_bootstrap.VaultBootstrap(
            vault.address,
            homelab.config.services.vault.key_shares,
            _threshold(homelab),
            result.unseal_keys,
            result.root_token,
        )
        vault_bootstrap.store(bootstrap_path, keys)
        report.done.append(
            f"initialised Vault ({keys.shares} key shares, threshold {keys.threshold}); unseal keys and "
            f"root token saved ONLY in {bootstrap_path} (mode 0600) — back it up offline, it is not "
            "shown again"
        )
    unseal_with(vault, keys, report)
    vault.set_token(keys.root_token)
    configure(vault, homelab, kubernetes, report)
    return report


def _threshold(homelab: Homelab) -> int:
    cfg = homelab.config.services.vault
    if cfg.key_threshold > cfg.key_shares:
        raise UsageError(
            f"services.vault.key_threshold ({cfg.key_threshold}) is larger than key_shares ({cfg.key_shares})"
        )
    return cfg.key_threshold


def bootstrap_file_check(path: Path, repo_dir: Path) -> None:
    """The bootstrap path must be outside the repo and not exist yet (checked before init)."""
    ensure_outside_repo(path, repo_dir, vault_bootstrap.WHAT)
    if path.exists():
        raise UsageError(
            f"{path} already exists but Vault at this address is not initialised: it may hold the keys "
            "of another Vault; move it away or pass --bootstrap-file"
        )


def unseal_with(vault: VaultAdapter, keys: vault_bootstrap.VaultBootstrap, report: Report) -> None:
    """Unseal with the stored keys (a no-op when already unsealed) and wait until active."""
    unseal_member(vault, keys, report, "Vault")
    vault.wait_active()


def unseal_member(
    vault: VaultAdapter, keys: vault_bootstrap.VaultBootstrap, report: Report, name: str
) -> None:
    """Unseal one Vault server with the stored keys; a no-op when it is unsealed already.

    No wait for it to become active: in an HA cluster a restarted member rejoins as a standby, and
    a standby is what `homelab upgrade k3s` waits for (its readiness probe passes once unsealed).
    """
    action = f"unseal {vault.address}" if name == "Vault" else f"unseal {name}"
    seal = vault.seal_status()
    if not seal.initialized:
        raise ExternalSystemError("Vault", action, "Vault is not initialised", "run `homelab secrets init`")
    if not seal.sealed:
        report.unchanged.append(f"{name} is unsealed")
        return
    after = vault.unseal(keys.unseal_keys)
    if after.sealed:
        raise ExternalSystemError(
            "Vault",
            action,
            f"still sealed after {len(keys.unseal_keys)} keys (progress {after.progress}/{after.threshold})",
            "the bootstrap file does not belong to this Vault; pass the right --bootstrap-file",
        )
    report.done.append(f"unsealed {name}")


def unseal(vault: VaultAdapter, bootstrap_path: Path) -> Report:
    """Unseal from the bootstrap file (after a restart)."""
    keys = vault_bootstrap.load(bootstrap_path)
    report = Report()
    unseal_with(vault, keys, report)
    return report
