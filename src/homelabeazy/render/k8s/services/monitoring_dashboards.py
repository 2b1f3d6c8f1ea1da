"""The homelab's own Grafana dashboard, provisioned as code: one ConfigMap Grafana's sidecar loads.

One page for the whole homelab: nodes, the cluster (etcd, ArgoCD), backups, certificates, Vault
and what is firing. Queries use the same metrics as the alert rules; every one must parse with
`promtool` (tests/monitoring).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from homelabeazy.render.k8s.objects import Manifest, meta, obj

DASHBOARD_LABEL = "grafana_dashboard"
DASHBOARD_LABEL_VALUE = "1"
"""The label Grafana's dashboard sidecar watches ConfigMaps for (set explicitly in the values)."""
UID = "homelab-overview"
FILE = "homelab-overview.json"


@dataclass(frozen=True)
class Panel:
    """One panel: a title, a PromQL query, its unit and how it is drawn."""

    title: str
    expr: str
    unit: str = "short"
    kind: str = "timeseries"
    legend: str = ""


PANELS: tuple[Panel, ...] = (
    Panel("Nodes up", 'sum(up{job="node-exporter"})', kind="stat"),
    Panel("etcd members up", 'count(up{job="kube-etcd"} == 1)', kind="stat"),
    Panel("Vault unsealed members", "sum(vault_core_unsealed)", kind="stat"),
    Panel("Alerts firing", 'count(ALERTS{alertstate="firing"}) or vector(0)', kind="stat"),
    Panel(
        "CPU busy per node",
        '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))',
        "percentunit",
        legend="{{instance}}",
    ),
    Panel(
        "Memory used per node",
        "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
        "percentunit",
        legend="{{instance}}",
    ),
    Panel(
        "Disk used per node",
        '1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"}'
        ' / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"}',
        "percentunit",
        legend="{{instance}} {{mountpoint}}",
    ),
    Panel(
        "ArgoCD applications not Healthy",
        'count by (health_status) (argocd_app_info{health_status!="Healthy"})',
        legend="{{health_status}}",
    ),
    Panel(
        "Hours since the last successful backup",
        '(time() - max by (schedule) (velero_backup_last_successful_timestamp{schedule!=""})) / 3600',
        "h",
        legend="{{schedule}}",
    ),
    Panel(
        "Days until certificates expire",
        "(certmanager_certificate_expiration_timestamp_seconds - time()) / 86400",
        "d",
        legend="{{namespace}}/{{name}}",
    ),
)


def _panel(index: int, panel: Panel) -> dict[str, Any]:
    width = 6 if panel.kind == "stat" else 12
    per_row = 24 // width
    stats = sum(1 for p in PANELS if p.kind == "stat")
    position = index if panel.kind == "stat" else index - stats
    y = 0 if panel.kind == "stat" else 4 + (position // per_row) * 8
    return {
        "id": index + 1,
        "type": panel.kind,
        "title": panel.title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {
            "x": (position % per_row) * width,
            "y": y,
            "w": width,
            "h": 4 if panel.kind == "stat" else 8,
        },
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "targets": [{"refId": "A", "expr": panel.expr, "legendFormat": panel.legend}],
    }


def dashboard() -> dict[str, Any]:
    """The dashboard model (Grafana's JSON), with a Prometheus data source variable."""
    return {
        "uid": UID,
        "title": "Homelab overview",
        "tags": ["homelab"],
        "timezone": "browser",
        "schemaVersion": 39,
        "editable": False,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"}
            ]
        },
        "panels": [_panel(i, p) for i, p in enumerate(PANELS)],
    }


def dashboard_config_map(namespace: str) -> Manifest:
    """The ConfigMap Grafana's sidecar provisions the dashboard from."""
    metadata = meta("homelab-dashboard", namespace)
    metadata.setdefault("labels", {})[DASHBOARD_LABEL] = DASHBOARD_LABEL_VALUE
    text = json.dumps(dashboard(), indent=2, sort_keys=True) + "\n"
    return obj("v1", "ConfigMap", metadata, data={FILE: text})
