"""Velero's store is left alone: no disaster-recovery or etcd key is ever under Velero's prefix.

Velero marks its BackupStorageLocation Unavailable (and stops backing up) when any top-level folder
under its prefix, or under the bucket's root when the prefix is empty, is not one of its own. So the
Vault snapshots and LDAP exports (CLI keys and both CronJobs) and K3s's etcd copies go beside
Velero's folder, and only when Velero's prefix is set; otherwise they are off or refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.errors import ConfigError, UsageError
from homelabeazy.lifecycle.dr import store
from homelabeazy.model import Homelab, build, dr_artifacts
from homelabeazy.model.dr_backups import ldap_exports_on, vault_snapshots_on
from homelabeazy.render import docs, kubernetes
from tests.conftest import CliResult

EXAMPLE_PREFIX = "      prefix: velero\n"


def _homelab(prefix: str | None) -> Homelab:
    """The example with Velero's prefix replaced (None: no prefix line at all)."""
    text = example_text()
    assert EXAMPLE_PREFIX in text
    text = text.replace(EXAMPLE_PREFIX, "" if prefix is None else f"      prefix: {prefix!r}\n", 1)
    return build(load_config(text).config)


def _upload_envs(homelab: Homelab) -> list[dict[str, str]]:
    """The plain env of every rendered container that writes to the bucket (has S3_BUCKET)."""
    found = []
    for path, text in sorted(kubernetes.render(homelab).items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.safe_load_all(text):
            if not isinstance(doc, dict) or doc.get("kind") != "CronJob":
                continue
            pod: dict[str, Any] = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            for container in [*pod.get("initContainers", []), *pod["containers"]]:
                env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
                if "S3_BUCKET" in env:
                    found.append(env)
    return found


def _top(key: str) -> str:
    return key.strip("/").split("/")[0]


def _outside(key: str, velero_prefix: str) -> None:
    """`key` (a full object key) is beside Velero's store, not in it."""
    prefix = velero_prefix.strip("/")
    assert prefix, "only a prefixed Velero store leaves room beside it"
    assert not key.startswith(prefix + "/"), f"{key} is inside Velero's store {prefix}/"
    assert _top(key) != _top(prefix), f"{key} shares Velero's top-level folder {_top(prefix)}/"


@pytest.mark.parametrize("prefix", ["velero", "backups/velero", "k3s/velero"])
def test_every_backup_key_is_beside_velero(prefix: str) -> None:
    homelab = _homelab(prefix)
    assert vault_snapshots_on(homelab.config)
    assert ldap_exports_on(homelab.config)
    target = store.target_from_config(homelab.config)
    for kind, ext in ((dr_artifacts.VAULT_RAFT, "snap"), (dr_artifacts.LDAP_LDIF, "ldif")):
        key = dr_artifacts.artifact_key(kind, datetime(2026, 11, 30, tzinfo=UTC), ext)
        _outside("/".join(p for p in (target.prefix.strip("/"), key) if p), prefix)
    envs = _upload_envs(homelab)
    assert len(envs) == 2, "the Vault snapshot and the LDAP export CronJobs"
    for env in envs:
        assert env["S3_BUCKET"] == target.bucket
        _outside(env["S3_FOLDER"] + "/x", prefix)
        assert prefix.strip("/") not in env.values(), "Velero's prefix reaches no upload script"
    etcd = homelab.cluster.etcd_snapshots.s3
    assert etcd is not None
    assert etcd.bucket == target.bucket
    _outside(f"{etcd.folder}/etcd-snapshot-k3s-server-1", prefix)


@pytest.mark.parametrize("prefix", [None, "", "homelab-dr", "homelab-dr/velero"])
def test_without_room_beside_velero_nothing_is_written(prefix: str | None) -> None:
    homelab = _homelab(prefix)
    assert not vault_snapshots_on(homelab.config)
    assert not ldap_exports_on(homelab.config)
    assert _upload_envs(homelab) == []
    if not (prefix or "").strip("/"):
        assert homelab.cluster.etcd_snapshots.s3 is None
    with pytest.raises(UsageError) as refused:
        store.require_safe_bucket(homelab.config, "the raft snapshot")
    assert "prefix: velero" in str(refused.value)
    assert "--to FILE" in str(refused.value)


@pytest.mark.parametrize("prefix", ["/", "/velero/", "velero/", "a//b"])
def test_a_prefix_with_stray_slashes_is_refused(prefix: str) -> None:
    """Velero's and the DR keys' layout is decided from the folder's names: no empty name."""
    with pytest.raises(ConfigError, match="must be a folder inside the bucket"):
        _homelab(prefix)


def test_unset_flags_follow_the_bucket_explicit_false_wins() -> None:
    text = example_text().replace(
        "    key_threshold: 3\n", "    key_threshold: 3\n    snapshots: {enabled: false}\n", 1
    )
    config = load_config(text).config
    assert config.services.vault.snapshots.enabled is False
    assert not vault_snapshots_on(config)
    assert ldap_exports_on(config)


def _unprefixed_repo(tmp_path: Path) -> Path:
    path = tmp_path / "homelab.yaml"
    path.write_text(example_text().replace(EXAMPLE_PREFIX, "", 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("secrets", "snapshot"), "the raft snapshot"),
        (("users", "export", "--ldap-url", "ldap://127.0.0.1:9"), "the LDIF export"),
    ],
)
def test_cli_refuses_to_upload_into_velero_root(
    cli: Callable[..., CliResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    what: str,
) -> None:
    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:9")  # never reached: the refusal comes first
    result = cli(*args, "-c", str(_unprefixed_repo(tmp_path)))
    assert result.code == 2, result
    message = " ".join((result.out + result.err).split())
    assert f"{what} cannot go to the backup bucket: Velero owns the root of bucket homelab-backups" in message
    assert "set services.velero.target.prefix, e.g. `prefix: velero`" in message
    assert "--to FILE" in message
    assert "Traceback" not in message


def test_the_runbook_says_why_they_are_off() -> None:
    runbook = " ".join(docs.render(_homelab(None))["docs/RUNBOOK.md"].split())
    assert "Vault's raft snapshots and the LDAP exports are **off**: Velero owns the root" in runbook
    assert "To turn them on, set services.velero.target.prefix, e.g. `prefix: velero`." in runbook
    beside = " ".join(docs.render(_homelab("velero"))["docs/RUNBOOK.md"].split())
    assert "go to the same bucket, beside Velero's folder: `homelab-dr/` at the bucket's root" in beside
