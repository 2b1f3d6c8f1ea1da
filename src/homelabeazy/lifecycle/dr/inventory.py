"""Read a Vault's KV v2 secrets and a directory's entries into what `compare` compares.

Reading goes through the adapters (ops/vault.py, ops/ldap.py); every secret value is replaced by its
keyed digest the moment it is read, so inventories never hold a value. Vault reads run on a few
threads: a homelab's thousand secrets with their versions are a few thousand small HTTP requests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from homelabeazy.lifecycle.dr.compare import (
    METADATA_FIELDS,
    Directory,
    SecretRecord,
    SecretVersion,
    directory,
    value_digest,
)
from homelabeazy.ops.ldap import LdapAdapter
from homelabeazy.ops.vault import VaultAdapter

T = TypeVar("T")
R = TypeVar("R")
READERS = 8
"""Concurrent requests per Vault: enough to hide loopback/LAN latency, few enough for any Vault."""


def kv2_mounts(vault: VaultAdapter) -> list[str]:
    """Every KV version 2 mount (the homelab's and any the user added), sorted."""
    found = []
    for path, info in vault.secret_mounts().items():
        options = info.get("options") or {}
        if info.get("type") == "kv" and str(options.get("version")) == "2":
            found.append(path)
    return sorted(found)


def secret_paths(vault: VaultAdapter, mount: str) -> list[str]:
    """Every secret path under `mount`, walking folders breadth-first, sorted."""
    found: list[str] = []
    folders = [""]
    while folders:
        listings = _map(lambda f: (f, vault.list_secrets(mount, f)), folders)
        folders = []
        for folder, names in listings:
            for name in names:
                (folders if name.endswith("/") else found).append(folder + name)
    return sorted(found)


def vault_inventory(
    vault: VaultAdapter, key: bytes, mounts: Iterable[str] | None = None
) -> dict[str, SecretRecord]:
    """`mount/path` -> record for every secret of every KV v2 mount (or of `mounts`)."""
    chosen = list(mounts) if mounts is not None else kv2_mounts(vault)
    targets = [(m, p) for m in chosen for p in secret_paths(vault, m)]
    records = _map(lambda t: _record(vault, t[0], t[1], key), targets)
    return {f"{m}/{p}": r for (m, p), r in zip(targets, records, strict=True) if r is not None}


def _map(func: Callable[[T], R], items: list[T]) -> list[R]:
    """`func` over `items` on READERS threads, in order; on Ctrl-C or an error the reads not yet
    started are cancelled, so the drill can stop its scratch servers without waiting for them."""
    pool = ThreadPoolExecutor(READERS)
    try:
        return list(pool.map(func, items))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _record(vault: VaultAdapter, mount: str, path: str, key: bytes) -> SecretRecord | None:
    meta = vault.read_metadata(mount, path)
    if meta is None:
        return None
    versions: dict[int, SecretVersion] = {}
    for number, info in sorted((meta.get("versions") or {}).items(), key=lambda kv: int(kv[0])):
        deleted = str(info.get("deletion_time") or "")
        destroyed = bool(info.get("destroyed"))
        data: Mapping[str, Any] | None = None
        if not deleted and not destroyed:
            data = vault.read_version(mount, path, int(number))
        versions[int(number)] = SecretVersion(
            created_time=str(info.get("created_time") or ""),
            deletion_time=deleted,
            destroyed=destroyed,
            data={str(k): value_digest(key, v) for k, v in (data or {}).items()},
        )
    return SecretRecord(_metadata(meta, key), versions)


def _metadata(meta: Mapping[str, Any], key: bytes) -> dict[str, str]:
    found = {}
    for name in METADATA_FIELDS:
        value = meta.get(name)
        if name == "custom_metadata":
            found[name] = value_digest(key, value or {})
        else:
            found[name] = value if isinstance(value, str) else json.dumps(value)
    return found


def directory_snapshot(ldap: LdapAdapter, base_dn: str, key: bytes) -> Directory:
    """Every entry under `base_dn` with its user attributes (password hashes digested)."""
    entries = ldap.search(base_dn, "(objectClass=*)")
    return directory(((e.dn, e.attributes) for e in entries), key)
