"""For every homelab alert: series that mean trouble (it must fire) and healthy ones (it must not).

Series use promtool's expanding notation (`0x30`: thirty samples of 0, one a minute). `labels`
are the labels the firing alert carries besides `alertname` and `severity`; `value` is what
`{{ $value }}` prints in its summary, when the summary uses it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    alert: str
    trouble: dict[str, str]
    healthy: dict[str, str]
    eval_time: str
    labels: tuple[dict[str, str], ...]
    value: str = ""
    interval: str = "1m"


NODE = 'instance="10.10.10.20:9100",job="node-exporter"'
CERT = "certmanager_certificate_expiration_timestamp_seconds"
PVC = 'namespace="vault",persistentvolumeclaim="data-vault-0"'
ES = "elasticsearch_cluster_health_status"
APP = 'argocd_app_info{name="vault",namespace="argocd"'
ESO = 'externalsecret_status_condition{name="grafana",namespace="monitoring",condition="Ready"'

CASES: tuple[Case, ...] = (
    Case(
        "HomelabNodeDown",
        {f"up{{{NODE}}}": "0x10"},
        {f"up{{{NODE}}}": "1x10"},
        "10m",
        ({"instance": "10.10.10.20:9100", "job": "node-exporter"},),
    ),
    Case(
        "HomelabEtcdQuorumAtRisk",
        {
            'up{job="kube-etcd",instance="10.10.10.20:2381"}': "1x10",
            'up{job="kube-etcd",instance="10.10.10.21:2381"}': "1x10",
            'up{job="kube-etcd",instance="10.10.10.22:2381"}': "0x10",
        },
        {
            'up{job="kube-etcd",instance="10.10.10.20:2381"}': "1x10",
            'up{job="kube-etcd",instance="10.10.10.21:2381"}': "1x10",
            'up{job="kube-etcd",instance="10.10.10.22:2381"}': "1x10",
        },
        "10m",
        ({},),
        value="2",
    ),
    Case(
        "HomelabKubeVipDown",
        {'up{job="kube-vip",instance="10.10.10.10:6443"}': "0x10"},
        {'up{job="kube-vip",instance="10.10.10.10:6443"}': "1x10"},
        "10m",
        ({"job": "kube-vip", "instance": "10.10.10.10:6443"},),
    ),
    Case(
        # the VIP job's target gone altogether (no series at all) is as bad as a failing one
        "HomelabKubeVipDown",
        {f"up{{{NODE}}}": "1x10"},
        {'up{job="kube-vip",instance="10.10.10.10:6443"}': "1x10"},
        "10m",
        ({"job": "kube-vip"},),
    ),
    Case(
        "HomelabVaultSealed",
        {'vault_core_unsealed{pod="vault-1",namespace="vault"}': "0x10"},
        {'vault_core_unsealed{pod="vault-1",namespace="vault"}': "1x10"},
        "10m",
        ({"pod": "vault-1", "namespace": "vault"},),
    ),
    Case(
        "HomelabVaultNotAnswering",
        {'up{job="vault-internal",instance="10.42.1.7:8200"}': "0x10"},
        {'up{job="vault-internal",instance="10.42.1.7:8200"}': "1x10"},
        "10m",
        ({"job": "vault-internal", "instance": "10.42.1.7:8200"},),
    ),
    Case(
        "HomelabCertificateExpiresSoon",
        # promtool's clock starts at 0: a timestamp of 5 days expires 5 days after the start
        {f'{CERT}{{name="vault-tls",namespace="vault"}}': "432000x150"},
        {f'{CERT}{{name="vault-tls",namespace="vault"}}': "5184000x150"},
        "2h",
        ({"name": "vault-tls", "namespace": "vault"},),
    ),
    Case(
        "HomelabBackupMissing",
        # the last success stays at the start: 28 h later it is over 26 h old
        {'velero_backup_last_successful_timestamp{schedule="daily"}': "0x1700"},
        # a success every minute (the timestamp follows the clock)
        {'velero_backup_last_successful_timestamp{schedule="daily"}': "0+60x1700"},
        "28h",
        ({"schedule": "daily"},),
    ),
    Case(
        "HomelabBackupLocationUnavailable",
        {'velero_backup_location_status_gauge{backup_location_name="default"}': "0x30"},
        {'velero_backup_location_status_gauge{backup_location_name="default"}': "1x30"},
        "30m",
        ({"backup_location_name": "default"},),
    ),
    Case(
        "HomelabNodeDiskFull",
        {
            f'node_filesystem_avail_bytes{{{NODE},mountpoint="/",fstype="ext4"}}': "10x30",
            f'node_filesystem_size_bytes{{{NODE},mountpoint="/",fstype="ext4"}}': "100x30",
        },
        {
            f'node_filesystem_avail_bytes{{{NODE},mountpoint="/",fstype="ext4"}}': "50x30",
            f'node_filesystem_size_bytes{{{NODE},mountpoint="/",fstype="ext4"}}': "100x30",
            # a full tmpfs is not a disk
            f'node_filesystem_avail_bytes{{{NODE},mountpoint="/run",fstype="tmpfs"}}': "1x30",
            f'node_filesystem_size_bytes{{{NODE},mountpoint="/run",fstype="tmpfs"}}': "100x30",
        },
        "30m",
        (
            {
                "instance": "10.10.10.20:9100",
                "job": "node-exporter",
                "mountpoint": "/",
                "fstype": "ext4",
            },
        ),
    ),
    Case(
        "HomelabVolumeFull",
        {
            f"kubelet_volume_stats_used_bytes{{{PVC}}}": "90x30",
            f"kubelet_volume_stats_capacity_bytes{{{PVC}}}": "100x30",
        },
        {
            f"kubelet_volume_stats_used_bytes{{{PVC}}}": "50x30",
            f"kubelet_volume_stats_capacity_bytes{{{PVC}}}": "100x30",
        },
        "30m",
        ({"namespace": "vault", "persistentvolumeclaim": "data-vault-0"},),
    ),
    Case(
        "HomelabElasticsearchNotGreen",
        {
            f'{ES}{{cluster="elasticsearch",color="green"}}': "0x30",
            f'{ES}{{cluster="elasticsearch",color="yellow"}}': "1x30",
        },
        {
            f'{ES}{{cluster="elasticsearch",color="green"}}': "1x30",
            f'{ES}{{cluster="elasticsearch",color="yellow"}}': "0x30",
        },
        "30m",
        ({"cluster": "elasticsearch"},),
    ),
    Case(
        "HomelabArgoAppDegraded",
        {f'{APP},health_status="Degraded",sync_status="Synced"}}': "1x45"},
        {f'{APP},health_status="Healthy",sync_status="Synced"}}': "1x45"},
        "45m",
        ({"name": "vault", "namespace": "argocd", "health_status": "Degraded", "sync_status": "Synced"},),
    ),
    Case(
        "HomelabArgoAppOutOfSync",
        {f'{APP},health_status="Healthy",sync_status="OutOfSync"}}': "1x45"},
        # out of sync for 20 minutes only: a sync in progress, not a problem
        {f'{APP},health_status="Healthy",sync_status="OutOfSync"}}': ("1x20 _x25")},
        "45m",
        ({"name": "vault", "namespace": "argocd", "health_status": "Healthy", "sync_status": "OutOfSync"},),
    ),
    Case(
        "HomelabExternalSecretNotSynced",
        {f'{ESO},status="False"}}': "1x30"},
        {
            f'{ESO},status="False"}}': "0x30",
            f'{ESO},status="True"}}': "1x30",
        },
        "30m",
        ({"name": "grafana", "namespace": "monitoring", "condition": "Ready", "status": "False"},),
    ),
    Case(
        "HomelabProxmoxHostMemory",
        {
            'pve_memory_usage_bytes{id="node/pve1"}': "95x30",
            'pve_memory_size_bytes{id="node/pve1"}': "100x30",
        },
        {
            'pve_memory_usage_bytes{id="node/pve1"}': "50x30",
            'pve_memory_size_bytes{id="node/pve1"}': "100x30",
            # a guest using all its memory is not the host's problem
            'pve_memory_usage_bytes{id="qemu/120"}': "99x30",
            'pve_memory_size_bytes{id="qemu/120"}': "100x30",
        },
        "30m",
        ({"id": "node/pve1"},),
    ),
)
