"""`homelab status` backup-age rows against a real S3 endpoint (moto's server on loopback)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.lifecycle.dr import store
from homelabeazy.lifecycle.dr.ages import EtcdCopies, etcd_copies
from homelabeazy.lifecycle.status import StatusClients, StatusTargets, backup_schedules, build_probes
from homelabeazy.lifecycle.wiring import backup_bucket
from homelabeazy.model import Homelab, build, dr_artifacts
from homelabeazy.ops.objectstore import ObjectStore, S3Credentials, S3Target
from homelabeazy.ops.probes import Row, run_probes
from tests.support.s3 import S3Server

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _bucket(server: S3Server) -> ObjectStore:
    return ObjectStore(
        S3Target(server.bucket, server.region, server.endpoint),
        S3Credentials(server.access_key_id, server.secret_access_key),
        timeout=30,  # a hang guard: these reads succeed (an unreachable store has its own test)
    )


def _rows(homelab: Homelab, bucket: ObjectStore, now: datetime = NOW) -> list[Row]:
    clients = StatusClients(backups=bucket, now=lambda: now)
    probes = [p for p in build_probes(homelab, StatusTargets(timeout=5), clients) if p.layer == "backup"]
    return run_probes(probes)


def test_schedules_of_the_example(example_homelab: Homelab) -> None:
    assert backup_schedules(example_homelab) == {
        dr_artifacts.VAULT_RAFT: timedelta(hours=6),
        dr_artifacts.LDAP_LDIF: timedelta(hours=6),
    }
    assert etcd_copies(example_homelab) == EtcdCopies("homelab-backups", "k3s-etcd", timedelta(hours=6))


def _with_etcd(line: str) -> Homelab:
    text = example_text().replace("  node_overrides: {}\n", f"  node_overrides: {{}}\n  {line}\n", 1)
    assert line in text
    return build(load_config(text).config)


def test_etcd_copies_follow_the_snapshot_plan() -> None:
    assert etcd_copies(_with_etcd("etcd_snapshots: {s3: false}")) is None
    own = _with_etcd("etcd_snapshots: {bucket: etcd-copies, folder: etcd, schedule: '0 3 * * *'}")
    assert etcd_copies(own) == EtcdCopies("etcd-copies", "etcd", timedelta(days=1))


def test_disabled_schedules_have_no_row() -> None:
    text = example_text().replace(
        "    key_threshold: 3\n", "    key_threshold: 3\n    snapshots: {enabled: false}\n", 1
    )
    assert "snapshots: {enabled: false}" in text
    homelab = build(load_config(text).config)
    assert backup_schedules(homelab) == {dr_artifacts.LDAP_LDIF: timedelta(hours=6)}


def test_exports_switched_off_have_no_row_while_the_directory_runs() -> None:
    text = example_text().replace(
        "    organisation: Example Homelab\n",
        "    organisation: Example Homelab\n    exports: {enabled: false, schedule: '0 1 * * *'}\n",
        1,
    )
    assert "exports: {enabled: false" in text
    homelab = build(load_config(text).config)
    assert homelab.enabled("openldap")
    assert backup_schedules(homelab) == {dr_artifacts.VAULT_RAFT: timedelta(hours=6)}


@pytest.mark.integration
def test_rows_from_the_bucket(example_homelab: Homelab, s3_server: S3Server) -> None:
    bucket = _bucket(s3_server)
    store.upload(bucket, dr_artifacts.VAULT_RAFT, "snap", b"new", NOW - timedelta(hours=2))
    store.upload(bucket, dr_artifacts.VAULT_RAFT, "snap", b"old", NOW - timedelta(hours=30))
    store.upload(bucket, dr_artifacts.LDAP_LDIF, "ldif", b"old", NOW - timedelta(hours=13))
    rows = _rows(example_homelab, bucket)
    assert [(r.name, r.health) for r in rows] == [
        ("k3s-etcd", "down"),
        ("ldap-ldif", "degraded"),
        ("vault-raft", "ok"),
    ]
    assert rows[2].detail.startswith("newest 2h old")


@pytest.mark.integration
def test_empty_bucket_is_down_per_kind(example_homelab: Homelab, s3_server: S3Server) -> None:
    rows = _rows(example_homelab, _bucket(s3_server))
    assert {r.health for r in rows} == {"down"}
    assert [r.name for r in rows] == ["k3s-etcd", "ldap-ldif", "vault-raft"]


def _put_etcd(server: S3Server, bucket: str, folder: str) -> None:
    client: Any = server.client()
    for key in ("etcd-snapshot-k3s-server-1-1764460800", ".metadata/etcd-snapshot-k3s-server-1-1764460800"):
        client.put_object(Bucket=bucket, Key=f"{folder}/{key}", Body=b"etcd")


def _etcd_row(homelab: Homelab, bucket: ObjectStore, later: timedelta) -> Row:
    rows = _rows(homelab, bucket, datetime.now(UTC) + later)
    [row] = [r for r in rows if r.name == "k3s-etcd"]
    return row


@pytest.mark.integration
def test_etcd_row_from_the_dr_bucket(example_homelab: Homelab, s3_server: S3Server) -> None:
    bucket = _bucket(s3_server)
    _put_etcd(s3_server, s3_server.bucket, "k3s-etcd")
    row = _etcd_row(example_homelab, bucket, timedelta(hours=1))
    assert row.health == "ok"
    assert row.detail.startswith("newest 1h")
    assert row.detail.endswith("every 6h")
    assert _etcd_row(example_homelab, bucket, timedelta(hours=13)).health == "degraded"


@pytest.mark.integration
def test_etcd_row_from_its_own_bucket(s3_server: S3Server) -> None:
    homelab = _with_etcd("etcd_snapshots: {bucket: etcd-copies, folder: etcd}")
    client: Any = s3_server.client()
    client.create_bucket(Bucket="etcd-copies")
    bucket = _bucket(s3_server)
    _put_etcd(s3_server, s3_server.bucket, "etcd")  # in the DR bucket: not where K3s puts them
    row = _etcd_row(homelab, bucket, timedelta(hours=1))
    assert row.health == "down"
    assert row.detail == f"no etcd snapshot in {s3_server.endpoint} bucket etcd-copies etcd/"
    _put_etcd(s3_server, "etcd-copies", "etcd")
    assert _etcd_row(homelab, bucket, timedelta(hours=1)).health == "ok"


def test_unreachable_bucket_is_one_row(example_homelab: Homelab) -> None:
    bucket = ObjectStore(S3Target("b", endpoint="http://127.0.0.1:9"), S3Credentials("a", "b"), timeout=1)
    [row] = _rows(example_homelab, bucket)
    assert (row.layer, row.name, row.health) == ("backup", "bucket", "down")
    assert "S3" in row.detail


def test_no_keys_is_a_skipped_row(example_homelab: Homelab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    bucket, row = backup_bucket(example_homelab, 3)
    assert bucket is None
    assert row is not None
    assert row.health == "skipped"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "b")
    bucket, row = backup_bucket(example_homelab, 3)
    assert row is None
    assert bucket is not None
    assert bucket.target.bucket == "homelab-backups"
