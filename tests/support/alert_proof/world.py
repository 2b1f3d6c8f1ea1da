"""A healthy homelab as Prometheus would see it, built from the model and the rendered objects.

Every target the homelab scrapes answers (node-exporter and the kubelet's volumes on every node,
etcd and kube-vip on every server, the API through the VIP, every Vault member), every Velero
Schedule succeeds at the real times its cron runs (so the newest backup's age rises to the
schedule's longest gap and falls back), every Certificate is renewed at two thirds of its life,
every Application is Synced and Healthy, every ExternalSecret Ready. A service's own metrics are in
it only where the rendered tree scrapes that service (a ServiceMonitor in its namespace). Some
things that look alarming but are not are in it on purpose: a full tmpfs, an Application
OutOfSync for the 20 minutes of a sync, a backup's age just short of its schedule's longest gap.

Series are sampled every `step` minutes from promtool's time 0 (1970-01-01 00:00 UTC, a Thursday),
so schedules run on their real weekdays. A fault (faults.py) changes the world from a minute on;
it may change or remove the series the world has, or add one of a metric the world already has,
never a metric the healthy world lacks: an alert whose fault fires is therefore one whose metrics
a healthy homelab really has, and its silence in the healthy world means something.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from homelabeazy.config.cron import CronSpec, cron_period, parse_cron
from homelabeazy.model import Homelab
from homelabeazy.model.catalog.monitoring import (
    API_PORT,
    ETCD_METRICS_PORT,
    KUBE_VIP_METRICS_PORT,
    NODE_EXPORTER_PORT,
)
from homelabeazy.render.k8s.services.monitoring_rules import (
    API_VIP_JOB,
    ETCD_JOB,
    KUBE_VIP_JOB,
    VELERO_METRIC,
)
from homelabeazy.render.k8s.services.velero import LOCATION

Value = float | None
"""One sample; None is no sample (promtool's `_`)."""
EPOCH = date(1970, 1, 1)
DAY = 24 * 60
BACKUP_MINUTES = 20
"""How long a scheduled backup takes before its success is recorded (shorter for frequent ones)."""
GIB = 1024**3


def series_key(metric: str, labels: Mapping[str, str]) -> str:
    """A series as promtool's `input_series` writes it, labels sorted (one spelling per series)."""
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{metric}{{{inner}}}"


@dataclass
class Sample:
    """One series: its metric, labels and a value at each step."""

    metric: str
    labels: dict[str, str]
    values: list[Value]


@dataclass
class World:
    """The series of one homelab over `length` minutes, sampled every `step` minutes."""

    length: int
    step: int
    series: dict[str, Sample] = field(default_factory=dict)

    @property
    def points(self) -> int:
        """Samples per series (time 0 included)."""
        return self.length // self.step + 1

    def minute(self, index: int) -> int:
        """The minute of sample `index`."""
        return index * self.step

    def add(self, metric: str, labels: Mapping[str, str], value: Callable[[int], Value]) -> str:
        """A series whose value at each minute is `value(minute)`; its key."""
        key = series_key(metric, labels)
        values = [value(self.minute(i)) for i in range(self.points)]
        self.series[key] = Sample(metric, dict(labels), values)
        return key

    def constant(self, metric: str, labels: Mapping[str, str], value: float) -> str:
        """A series holding one value throughout."""
        return self.add(metric, labels, lambda _minute: value)

    def metrics(self) -> set[str]:
        """The metric names the world has."""
        return {s.metric for s in self.series.values()}

    def find(self, metric: str, **labels: str) -> list[str]:
        """Keys of the series of `metric` carrying every label given."""
        return [
            key
            for key, s in self.series.items()
            if s.metric == metric and all(s.labels.get(k) == v for k, v in labels.items())
        ]

    def one(self, metric: str, **labels: str) -> Sample:
        """The first series of `metric` with those labels (a fault picks its victim so)."""
        keys = self.find(metric, **labels)
        assert keys, f"the healthy world has no {series_key(metric, labels)}: a fault cannot break it"
        return self.series[keys[0]]

    def change(self, sample: Sample, start: int, value: Callable[[int, Value], Value]) -> None:
        """From minute `start` on, the sample's value becomes `value(minute, old value)`."""
        for i in range(self.points):
            if self.minute(i) >= start:
                sample.values[i] = value(self.minute(i), sample.values[i])

    def set_from(self, sample: Sample, start: int, value: Value) -> None:
        """From minute `start` on, the sample holds `value` (None: the series disappears)."""
        self.change(sample, start, lambda _m, _old: value)

    def freeze(self, sample: Sample, start: int) -> None:
        """From minute `start` on, the sample keeps the value it had then (a timestamp that
        stops moving)."""
        index = next(i for i in range(self.points) if self.minute(i) >= start)
        held = sample.values[index]
        self.set_from(sample, start, held)

    def add_like(self, metric: str, labels: Mapping[str, str], start: int, value: Value) -> Sample:
        """A new series of a metric the world already has, present from minute `start` on."""
        assert metric in self.metrics(), f"{metric}: a fault may not invent a metric the healthy world lacks"
        key = self.add(metric, labels, lambda m: value if m >= start else None)
        return self.series[key]


@dataclass(frozen=True)
class Scheduled:
    """A Velero Schedule as rendered: its name and cron."""

    name: str
    cron: str


def schedules_of(objects: Iterable[Mapping[str, Any]]) -> list[Scheduled]:
    """The rendered Velero Schedules."""
    return [
        Scheduled(str(o["metadata"]["name"]), str(o["spec"]["schedule"]))
        for o in objects
        if o.get("kind") == "Schedule" and str(o.get("apiVersion", "")).startswith("velero.io/")
    ]


def run_minutes(spec: CronSpec, first_day: int, last_day: int) -> list[int]:
    """Minutes since promtool's time 0 at which the schedule runs, for days first_day..last_day
    (negative days are before time 0)."""
    times = spec.times_of_day()
    return [
        day * DAY + t
        for day in range(first_day, last_day + 1)
        if spec.runs_on(EPOCH + timedelta(days=day))
        for t in times
    ]


def last_success(cron: str, length: int) -> Callable[[int], Value]:
    """The newest successful backup's Unix time at each minute, for a schedule that always succeeds:
    runs at the times the cron really fires (from before time 0, so the window opens mid-cycle)."""
    spec = parse_cron(cron)
    back = cron_period(cron) // timedelta(days=1) + 2
    runs = run_minutes(spec, -back, length // DAY + back)
    took = min(BACKUP_MINUTES, min(b - a for a, b in pairwise(runs)) // 4 or 1)
    done = [r + took for r in runs]

    def value(minute: int) -> Value:
        return float(done[bisect_right(done, minute) - 1] * 60)

    return value


def _renewed(index: int) -> Callable[[int], Value]:
    """A 90-day certificate renewed at 60 days (cert-manager's two thirds), each at its own phase."""
    life, renew = 90 * DAY, 60 * DAY
    phase = (index * 7 * DAY) % renew

    def value(minute: int) -> Value:
        issued = ((minute + phase) // renew) * renew - phase
        return float((issued + life) * 60)

    return value


def _syncing_daily(minute: int, synced: bool) -> Value:
    """An Application that is OutOfSync 03:00-03:20 every day (auto-sync catching up)."""
    syncing = 3 * 60 <= minute % DAY < 3 * 60 + 20
    return 1.0 if syncing != synced else None


def build_world(homelab: Homelab, objects: list[dict[str, Any]], length: int, step: int = 1) -> World:
    """The healthy world of `homelab` for `length` minutes."""
    world = World(length, step)
    scraped = {str(o["metadata"].get("namespace")) for o in objects if o.get("kind") == "ServiceMonitor"}
    _nodes(world, homelab)
    _cluster(world, homelab)
    if "vault" in scraped:
        _vault(world, homelab)
    if "velero" in scraped:
        for schedule in schedules_of(objects):
            labels = {"job": "velero", "schedule": schedule.name}
            world.add(VELERO_METRIC, labels, last_success(schedule.cron, length))
        location = {"job": "velero", "backup_location_name": LOCATION}
        world.constant("velero_backup_location_status_gauge", location, 1)
    _objects(world, [o for o in objects if _scraped_by(o) in scraped])
    return world


_SCRAPER = {"Application": "argocd", "Certificate": "cert-manager", "ExternalSecret": "external-secrets"}
"""Whose metrics describe each kind: ArgoCD's controller, cert-manager's, External Secrets'."""


def _scraped_by(o: Mapping[str, Any]) -> str:
    return _SCRAPER.get(str(o.get("kind")), "")


def _nodes(world: World, homelab: Homelab) -> None:
    for node in homelab.nodes:
        target = {"job": "node-exporter", "instance": f"{node.ip}:{NODE_EXPORTER_PORT}"}
        world.constant("up", target, 1)
        for mountpoint, fstype, used in (("/", "ext4", 0.5), ("/run", "tmpfs", 0.99)):
            labels = {**target, "mountpoint": mountpoint, "fstype": fstype, "device": fstype}
            world.constant("node_filesystem_size_bytes", labels, 32 * GIB)
            world.constant("node_filesystem_avail_bytes", labels, 32 * GIB * (1 - used))


def _cluster(world: World, homelab: Homelab) -> None:
    for server in homelab.servers:
        world.constant("up", {"job": ETCD_JOB, "instance": f"{server.ip}:{ETCD_METRICS_PORT}"}, 1)
        world.constant("up", {"job": KUBE_VIP_JOB, "instance": f"{server.ip}:{KUBE_VIP_METRICS_PORT}"}, 1)
    world.constant("up", {"job": API_VIP_JOB, "instance": f"{homelab.cluster.vip}:{API_PORT}"}, 1)


def _vault(world: World, homelab: Homelab) -> None:
    for i in range(homelab.config.services.vault.replicas):
        pod = {"job": "vault-internal", "namespace": "vault", "pod": f"vault-{i}"}
        target = {**pod, "instance": f"10.42.{i}.10:8200"}
        world.constant("up", target, 1)
        world.constant("vault_core_unsealed", target, 1)
        claim = {"namespace": "vault", "persistentvolumeclaim": f"data-vault-{i}"}
        world.constant("kubelet_volume_stats_capacity_bytes", claim, 10 * GIB)
        world.constant("kubelet_volume_stats_used_bytes", claim, 2 * GIB)


def _objects(world: World, objects: list[dict[str, Any]]) -> None:
    """Series for what the rendered objects declare: Applications, Certificates, ExternalSecrets."""
    certificates = 0
    first_app = True
    for o in objects:
        kind, name = o.get("kind"), str(o.get("metadata", {}).get("name", ""))
        namespace = str(o.get("metadata", {}).get("namespace", ""))
        if kind == "Application":
            app = {"name": name, "namespace": namespace, "project": "default"}
            if first_app:
                for synced in (True, False):
                    labels = {
                        **app,
                        "health_status": "Healthy",
                        "sync_status": "Synced" if synced else "OutOfSync",
                    }
                    world.add("argocd_app_info", labels, lambda m, s=synced: _syncing_daily(m, s))
                first_app = False
            else:
                world.constant(
                    "argocd_app_info", {**app, "health_status": "Healthy", "sync_status": "Synced"}, 1
                )
        elif kind == "Certificate":
            world.add(
                "certmanager_certificate_expiration_timestamp_seconds",
                {"name": name, "namespace": namespace},
                _renewed(certificates),
            )
            certificates += 1
        elif kind == "ExternalSecret":
            for status, value in (("True", 1), ("False", 0), ("Unknown", 0)):
                labels = {"name": name, "namespace": namespace, "condition": "Ready", "status": status}
                world.constant("externalsecret_status_condition", labels, value)
