"""Shared steps of the Vault disaster-recovery tests: a homelab.yaml pointing at the test's S3 server,
an age key pair, a data set with several versions per secret, and a full read-back to compare."""

from __future__ import annotations

from pathlib import Path

import hvac
import pyrage

from homelabeazy.config.starter import example_text
from tests.support.s3 import S3Server

MOUNT = "homelab"


def write_config(repo: Path, s3: S3Server, recipient: str) -> str:
    """The example, with its backup target on the test's S3 server and one age recipient."""
    text = example_text()
    old_url = "s3_url: https://minio.home.example.com"
    old_vault = "    key_threshold: 3\n"
    assert old_url in text
    assert old_vault in text
    text = text.replace(old_url, f"s3_url: {s3.endpoint}")
    text = text.replace(old_vault, f"{old_vault}    age_recipients: [{recipient}]\n", 1)
    path = repo / "homelab.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def age_pair(folder: Path, name: str = "key.txt") -> tuple[str, Path]:
    """A fresh age identity written like age-keygen does, and its public key."""
    identity = pyrage.x25519.Identity.generate()
    keyfile = folder / name
    keyfile.write_text(f"# created by the test\n# public key: {identity.to_public()}\n{identity}\n")
    keyfile.chmod(0o600)
    return str(identity.to_public()), keyfile


def fill(client: hvac.Client, count: int, versions: int = 3) -> None:
    """`count` secrets; every third one gets `versions` versions, one of them soft-deleted."""
    kv = client.secrets.kv.v2
    for i in range(count):
        path = f"apps/app{i:04d}/config"
        rounds = versions if i % 3 == 0 else 1
        for v in range(rounds):
            kv.create_or_update_secret(path, {"password": f"pw-{i}-{v}", "user": f"u{i}"}, mount_point=MOUNT)
        if rounds > 1:
            kv.delete_secret_versions(path, [1], mount_point=MOUNT)


def read_everything(client: hvac.Client) -> dict[str, dict[int, object]]:
    """Every secret path under the mount and every version: data (or its deletion time)."""
    kv = client.secrets.kv.v2
    found: dict[str, dict[int, object]] = {}

    def walk(prefix: str) -> None:
        listed = kv.list_secrets(prefix, mount_point=MOUNT)["data"]["keys"]
        for key in listed:
            if key.endswith("/"):
                walk(prefix + key)
                continue
            path = prefix + key
            meta = kv.read_secret_metadata(path, mount_point=MOUNT)["data"]
            found[path] = {}
            for number, info in meta["versions"].items():
                if info["deletion_time"]:
                    found[path][int(number)] = ("deleted", info["deletion_time"])
                else:
                    raw = kv.read_secret_version(
                        path, version=int(number), mount_point=MOUNT, raise_on_deleted_version=True
                    )
                    found[path][int(number)] = raw["data"]["data"]

    walk("")
    return found
