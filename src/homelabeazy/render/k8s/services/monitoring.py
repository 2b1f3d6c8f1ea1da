"""Monitoring: kube-prometheus-stack values sized from homelab.yaml, the homelab's alert rules, the
Alertmanager receivers chosen in homelab.yaml (their credentials mounted from a Vault-synced Secret,
never in the configuration), and Grafana's admin login from Vault.

K3s runs the controller-manager, scheduler and proxy inside the k3s process, bound to loopback, so
their scrape jobs are off; etcd's metrics are on each server's address (`etcd-expose-metrics`), and
so are kube-vip's (the static pod's `prometheus_server`). The VIP itself is probed by a job that asks
the API server through it for its small health-check endpoint and keeps none of the samples: `up`
is the answer, and no API server series is stored twice.
The operator's admission webhook is off: rules are checked by `promtool` before they ship.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from homelabeazy.config.schema import NotifyConfig
from homelabeazy.model import Homelab
from homelabeazy.model.catalog.monitoring import (
    API_PORT,
    GRAFANA_PATH,
    KUBELET_PORT,
    NODE_EXPORTER_PORT,
    NOTIFY_PATH,
    RELEASE,
    notify_keys,
)
from homelabeazy.model.node_setup import ETCD_METRICS_PORT, KUBE_VIP_METRICS_PORT
from homelabeazy.model.service import ServiceEntry, secret_name
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.monitors import scraped_namespaces
from homelabeazy.render.k8s.objects import Manifest, meta, obj
from homelabeazy.render.k8s.services.common import new_bundle, secret_spec, synced_secret
from homelabeazy.render.k8s.services.monitoring_dashboards import (
    DASHBOARD_LABEL,
    DASHBOARD_LABEL_VALUE,
    dashboard_config_map,
)
from homelabeazy.render.k8s.services.monitoring_rules import API_VIP_JOB, KUBE_VIP_JOB, rule_groups

SECRETS_DIR = "/etc/alertmanager/secrets"
"""Where the operator mounts each Secret named in `alertmanagerSpec.secrets` (one folder per Secret)."""
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
RECEIVER = "homelab"
NTFY_TITLE = "{{ .status }}: {{ .commonLabels.alertname }}"
NTFY_MESSAGE = "{{ .commonAnnotations.summary }}"
"""ntfy (2.10+) fills these from the JSON Alertmanager posts (`tpl=1`)."""
_SIZE = re.compile(r"^(\d+)(Mi|Gi|Ti)$")
_MIB = {"Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}


def retention_size(storage: str) -> str:
    """90 % of the volume, the size at which Prometheus deletes its oldest blocks (so the volume
    never fills: the WAL and compaction need the rest)."""
    match = _SIZE.match(storage)
    if match is None:
        raise ValueError(f"not a size: {storage}")
    return f"{int(match.group(1)) * _MIB[match.group(2)] * 9 // 10}MiB"


def _secret_file(entry: ServiceEntry, key: str) -> str:
    return f"{SECRETS_DIR}/{secret_name(secret_spec(entry, NOTIFY_PATH))}/{key}"


def _bearer(entry: ServiceEntry, key: str) -> dict[str, Any]:
    return {"authorization": {"type": "Bearer", "credentials_file": _secret_file(entry, key)}}


def receiver(homelab: Homelab, entry: ServiceEntry) -> dict[str, Any]:
    """One receiver with every integration homelab.yaml turns on."""
    notify: NotifyConfig = homelab.config.services.monitoring.notify
    result: dict[str, Any] = {"name": RECEIVER}
    hooks: list[dict[str, Any]] = []
    if notify.ntfy is not None:
        query = urlencode({"tpl": "1", "t": NTFY_TITLE, "m": NTFY_MESSAGE})
        hook: dict[str, Any] = {
            "url": f"{notify.ntfy.server}/{notify.ntfy.topic}?{query}",
            "send_resolved": True,
        }
        if notify.ntfy.token:
            hook["http_config"] = _bearer(entry, "ntfy_token")
        hooks.append(hook)
    if notify.webhook is not None:
        hook = {"url": notify.webhook.url, "send_resolved": True}
        if notify.webhook.token:
            hook["http_config"] = _bearer(entry, "webhook_token")
        hooks.append(hook)
    if hooks:
        result["webhook_configs"] = hooks
    if notify.email is not None:
        email: dict[str, Any] = {
            "to": notify.email.to,
            "from": notify.email.sender,
            "smarthost": f"{notify.email.host}:{notify.email.port}",
            "require_tls": True,
            "send_resolved": True,
        }
        if notify.email.username is not None:
            email["auth_username"] = notify.email.username
            email["auth_password_file"] = _secret_file(entry, "smtp_password")
        result["email_configs"] = [email]
    return result


def alertmanager_config(homelab: Homelab, entry: ServiceEntry) -> dict[str, Any]:
    """Everything to the homelab receiver, grouped per alert and namespace; the chart's always-firing
    Watchdog and InfoInhibitor go nowhere; a critical alert mutes the warnings of the same name."""
    return {
        "route": {
            "receiver": RECEIVER,
            "group_by": ["alertname", "namespace"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [{"receiver": "null", "matchers": ['alertname=~"Watchdog|InfoInhibitor"']}],
        },
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": ["alertname", "namespace"],
            }
        ],
        "receivers": [{"name": "null"}, receiver(homelab, entry)],
    }


API_VIP_PATH = "/metrics/slis"
"""The API server's component-health SLIs (stable since Kubernetes 1.29): a few dozen lines, where
`/metrics` is every series of every component K3s embeds (the chart's `apiserver` job has those)."""


def api_vip_scrape_config(homelab: Homelab) -> dict[str, Any]:
    """The API server through the kube-vip address: `up` says whether the VIP answers (TLS, the
    service account's token, a 200). Every sample is dropped: Prometheus sets `up` itself, after
    metric relabelling, so nothing but `up` and the scrape's own series is stored."""
    return {
        "job_name": API_VIP_JOB,
        "scheme": "https",
        "metrics_path": API_VIP_PATH,
        "scrape_interval": "30s",
        "authorization": {"type": "Bearer", "credentials_file": f"{SA_DIR}/token"},
        "tls_config": {"ca_file": f"{SA_DIR}/ca.crt"},
        "static_configs": [{"targets": [f"{homelab.cluster.vip}:{API_PORT}"]}],
        "metric_relabel_configs": [{"source_labels": ["__name__"], "regex": ".+", "action": "drop"}],
    }


def kube_vip_scrape_config(homelab: Homelab) -> dict[str, Any]:
    """kube-vip's own metrics (plain HTTP) on every server: a standby that is down cannot take the
    VIP over when the leader fails, so each server's `up` matters (the chart's `TargetDown` fires)."""
    return {
        "job_name": KUBE_VIP_JOB,
        "scheme": "http",
        "metrics_path": "/metrics",
        "scrape_interval": "30s",
        "static_configs": [{"targets": [f"{s.ip}:{KUBE_VIP_METRICS_PORT}" for s in homelab.servers]}],
    }


API_VIP_RBAC = {"nonResourceURLs": [API_VIP_PATH], "verbs": ["get"]}
"""The chart's Prometheus ClusterRole grants `/metrics` only; the VIP probe reads the SLI path."""


def values(homelab: Homelab, entry: ServiceEntry) -> dict[str, Any]:
    """Retention and volumes from homelab.yaml; every ServiceMonitor and rule in the cluster is
    picked up, not only the chart's own."""
    config = homelab.config.services.monitoring
    notify_secrets = [secret_name(secret_spec(entry, NOTIFY_PATH))] if notify_keys(homelab.config) else []

    def volume(size: str) -> dict[str, Any]:
        claim = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
        return {"volumeClaimTemplate": {"spec": claim}}

    return {
        "fullnameOverride": RELEASE,
        "prometheusOperator": {"admissionWebhooks": {"enabled": False}, "tls": {"enabled": False}},
        "kubeControllerManager": {"enabled": False},
        "kubeScheduler": {"enabled": False},
        "kubeProxy": {"enabled": False},
        "kubeEtcd": {
            "enabled": True,
            "endpoints": [str(n.ip) for n in homelab.servers],
            "service": {"port": ETCD_METRICS_PORT, "targetPort": ETCD_METRICS_PORT},
        },
        "prometheus": {
            "prometheusSpec": {
                "retention": f"{config.retention_days}d",
                "retentionSize": retention_size(config.storage),
                "storageSpec": volume(config.storage),
                "ruleSelectorNilUsesHelmValues": False,
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "probeSelectorNilUsesHelmValues": False,
                "additionalScrapeConfigs": [api_vip_scrape_config(homelab), kube_vip_scrape_config(homelab)],
            },
            "additionalRulesForClusterRole": [API_VIP_RBAC],
        },
        "alertmanager": {
            "config": alertmanager_config(homelab, entry),
            "alertmanagerSpec": {"storage": volume(config.alertmanager_storage), "secrets": notify_secrets},
        },
        "grafana": {
            # the chart reads the keys admin-user and admin-password of this Secret
            "admin": {"existingSecret": secret_name(secret_spec(entry, GRAFANA_PATH))},
            "testFramework": {"enabled": False},
            "sidecar": {
                "dashboards": {"enabled": True, "label": DASHBOARD_LABEL, "labelValue": DASHBOARD_LABEL_VALUE}
            },
        },
    }


def rules(homelab: Homelab, namespace: str) -> Manifest:
    """The homelab's alert rules as one PrometheusRule."""
    return obj(
        "monitoring.coreos.com/v1",
        "PrometheusRule",
        meta("homelab-alerts", namespace),
        spec={"groups": rule_groups(homelab)},
    )


def _notify_ports(homelab: Homelab) -> tuple[int, ...]:
    """The TCP ports Alertmanager opens to the receivers outside the cluster."""
    notify = homelab.config.services.monitoring.notify
    ports: set[int] = set()
    for url in (notify.ntfy.server if notify.ntfy else None, notify.webhook.url if notify.webhook else None):
        if url is not None:
            match = re.match(r"^(https?)://[^/:]+(?::(\d+))?", url)
            if match is not None:
                ports.add(
                    int(match.group(2)) if match.group(2) else (443 if match.group(1) == "https" else 80)
                )
    if notify.email is not None:
        ports.add(notify.email.port)
    return tuple(sorted(ports))


def bundle(homelab: Homelab, entry: ServiceEntry) -> Bundle:
    """Reads the API (operator, kube-state-metrics, Grafana's sidecars), scrapes the nodes, and
    talks to the receivers."""
    needs = Needs(
        api=True,
        # the API server's service proxy, from the nodes: how `homelab status` reads Alertmanager
        webhook=True,
        internet_ports=_notify_ports(homelab),
        node_ports=(NODE_EXPORTER_PORT, KUBELET_PORT, ETCD_METRICS_PORT, KUBE_VIP_METRICS_PORT),
        egress_to=("kube-system", *scraped_namespaces(homelab)),
    )
    result = new_bundle(entry, needs)
    result.values = values(homelab, entry)
    result.add("rules", rules(homelab, entry.namespace))
    result.add("dashboards", dashboard_config_map(entry.namespace))
    result.add(
        "secrets",
        synced_secret(
            entry,
            GRAFANA_PATH,
            {"admin_password": "admin_password"},
            {"admin-user": "admin", "admin-password": "{{ .admin_password }}"},
        ),
    )
    keys = notify_keys(homelab.config)
    if keys:
        result.add("secrets", synced_secret(entry, NOTIFY_PATH))
    return result
