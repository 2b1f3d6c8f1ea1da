"""ExternalSecrets read a store that exists and Vault keys that `homelab secrets seed` writes.

What lands in Vault is decided once, by the seeding plan of `homelab secrets seed` (generated
secrets plus the external ones it asks the user to write); on an empty Vault that plan covers every
secret the homelab declares, so it is the list a remote key must be on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from homelabeazy.converge.inventory import Inventory
from homelabeazy.desired.selectors import as_list, as_map, dig
from homelabeazy.desired.state import DesiredObject
from homelabeazy.model import Homelab
from homelabeazy.model.secrets_plan import plan_seed

Problem = tuple[DesiredObject, str, str]
ESO = "external-secrets.io"
_KEY_HINT = "add the key to the service's SecretSpec in its catalog module, or fix the remoteRef"


def seeded_keys(homelab: Homelab) -> dict[str, frozenset[str]]:
    """Vault path -> keys present after `homelab secrets seed` (and the external secrets it asks for)."""
    plan = plan_seed(homelab.secrets, {})
    written = [(a.path, a.keys) for a in plan.generate] + list(plan.missing_external)
    return {path: frozenset(keys) for path, keys in written}


def external_secret_problems(
    objects: Iterable[DesiredObject], have: Inventory, homelab: Homelab
) -> Iterator[Problem]:
    """Each ExternalSecret's store exists and reads our KV mount, and each remote key is seeded."""
    seeded = seeded_keys(homelab)
    for es in (o for o in objects if o.kind == "ExternalSecret" and o.group == ESO):
        ref = as_map(dig(es.doc, "spec", "secretStoreRef"))
        kind = str(ref.get("kind") or "SecretStore")
        namespace = None if kind == "ClusterSecretStore" else es.namespace
        name = str(ref.get("name", ""))
        store = have.get(kind, namespace, name)
        if store is None:
            where = name if namespace is None else f"{namespace}/{name}"
            yield es, f"{kind} {where} does not exist", "enable external_secrets (it renders the Vault store)"
            continue
        vault = as_map(dig(store.doc, "spec", "provider", "vault"))
        if not vault:
            continue  # not a Vault store: the seeding plan does not govern it
        mount = vault.get("path")
        if mount is not None and mount != homelab.vault_kv_mount:
            message = f"store {store.ident} reads KV mount {mount}, not {homelab.vault_kv_mount}"
            yield es, message, "render the store from services.vault.kv_mount"
            continue
        for key, prop in _remote_refs(es.doc):
            path = _relative(key, mount, homelab.vault_kv_mount)
            if path not in seeded:
                yield es, f"Vault path {key} is not written by `homelab secrets seed`", _KEY_HINT
            elif prop is not None and prop not in seeded[path]:
                known = ", ".join(sorted(seeded[path]))
                yield es, f"Vault path {key} has no key {prop} (seeded keys: {known})", _KEY_HINT


def _remote_refs(doc: Mapping[str, Any]) -> Iterator[tuple[str, str | None]]:
    """(key, property) of every `data[].remoteRef` and `dataFrom[].extract`."""
    spec = as_map(doc.get("spec"))
    for item in (as_map(d) for d in as_list(spec.get("data"))):
        remote = as_map(item.get("remoteRef"))
        prop = remote.get("property")
        yield str(remote.get("key", "")), str(prop) if prop is not None else None
    for item in (as_map(d) for d in as_list(spec.get("dataFrom"))):
        extract = as_map(item.get("extract"))
        if extract:
            yield str(extract.get("key", "")), None


def _relative(key: str, store_path: Any, mount: str) -> str:
    """The path inside the KV mount: keys are relative when the store names the mount."""
    key = key.strip("/")
    if store_path is not None:
        return key
    for prefix in (f"{mount}/data/", f"{mount}/"):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key
