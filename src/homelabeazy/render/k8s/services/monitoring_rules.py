"""This homelab's own alert rules: the ways it is known to fail, each with what to do about it.

Rules are data (a PrometheusRule spec), built from the metric names the real exporters publish:
node-exporter, the kubelet and Prometheus itself (`up`), etcd, Vault's telemetry
(`vault_core_unsealed`), cert-manager, Velero, ArgoCD's application controller and External
Secrets. A rule is rendered only where its exporter runs and is scraped: a rule on metrics nobody
publishes never fires, and silence proves nothing (Elasticsearch's health and the Proxmox hosts'
memory wait for their exporters).

Thresholds that depend on the homelab come from the model, never one constant: each Velero
schedule gets its own rule with its own allowed age (model/schedules.py, the age `homelab status`
judges by), and etcd's quorum rule exists only where a member can be lost without losing quorum.
What kube-prometheus-stack's own rules already say is not said again (a kube-vip target down is
its `TargetDown`; etcd quorum lost is its `etcdInsufficientMembers`).

The proof (tests/support/alert_proof): from the model, a healthy homelab's series over a window
longer than the longest schedule, run through real `promtool test rules`: nothing fires; each
alert's own fault makes it, and nothing else, fire.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from homelabeazy.config.cron import cron_period
from homelabeazy.model import Homelab
from homelabeazy.model.schedules import late_after

API_VIP_JOB = "kube-api-vip"
"""The scrape job that reaches the API server through the VIP (see monitoring.api_vip_scrape_config)."""
KUBE_VIP_JOB = "kube-vip"
"""The scrape job of kube-vip's own metrics on every server."""
ETCD_JOB = "kube-etcd"
"""The job of the chart's etcd ServiceMonitor (its Service is `<release>-kube-etcd`)."""
VELERO_METRIC = "velero_backup_last_successful_timestamp"


@dataclass(frozen=True)
class Alert:
    """One alert: its PromQL, how long it must hold, how bad it is, and what a human does."""

    name: str
    expr: str
    duration: str
    severity: str
    summary: str
    runbook: str
    labels: tuple[tuple[str, str], ...] = ()
    """Labels besides the severity: the one that tells apart several rules of one alert."""

    def rule(self) -> dict[str, Any]:
        """The rule as Prometheus reads it."""
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.duration,
            "labels": {"severity": self.severity, **dict(self.labels)},
            "annotations": {
                "summary": self.summary,
                "runbook": self.runbook,
            },
        }


def span(delta: timedelta) -> str:
    """A duration as people write it: 45m, 2h, 26h, 7d2h."""
    minutes = int(delta.total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days >= 2:
        return f"{days}d" + (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    hours += days * 24
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes or not hours else "")


def etcd_quorum_alerts(homelab: Homelab) -> list[Alert]:
    """At risk: exactly a quorum is up, so the next failure stops the API. With one server there is
    no margin to watch (its loss is the chart's `etcdInsufficientMembers`), so no rule at all."""
    members = len(homelab.servers)
    quorum = members // 2 + 1
    if members - quorum < 1:
        return []
    return [
        Alert(
            "HomelabEtcdQuorumAtRisk",
            f'sum(up{{job="{ETCD_JOB}"}} == bool 1) == {quorum}',
            "5m",
            "critical",
            f"Only {{{{ $value }}}} of {members} etcd members are up: one more failure loses quorum",
            "Bring the stopped K3s servers back before touching any other server; never remove two at once.",
        )
    ]


def backup_alerts(homelab: Homelab) -> list[Alert]:
    """One rule per Velero schedule, each late after its own schedule's allowed age."""
    if not homelab.enabled("velero"):
        return []
    alerts = []
    for schedule in homelab.config.services.velero.schedules:
        limit = late_after(schedule.cron)
        selector = f'{VELERO_METRIC}{{schedule="{schedule.name}"}}'
        alerts.append(
            Alert(
                "HomelabBackupMissing",
                f"time() - max by (schedule) ({selector}) > {int(limit.total_seconds())}",
                "15m",
                "critical",
                f"No successful Velero backup of schedule {schedule.name} for {span(limit)}"
                f" (it runs `{schedule.cron}`, at most {span(cron_period(schedule.cron))} apart)",
                "Run `homelab backup status`; look at the last backup's logs with `velero backup logs`.",
                # the value the expression's `schedule` label has: promtool and Prometheus see
                # one alert per schedule, not duplicates of one rule
                (("schedule", schedule.name),),
            )
        )
    return alerts


def alerts(homelab: Homelab) -> list[Alert]:
    """Every alert, in the order the runbook lists them."""
    return [
        Alert(
            "HomelabNodeDown",
            'up{job="node-exporter"} == 0',
            "5m",
            "critical",
            "Node {{ $labels.instance }} has not answered for 5 minutes",
            "Check the VM in Proxmox (`homelab status`); start it or `qm status <vmid>` on its host.",
        ),
        *etcd_quorum_alerts(homelab),
        Alert(
            "HomelabApiVipUnreachable",
            f'up{{job="{API_VIP_JOB}"}} == 0 or absent(up{{job="{API_VIP_JOB}"}})',
            "3m",
            "critical",
            "The Kubernetes API does not answer on the kube-vip address",
            "Check the kube-vip static pods on the servers (`crictl ps | grep kube-vip`) and their"
            " lease (`kubectl -n kube-system get lease plndr-cp-lock`).",
        ),
        *backup_alerts(homelab),
        Alert(
            "HomelabNodeDiskFull",
            '(1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"}'
            ' / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"}) > 0.85',
            "15m",
            "warning",
            "{{ $labels.mountpoint }} on {{ $labels.instance }} is more than 85 % full",
            "Free space (images: `crictl rmi --prune`) or grow the VM disk in homelab.yaml.",
        ),
        Alert(
            "HomelabVolumeFull",
            "kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes > 0.85",
            "15m",
            "warning",
            "Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is more than 85 % full",
            "Raise the service's storage in homelab.yaml (or its retention) and re-render.",
        ),
        *service_alerts(homelab),
    ]


def service_alerts(homelab: Homelab) -> list[Alert]:
    """Alerts read from a service's own metrics: only where the service runs (and so is scraped)."""
    by_service = {
        "vault": [
            Alert(
                "HomelabVaultSealed",
                "vault_core_unsealed == 0",
                "5m",
                "critical",
                "Vault pod {{ $labels.pod }} is sealed: secrets stop syncing",
                "Unseal it with `homelab secrets unseal` (needs the threshold of key shares).",
            ),
            Alert(
                "HomelabVaultNotAnswering",
                'up{job=~"vault.*"} == 0',
                "5m",
                "critical",
                "Vault {{ $labels.instance }} does not answer its metrics (down, sealed or not initialised)",
                "See `homelab status`; a new Vault is initialised by `homelab up`.",
            ),
        ],
        "cert_manager": [
            Alert(
                "HomelabCertificateExpiresSoon",
                "certmanager_certificate_expiration_timestamp_seconds - time() < 14 * 86400",
                "1h",
                "warning",
                "Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in less than 14 days",
                "cert-manager did not renew it: `kubectl describe certificate` and check the"
                " issuer's events.",
            ),
        ],
        "velero": [
            Alert(
                "HomelabBackupLocationUnavailable",
                "velero_backup_location_status_gauge == 0",
                "15m",
                "critical",
                "Backup location {{ $labels.backup_location_name }} is unavailable",
                "Check the bucket, its endpoint and the credentials in Vault at velero/s3.",
            ),
        ],
        "argocd": [
            Alert(
                "HomelabArgoAppDegraded",
                'argocd_app_info{health_status="Degraded"} == 1',
                "30m",
                "warning",
                "ArgoCD application {{ $labels.name }} has been Degraded for 30 minutes",
                "Open it in ArgoCD; `homelab validate --deep` finds most reasons before they reach"
                " the cluster.",
            ),
            Alert(
                "HomelabArgoAppOutOfSync",
                'argocd_app_info{sync_status="OutOfSync"} == 1',
                "30m",
                "warning",
                "ArgoCD application {{ $labels.name }} has been OutOfSync for 30 minutes",
                "Look at the sync's errors in ArgoCD; a manual change in the cluster is reverted by a sync.",
            ),
        ],
        "external_secrets": [
            Alert(
                "HomelabExternalSecretNotSynced",
                'externalsecret_status_condition{condition="Ready",status="False"} == 1',
                "15m",
                "warning",
                "ExternalSecret {{ $labels.namespace }}/{{ $labels.name }} is not synced from Vault",
                "Is Vault unsealed? Does the key exist (`homelab secrets status`)?",
            ),
        ],
    }
    return [alert for name, alerts in by_service.items() if homelab.enabled(name) for alert in alerts]


def rule_groups(homelab: Homelab) -> list[dict[str, Any]]:
    """The PrometheusRule spec's groups."""
    return [{"name": "homelab", "rules": [a.rule() for a in alerts(homelab)]}]
