"""`homelab status` rows for the off-cluster backups: how old the newest one of each kind is.

One listing of `homelab-dr/` in the bucket, judged per kind by a pure function against the kind's
schedule. A backup is late when it is older than its schedule allows: the model's `allowed_age`
(model/schedules.py), which Velero's rows and the alert rules read too, against the schedule's
longest gap between runs (`cron_period`, config/cron.py).

K3s's etcd snapshots get a row too when `cluster.etcd_snapshots` copies them to S3: K3s names its own
objects (`<folder>/etcd-snapshot-<node>-<unix time>`, maybe `.zip`, plus `<folder>/.metadata/`), so
their age is the newest scheduled snapshot's LastModified: a second listing, of `<folder>/` only (never
Velero's folder), in the DR bucket or in their own bucket on the same endpoint with the same keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from homelabeazy.config.cron import cron_period
from homelabeazy.model import Homelab, dr_artifacts
from homelabeazy.model.dr_backups import ldap_exports_on, vault_snapshots_on
from homelabeazy.model.schedules import allowed_age
from homelabeazy.ops.probes import Probe, Row

if TYPE_CHECKING:
    from homelabeazy.ops.objectstore import ObjectStore

LAYER = "backup"
ETCD = "k3s-etcd"
"""Row name of K3s's etcd snapshots in S3."""
ETCD_SCHEDULED = "etcd-snapshot-"
"""How K3s names its scheduled snapshots (`etcd-snapshot-name`'s default; on-demand ones differ)."""


def backup_schedules(homelab: Homelab) -> dict[str, timedelta]:
    """The off-cluster backup kinds this homelab takes (in `homelab-dr/`) and how often."""
    found = {}
    vault = homelab.config.services.vault
    if homelab.enabled("vault") and vault_snapshots_on(homelab.config):
        found[dr_artifacts.VAULT_RAFT] = cron_period(vault.snapshots.schedule)
    exports = homelab.config.services.openldap.exports
    if homelab.enabled("openldap") and ldap_exports_on(homelab.config):
        found[dr_artifacts.LDAP_LDIF] = cron_period(exports.schedule)
    return found


@dataclass(frozen=True)
class EtcdCopies:
    """Where K3s copies its etcd snapshots in S3 and how often it takes them."""

    bucket: str
    folder: str
    interval: timedelta


def etcd_copies(homelab: Homelab) -> EtcdCopies | None:
    """The S3 copies of the etcd snapshots the model decided on (model/etcd_snapshots), or None."""
    snapshots = homelab.cluster.etcd_snapshots
    if snapshots.s3 is None:
        return None
    return EtcdCopies(snapshots.s3.bucket, snapshots.s3.folder, cron_period(snapshots.schedule))


def judge_etcd_age(
    copies: EtcdCopies, listing: Iterable[tuple[str, datetime]], now: datetime, where: str
) -> Row:
    """The etcd row from (key, LastModified) pairs: only keys `<folder>/etcd-snapshot-…` count, so
    `<folder>/.metadata/…` and on-demand snapshots do not."""
    folder = copies.folder + "/"
    taken = [modified for key, modified in listing if key.startswith(folder + ETCD_SCHEDULED)]
    if not taken:
        return Row(LAYER, ETCD, "down", f"no etcd snapshot in {where} {folder}")
    return _age_row(ETCD, max(taken), copies.interval, now)


def judge_backup_ages(
    schedules: Mapping[str, timedelta], listing: Iterable[str], now: datetime, where: str
) -> list[Row]:
    """One row per kind (sorted): ok, degraded when late, down when there is no complete backup."""
    keys = list(listing)
    rows = []
    for kind in sorted(schedules):
        interval = schedules[kind]
        newest = dr_artifacts.latest(kind, keys)
        if newest is None:
            rows.append(
                Row(LAYER, kind, "down", f"no complete backup in {where} {dr_artifacts.kind_prefix(kind)}")
            )
            continue
        rows.append(_age_row(kind, newest.taken, interval, now))
    return rows


def _age_row(name: str, taken: datetime, interval: timedelta, now: datetime) -> Row:
    age = now - taken
    limit = allowed_age(interval)
    text = f"newest {_span(age)} old ({taken:%Y-%m-%d %H:%M} UTC), every {_span(interval)}"
    if age > limit:
        return Row(LAYER, name, "degraded", f"{text}: late (allowed {_span(limit)})")
    return Row(LAYER, name, "ok", text)


def backup_probe(
    bucket: ObjectStore,
    schedules: Mapping[str, timedelta],
    now: Callable[[], datetime],
    timeout: float,
    etcd: EtcdCopies | None = None,
) -> Probe:
    """The probe `status` runs: one listing per bucket, one row per kind (a failure is one row)."""

    def check() -> list[Row]:
        listing = [o.key for o in bucket.list(dr_artifacts.ROOT + "/")]
        rows = judge_backup_ages(schedules, listing, now(), bucket.target.where)
        if etcd is not None:
            store = bucket if etcd.bucket == bucket.target.bucket else bucket.with_bucket(etcd.bucket)
            copies = [(o.key, o.modified) for o in store.list(etcd.folder + "/")]
            rows.append(judge_etcd_age(etcd, copies, now(), store.target.where))
        return sorted(rows, key=lambda r: r.name)

    return Probe(LAYER, "bucket", check, timeout)


def _span(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 2 * 86400:
        hours, rest = divmod(seconds, 3600)
        return f"{hours}h{rest // 60:02d}m" if rest >= 60 else f"{hours}h"
    return f"{seconds // 86400}d{(seconds % 86400) // 3600}h"
