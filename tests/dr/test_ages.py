"""Backup-age rows of `homelab status`: judged from a bucket listing, the kind's schedule and now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from homelabeazy.lifecycle.dr.ages import (
    EtcdCopies,
    _span,
    backup_probe,
    judge_backup_ages,
    judge_etcd_age,
)
from homelabeazy.ops.objectstore import ObjectStore, S3Target, StoredObject
from homelabeazy.ops.probes import Row

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SIX_HOURS = {"vault-raft": timedelta(hours=6)}
DAILY = {"ldap-ldif": timedelta(days=1)}


def _keys(kind: str, ext: str, *stamps: str, sidecar: bool = True) -> list[str]:
    keys = []
    for stamp in stamps:
        key = f"homelab-dr/{kind}/{stamp}.{ext}"
        keys += [key, key + ".sha256"] if sidecar else [key]
    return keys


def test_fresh_backup_is_ok() -> None:
    listing = _keys("vault-raft", "snap", "20261130T061500Z", "20261130T091500Z")
    [row] = judge_backup_ages(SIX_HOURS, listing, NOW, "B")
    assert (row.layer, row.name, row.health) == ("backup", "vault-raft", "ok")
    assert row.detail == "newest 2h45m old (2026-11-30 09:15 UTC), every 6h"


def test_late_backup_warns() -> None:
    listing = _keys("ldap-ldif", "ldif", "20261129T090000Z")
    [row] = judge_backup_ages(DAILY, listing, NOW, "B")
    assert row.health == "degraded"
    assert row.detail.endswith("late (allowed 26h)")


def test_just_inside_the_allowance() -> None:
    listing = _keys("ldap-ldif", "ldif", "20261129T100000Z")
    assert judge_backup_ages(DAILY, listing, NOW, "B")[0].health == "ok"


def test_unfinished_upload_does_not_count() -> None:
    listing = _keys("vault-raft", "snap", "20261129T000000Z") + _keys(
        "vault-raft", "snap", "20261130T110000Z", sidecar=False
    )
    [row] = judge_backup_ages(SIX_HOURS, listing, NOW, "B")
    assert row.health == "degraded"
    assert "2026-11-29 00:00" in row.detail


def test_no_backup_is_down_and_each_kind_has_a_row() -> None:
    rows = judge_backup_ages(
        {**SIX_HOURS, **DAILY}, _keys("vault-raft", "snap", "20261130T110000Z"), NOW, "B"
    )
    assert [(r.name, r.health) for r in rows] == [("ldap-ldif", "down"), ("vault-raft", "ok")]
    assert "homelab-dr/ldap-ldif/" in rows[0].detail


ETCD = EtcdCopies("homelab-backups", "k3s-etcd", timedelta(hours=6))


def _etcd(
    *ages_h: float, name: str = "etcd-snapshot-k3s-server-1", folder: str = "k3s-etcd"
) -> list[tuple[str, datetime]]:
    return [(f"{folder}/{name}-{1764460800 + i}", NOW - timedelta(hours=h)) for i, h in enumerate(ages_h)]


def test_fresh_etcd_snapshot_is_ok() -> None:
    row = judge_etcd_age(ETCD, _etcd(30, 1.5, 7), NOW, "B")
    assert (row.layer, row.name, row.health) == ("backup", "k3s-etcd", "ok")
    assert row.detail == "newest 1h30m old (2026-11-30 10:30 UTC), every 6h"


def test_late_etcd_snapshot_warns_and_metadata_or_on_demand_do_not_count() -> None:
    listing = (
        _etcd(13)
        + _etcd(0.5, name=".metadata/etcd-snapshot-k3s-server-1")
        + _etcd(0.5, name="on-demand-k3s-server-1")
        + _etcd(0.5, folder="k3s-etcd-old")
    )
    row = judge_etcd_age(ETCD, listing, NOW, "B")
    assert row.health == "degraded"
    assert row.detail.startswith("newest 13h old")
    assert row.detail.endswith("late (allowed 12h)")


def test_no_etcd_snapshot_is_down() -> None:
    row = judge_etcd_age(ETCD, _etcd(1, folder="elsewhere"), NOW, "B")
    assert (row.name, row.health) == ("k3s-etcd", "down")
    assert row.detail == "no etcd snapshot in B k3s-etcd/"


# --- each edge on both sides ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "allowed", "text"),
    [(timedelta(hours=6), timedelta(hours=12), "12h"), (timedelta(days=1), timedelta(hours=26), "26h")],
)
def test_exactly_at_the_allowance_is_ok_one_second_past_is_late(
    interval: timedelta, allowed: timedelta, text: str
) -> None:
    def row(age: timedelta) -> Row:
        stamp = (NOW - age).strftime("%Y%m%dT%H%M%SZ")
        [found] = judge_backup_ages({"vault-raft": interval}, _keys("vault-raft", "snap", stamp), NOW, "B")
        return found

    assert row(allowed).health == "ok"
    late = row(allowed + timedelta(seconds=1))
    assert (late.layer, late.name, late.health) == ("backup", "vault-raft", "degraded")
    assert late.detail.endswith(f": late (allowed {text})")
    copies = EtcdCopies("b", "k3s-etcd", interval)
    assert judge_etcd_age(copies, _etcd(allowed / timedelta(hours=1)), NOW, "B").health == "ok"
    etcd_late = judge_etcd_age(
        copies, [("k3s-etcd/etcd-snapshot-n-1", NOW - allowed - timedelta(seconds=1))], NOW, "B"
    )
    assert (etcd_late.layer, etcd_late.name, etcd_late.health) == ("backup", "k3s-etcd", "degraded")


def test_down_rows_are_backup_rows() -> None:
    [row] = judge_backup_ages(SIX_HOURS, [], NOW, "B")
    assert (row.layer, row.name, row.health) == ("backup", "vault-raft", "down")
    assert row.detail == "no complete backup in B homelab-dr/vault-raft/"
    etcd = judge_etcd_age(ETCD, [], NOW, "B")
    assert (etcd.layer, etcd.name, etcd.health) == ("backup", "k3s-etcd", "down")


@pytest.mark.parametrize(
    ("age", "text"),
    [
        (timedelta(seconds=-30), "0m"),  # a clock a little ahead of the bucket's
        (timedelta(seconds=59), "0m"),
        (timedelta(minutes=59, seconds=59), "59m"),
        (timedelta(hours=1), "1h"),
        (timedelta(hours=1, seconds=59), "1h"),
        (timedelta(hours=1, minutes=1), "1h01m"),
        (timedelta(hours=47, minutes=59, seconds=59), "47h59m"),
        (timedelta(days=2), "2d0h"),
        (timedelta(days=7, hours=2, minutes=59), "7d2h"),
    ],
)
def test_span_on_each_side_of_its_units(age: timedelta, text: str) -> None:
    assert _span(age) == text


# --- the probe `status` runs: one listing per bucket, from a bucket that records what it was asked --


class RecordingBucket:
    """A bucket (one or several on one endpoint) that lists like S3 and records every prefix listed."""

    def __init__(
        self, target: S3Target, objects: dict[str, list[StoredObject]], asked: list[tuple[str, str]]
    ) -> None:
        self.target = target
        self._objects = objects
        self.asked = asked

    def list(self, prefix: str = "") -> list[StoredObject]:
        self.asked.append((self.target.bucket, prefix))
        return [o for o in self._objects.get(self.target.bucket, []) if o.key.startswith(prefix)]

    def with_bucket(self, bucket: str) -> RecordingBucket:
        return RecordingBucket(S3Target(bucket, endpoint=self.target.endpoint), self._objects, self.asked)


def _objects(*keys: tuple[str, datetime]) -> list[StoredObject]:
    return [StoredObject(key, 1, modified) for key, modified in keys]


def _dr_listing() -> list[StoredObject]:
    keys = _keys("vault-raft", "snap", "20261130T091500Z") + _keys("ldap-ldif", "ldif", "20261128T120000Z")
    return _objects(*((key, NOW) for key in keys))


@pytest.mark.parametrize("etcd_bucket", ["dr", "etcd-copies"])
def test_probe_lists_each_folder_once_and_sorts_the_rows(etcd_bucket: str) -> None:
    asked: list[tuple[str, str]] = []
    objects = {
        "dr": _dr_listing(),
        etcd_bucket: [
            *(_dr_listing() if etcd_bucket == "dr" else []),
            *_objects(("k3s-etcd/etcd-snapshot-n-1", NOW - timedelta(hours=1))),
        ],
    }
    bucket = RecordingBucket(S3Target("dr", endpoint="http://s3"), objects, asked)
    copies = EtcdCopies(etcd_bucket, "k3s-etcd", timedelta(hours=6))
    probe = backup_probe(cast(ObjectStore, bucket), {**SIX_HOURS, **DAILY}, lambda: NOW, 7.5, copies)
    assert (probe.layer, probe.name, probe.timeout) == ("backup", "bucket", 7.5)
    rows = probe.check()
    assert asked == [("dr", "homelab-dr/"), (etcd_bucket, "k3s-etcd/")]
    assert [(r.name, r.health) for r in rows] == [
        ("k3s-etcd", "ok"),
        ("ldap-ldif", "degraded"),
        ("vault-raft", "ok"),
    ]
    assert rows[0].detail == "newest 1h old (2026-11-30 11:00 UTC), every 6h"
    assert rows[2].detail == "newest 2h45m old (2026-11-30 09:15 UTC), every 6h"
    missing = judge_etcd_age(copies, [], NOW, f"http://s3 bucket {etcd_bucket}")
    objects[etcd_bucket] = [o for o in objects[etcd_bucket] if not o.key.startswith("k3s-etcd/")]
    assert probe.check()[0] == missing


def test_probe_without_etcd_copies_lists_only_the_dr_folder() -> None:
    asked: list[tuple[str, str]] = []
    bucket = RecordingBucket(S3Target("dr"), {"dr": _dr_listing()}, asked)
    rows = backup_probe(cast(ObjectStore, bucket), DAILY, lambda: NOW, 5).check()
    assert asked == [("dr", "homelab-dr/")]
    assert [(r.name, r.health, r.detail.split(" (")[0]) for r in rows] == [
        ("ldap-ldif", "degraded", "newest 2d0h old")
    ]
