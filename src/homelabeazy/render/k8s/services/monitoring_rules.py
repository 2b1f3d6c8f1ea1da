"""This homelab's own alert rules: the ways it is known to fail, each with what to do about it.

Rules are data (a PrometheusRule spec), built from the metric names the real exporters publish:
node-exporter, kube-state-metrics and Prometheus itself (`up`), etcd, Vault's telemetry
(`vault_core_unsealed`), cert-manager, Velero, the Elasticsearch exporter's cluster health,
ArgoCD's application controller, External Secrets and prometheus-pve-exporter. A rule whose
exporter is not deployed simply never fires; `promtool test rules` (tests/monitoring) proves each
one fires on the series that mean trouble and stays silent on healthy ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homelabeazy.config.schema import HomelabConfig

VIP_JOB = "kube-vip"
"""The scrape job that reaches the API server through the VIP (see monitoring.values)."""
ETCD_JOB = "kube-etcd"
"""The job of the chart's etcd ServiceMonitor (its Service is `<release>-kube-etcd`)."""


@dataclass(frozen=True)
class Alert:
    """One alert: its PromQL, how long it must hold, how bad it is, and what a human does."""

    name: str
    expr: str
    duration: str
    severity: str
    summary: str
    runbook: str

    def rule(self) -> dict[str, Any]:
        """The rule as Prometheus reads it."""
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.duration,
            "labels": {"severity": self.severity},
            "annotations": {
                "summary": self.summary,
                "runbook": self.runbook,
            },
        }


def alerts(config: HomelabConfig) -> list[Alert]:  # noqa: ARG001 - thresholds may come from it later
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
        Alert(
            "HomelabEtcdQuorumAtRisk",
            f'count(up{{job="{ETCD_JOB}"}} == 1) < (floor(count(up{{job="{ETCD_JOB}"}}) / 2) + 1) + 1',
            "5m",
            "critical",
            "Only {{ $value }} etcd members are up: one more failure loses quorum",
            "Bring the stopped K3s servers back before touching any other server; never remove two at once.",
        ),
        Alert(
            "HomelabKubeVipDown",
            f'up{{job="{VIP_JOB}"}} == 0 or absent(up{{job="{VIP_JOB}"}})',
            "3m",
            "critical",
            "The Kubernetes API does not answer on the kube-vip address",
            "Check the kube-vip static pod on the servers (`crictl ps | grep kube-vip`) and its lease.",
        ),
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
        Alert(
            "HomelabCertificateExpiresSoon",
            "certmanager_certificate_expiration_timestamp_seconds - time() < 14 * 86400",
            "1h",
            "warning",
            "Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in less than 14 days",
            "cert-manager did not renew it: `kubectl describe certificate` and check the issuer's events.",
        ),
        Alert(
            "HomelabBackupMissing",
            'time() - max by (schedule) (velero_backup_last_successful_timestamp{schedule!=""}) > 26 * 3600',
            "15m",
            "critical",
            "No successful Velero backup of schedule {{ $labels.schedule }} in 26 hours",
            "Run `homelab backup status`; look at the last backup's logs with `velero backup logs`.",
        ),
        Alert(
            "HomelabBackupLocationUnavailable",
            "velero_backup_location_status_gauge == 0",
            "15m",
            "critical",
            "Backup location {{ $labels.backup_location_name }} is unavailable",
            "Check the bucket, its endpoint and the credentials in Vault at velero/s3.",
        ),
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
        Alert(
            "HomelabElasticsearchNotGreen",
            'max by (cluster) (elasticsearch_cluster_health_status{color="green"}) == 0',
            "15m",
            "warning",
            "Elasticsearch cluster {{ $labels.cluster }} is not green",
            "Check unassigned shards (`_cluster/allocation/explain`) and the nodes' disks.",
        ),
        Alert(
            "HomelabArgoAppDegraded",
            'argocd_app_info{health_status="Degraded"} == 1',
            "30m",
            "warning",
            "ArgoCD application {{ $labels.name }} has been Degraded for 30 minutes",
            "Open it in ArgoCD; `homelab validate --deep` finds most reasons before they reach the cluster.",
        ),
        Alert(
            "HomelabArgoAppOutOfSync",
            'argocd_app_info{sync_status="OutOfSync"} == 1',
            "30m",
            "warning",
            "ArgoCD application {{ $labels.name }} has been OutOfSync for 30 minutes",
            "Look at the sync's errors in ArgoCD; a manual change in the cluster is reverted by a sync.",
        ),
        Alert(
            "HomelabExternalSecretNotSynced",
            'externalsecret_status_condition{condition="Ready",status="False"} == 1',
            "15m",
            "warning",
            "ExternalSecret {{ $labels.namespace }}/{{ $labels.name }} is not synced from Vault",
            "Is Vault unsealed? Does the key exist (`homelab secrets status`)?",
        ),
        Alert(
            "HomelabProxmoxHostMemory",
            'pve_memory_usage_bytes{id=~"node/.*"} / pve_memory_size_bytes{id=~"node/.*"} > 0.9',
            "15m",
            "warning",
            "Proxmox host {{ $labels.id }} uses more than 90 % of its memory",
            "Move or shrink VMs (node sizes in homelab.yaml) before the host swaps or OOM-kills a VM.",
        ),
    ]


def rule_groups(config: HomelabConfig) -> list[dict[str, Any]]:
    """The PrometheusRule spec's groups."""
    return [{"name": "homelab", "rules": [a.rule() for a in alerts(config)]}]
