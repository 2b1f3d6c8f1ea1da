"""Reading a real OpenBao's KV v2 secrets into an inventory: folders, versions, deleted and
destroyed versions, metadata; values only ever as keyed digests."""

from __future__ import annotations

import time

import hvac
import hvac.exceptions
import pytest

from homelabeazy.lifecycle.dr.compare import compare_vault
from homelabeazy.lifecycle.dr.inventory import kv2_mounts, vault_inventory
from homelabeazy.ops.vault import VaultAdapter
from tests.secrets.servers import BaoServer

pytestmark = pytest.mark.integration
KEY = b"k" * 32


def _ready(bao: BaoServer) -> tuple[VaultAdapter, hvac.Client]:
    vault = VaultAdapter(bao.address)
    init = vault.initialize(1, 1)
    vault.unseal(init.unseal_keys)
    vault.wait_active()
    vault.set_token(init.root_token)
    client = hvac.Client(bao.address, token=init.root_token)
    for mount in ("homelab", "other"):
        client.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"})
    client.sys.enable_secrets_engine("kv", path="v1", options={"version": "1"})
    return vault, client


def _put(client: hvac.Client, path: str, data: dict[str, str], mount: str = "homelab") -> None:
    for _ in range(100):
        try:
            client.secrets.kv.v2.create_or_update_secret(path, data, mount_point=mount)
            return
        except hvac.exceptions.InvalidRequest:
            time.sleep(0.1)  # a new mount answers "upgrading" for a moment
    raise AssertionError("mount never became writable")


def test_inventory_of_a_real_vault(bao: BaoServer) -> None:
    vault, client = _ready(bao)
    kv = client.secrets.kv.v2
    _put(client, "a/b/c", {"password": "one"})
    _put(client, "a/b/c", {"password": "two"})
    _put(client, "a/b/c", {"password": "three", "user": "x"})
    kv.delete_secret_versions("a/b/c", [1], mount_point="homelab")
    kv.destroy_secret_versions("a/b/c", [2], mount_point="homelab")
    _put(client, "top", {"k": "v"})
    _put(client, "elsewhere", {"k": "v"}, mount="other")
    client.secrets.kv.v1.create_or_update_secret("ignored", {"k": "v"}, mount_point="v1")

    assert kv2_mounts(vault) == ["homelab", "other"]
    first = vault_inventory(vault, KEY)
    assert sorted(first) == ["homelab/a/b/c", "homelab/top", "other/elsewhere"]
    versions = first["homelab/a/b/c"].versions
    assert sorted(versions) == [1, 2, 3]
    assert versions[1].deletion_time
    assert versions[1].data == {}
    assert versions[2].destroyed
    assert sorted(versions[3].data) == ["password", "user"]
    assert "three" not in repr(first)
    assert compare_vault(first, vault_inventory(vault, KEY)) == []

    kv.update_metadata("top", custom_metadata={"owner": "me"}, mount_point="homelab")
    _put(client, "a/b/c", {"password": "four"})
    found = compare_vault(vault_inventory(vault, KEY), first)
    assert [(d.kind, d.subject, d.detail) for d in found] == [
        ("changed", "homelab/a/b/c", "metadata: updated_time, current_version"),
        ("missing", "homelab/a/b/c@v4", "version not in the backup"),
        ("changed", "homelab/top", "metadata: updated_time, custom_metadata"),
    ]
