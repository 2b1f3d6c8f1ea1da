"""Backup-age rows of `homelab status`: judged from a bucket listing, the kind's schedule and now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from homelabeazy.lifecycle.dr.ages import EtcdCopies, judge_backup_ages, judge_etcd_age

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
