"""Each alert's own fault: what breaks in the healthy world, and exactly which alerts that must raise.

One entry per alert name in `FAULTS`. An alert the rules render without an entry here fails the
proof (`missing_faults`), so a new alert cannot ship without showing that it fires on its fault and
stays silent when healthy. A fault starts at `START` (unless it says otherwise) and must have
raised its alerts `within` minutes later; meanwhile no other alert of the homelab may fire.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.model.schedules import late_after
from homelabeazy.render.k8s.services.monitoring_rules import API_VIP_JOB, ETCD_JOB, VELERO_METRIC
from tests.support.alert_proof.world import DAY, GIB, World, last_success, schedules_of

START = 60
"""The minute every fault begins: an hour of health first."""
MARGIN = 5
"""Minutes past an alert's `for` (and its rule's evaluation) before it must be firing."""


@dataclass(frozen=True)
class Firing:
    """An alert the fault must raise: its labels besides alertname and severity, and what
    `{{ $value }}` prints where its summary uses it."""

    alert: str
    labels: dict[str, str]
    value: str = ""


@dataclass(frozen=True)
class Scene:
    """What the proof reads: the model, the rendered objects and the rendered rule file."""

    homelab: Homelab
    objects: list[dict[str, Any]]
    rules: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fault:
    """One fault: its name, how long after `START` its alerts must fire, and what it breaks
    (a function changing the world and returning the alerts that must fire)."""

    name: str
    within: int
    breaks: Callable[[World], list[Firing]]
    start: int = START
    """The minute the fault begins (`breaks` changes the world from then on)."""


def _target_down(alert: str, metric: str, within: int, **pick: str) -> Fault:
    def breaks(world: World) -> list[Firing]:
        victim = world.one(metric, **pick)
        world.set_from(victim, START, 0)
        return [Firing(alert, victim.labels)]

    return Fault(f"{metric}{pick} at 0", within, breaks)


def node_down(scene: Scene) -> list[Fault]:
    """A node's exporter stops answering (the VM is off)."""
    node = (scene.homelab.agents or scene.homelab.nodes)[-1]
    return [
        _target_down("HomelabNodeDown", "up", 5 + MARGIN, job="node-exporter", instance=f"{node.ip}:9100")
    ]


def etcd_quorum(scene: Scene) -> list[Fault]:
    """Members stop until exactly a quorum is left."""
    members = len(scene.homelab.servers)
    quorum = members // 2 + 1

    def breaks(world: World) -> list[Firing]:
        for server in scene.homelab.servers[quorum:]:
            world.set_from(world.one("up", job=ETCD_JOB, instance=f"{server.ip}:2381"), START, 0)
        return [Firing("HomelabEtcdQuorumAtRisk", {}, str(quorum))]

    return [Fault(f"{members - quorum} of {members} etcd members down", 5 + MARGIN, breaks)]


def api_vip(_scene: Scene) -> list[Fault]:
    """The VIP stops answering; or its scrape job is gone altogether (no `up` at all)."""

    def gone(world: World) -> list[Firing]:
        world.set_from(world.one("up", job=API_VIP_JOB), START, None)
        return [Firing("HomelabApiVipUnreachable", {"job": API_VIP_JOB})]

    return [
        _target_down("HomelabApiVipUnreachable", "up", 3 + MARGIN, job=API_VIP_JOB),
        Fault("the VIP's scrape job gone", 3 + MARGIN, gone),
    ]


def vault_sealed(_scene: Scene) -> list[Fault]:
    """A member restarts sealed."""
    return [_target_down("HomelabVaultSealed", "vault_core_unsealed", 5 + MARGIN, pod="vault-0")]


def vault_not_answering(_scene: Scene) -> list[Fault]:
    """A member's metrics stop answering."""
    return [_target_down("HomelabVaultNotAnswering", "up", 5 + MARGIN, job="vault-internal", pod="vault-0")]


def certificate(_scene: Scene) -> list[Fault]:
    """A certificate is 13 days from expiry and not renewed."""

    def breaks(world: World) -> list[Firing]:
        victim = world.one("certmanager_certificate_expiration_timestamp_seconds")
        world.set_from(victim, START, float(START * 60 + 13 * 86400))
        return [Firing("HomelabCertificateExpiresSoon", victim.labels)]

    return [Fault("a certificate not renewed", 60 + MARGIN, breaks)]


def backup_missing(scene: Scene) -> list[Fault]:
    """Each schedule's backups have stopped succeeding since before the window opens (the newest
    success stays the one before time 0): its alert, and no other schedule's, fires once that is
    older than the schedule allows. Starting at 0 rather than START keeps a weekly schedule's
    group days shorter; the age it must reach is the same."""
    faults = []
    for schedule in schedules_of(scene.objects):
        limit = int(late_after(schedule.cron).total_seconds()) // 60
        newest = int(last_success(schedule.cron, DAY)(0) or 0) // 60  # minutes, before time 0

        def breaks(world: World, name: str = schedule.name) -> list[Firing]:
            world.freeze(world.one(VELERO_METRIC, schedule=name), 0)
            return [Firing("HomelabBackupMissing", {"schedule": name})]

        within = newest + limit + 15 + MARGIN
        faults.append(Fault(f"schedule {schedule.name} failing", within, breaks, start=0))
    return faults


def backup_location(_scene: Scene) -> list[Fault]:
    """The bucket goes away."""
    return [
        _target_down("HomelabBackupLocationUnavailable", "velero_backup_location_status_gauge", 15 + MARGIN)
    ]


def disk_full(scene: Scene) -> list[Fault]:
    """A node's root filesystem fills to 90 %."""
    node = scene.homelab.nodes[0]

    def breaks(world: World) -> list[Firing]:
        avail = world.one("node_filesystem_avail_bytes", instance=f"{node.ip}:9100", mountpoint="/")
        world.set_from(avail, START, 32 * GIB * 0.1)
        return [Firing("HomelabNodeDiskFull", avail.labels)]

    return [Fault(f"/ on {node.name} 90 % full", 15 + MARGIN, breaks)]


def volume_full(_scene: Scene) -> list[Fault]:
    """A volume fills to 90 %."""

    def breaks(world: World) -> list[Firing]:
        used = world.one("kubelet_volume_stats_used_bytes")
        world.set_from(used, START, 10 * GIB * 0.9)
        return [Firing("HomelabVolumeFull", used.labels)]

    return [Fault("a volume 90 % full", 15 + MARGIN, breaks)]


def _app_becomes(alert: str, **status: str) -> Callable[[Scene], list[Fault]]:
    def faults(_scene: Scene) -> list[Fault]:
        def breaks(world: World) -> list[Firing]:
            healthy = world.find("argocd_app_info", health_status="Healthy", sync_status="Synced")
            victim = world.series[healthy[-1]]
            world.set_from(victim, START, None)
            labels = {**victim.labels, **status}
            world.add_like("argocd_app_info", labels, START, 1)
            return [Firing(alert, labels)]

        return [Fault(f"an Application {status}", 30 + MARGIN, breaks)]

    return faults


def external_secret(_scene: Scene) -> list[Fault]:
    """An ExternalSecret cannot read its key from Vault."""

    def breaks(world: World) -> list[Firing]:
        ready = world.one("externalsecret_status_condition", status="True")
        world.set_from(ready, START, 0)
        failed = world.one("externalsecret_status_condition", name=ready.labels["name"], status="False")
        world.set_from(failed, START, 1)
        return [Firing("HomelabExternalSecretNotSynced", failed.labels)]

    return [Fault("an ExternalSecret not Ready", 15 + MARGIN, breaks)]


FAULTS: dict[str, Callable[[Scene], list[Fault]]] = {
    "HomelabNodeDown": node_down,
    "HomelabEtcdQuorumAtRisk": etcd_quorum,
    "HomelabApiVipUnreachable": api_vip,
    "HomelabVaultSealed": vault_sealed,
    "HomelabVaultNotAnswering": vault_not_answering,
    "HomelabCertificateExpiresSoon": certificate,
    "HomelabBackupMissing": backup_missing,
    "HomelabBackupLocationUnavailable": backup_location,
    "HomelabNodeDiskFull": disk_full,
    "HomelabVolumeFull": volume_full,
    "HomelabArgoAppDegraded": _app_becomes("HomelabArgoAppDegraded", health_status="Degraded"),
    "HomelabArgoAppOutOfSync": _app_becomes("HomelabArgoAppOutOfSync", sync_status="OutOfSync"),
    "HomelabExternalSecretNotSynced": external_secret,
}
"""Every alert's fault, by alert name."""
