"""Vault: HA with integrated raft storage; its UI route comes from the catalog."""

from __future__ import annotations

from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.model.catalog.vault import snapshots_enabled
from homelabeazy.model.service import ServiceEntry
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.services import vault_snapshots
from homelabeazy.render.k8s.services.common import new_bundle
from homelabeazy.render.serialize import to_json

CHART_PLACEHOLDERS = ("HOST_IP", "POD_IP", "HOSTNAME", "API_ADDR", "TRANSIT_ADDR", "RAFT_ADDR")
"""Words the chart's start script replaces with `sed` everywhere in the configuration file."""


def server_config(homelab: Homelab, namespace: str) -> dict[str, Any]:
    """Vault's server configuration as JSON (Vault reads JSON as well as HCL).

    TLS ends at Traefik; inside the cluster the listener is plain HTTP, confined by NetworkPolicy.
    """
    replicas = homelab.config.services.vault.replicas
    joins = [
        {"leader_api_addr": f"http://vault-{i}.vault-internal.{namespace}.svc:8200"} for i in range(replicas)
    ]
    return {
        "ui": True,
        "listener": [
            {
                "tcp": {
                    "address": "[::]:8200",
                    "cluster_address": "[::]:8201",
                    "tls_disable": 1,
                    # Prometheus scrapes /v1/sys/metrics without a token (NetworkPolicy confines it)
                    "telemetry": {"unauthenticated_metrics_access": True},
                }
            }
        ],
        "telemetry": {"prometheus_retention_time": "30s", "disable_hostname": True},
        "storage": {"raft": {"path": "/vault/data", "retry_join": joins}},
        "service_registration": {"kubernetes": {}},
        "disable_mlock": True,
    }


def server_config_text(homelab: Homelab, namespace: str) -> str:
    """The configuration as the chart takes it: a string (it fails on a structured value).

    The chart passes the string through Helm's `tpl` and, once the pod starts, `sed` replaces the
    placeholder words in it; generated JSON holds neither template braces nor those words, so
    what Vault reads is exactly what was rendered.
    """
    text = to_json(server_config(homelab, namespace))
    clashes = [word for word in CHART_PLACEHOLDERS if word in text]
    if "{{" in text or clashes:
        raise ValueError(f"Vault configuration would be rewritten by the chart: {clashes or '{{'}")
    return text


def values(homelab: Homelab, namespace: str) -> dict[str, Any]:
    """Raft members set their node id from the pod name, so a rescheduled pod rejoins as itself."""
    config = homelab.config.services.vault
    return {
        "injector": {"enabled": False},
        "server": {
            "dataStorage": {"enabled": True, "size": config.storage},
            "ha": {
                "enabled": True,
                "replicas": config.replicas,
                "raft": {
                    "enabled": True,
                    "setNodeId": True,
                    "config": server_config_text(homelab, namespace),
                },
            },
        },
        "ui": {"enabled": True, "serviceType": "ClusterIP"},
    }


def bundle(homelab: Homelab, entry: ServiceEntry) -> Bundle:
    """External Secrets reads from it; it reviews their service-account tokens with the API."""
    clients = tuple(e.namespace for e in homelab.services if "vault" in e.depends_on)
    result = new_bundle(entry, Needs(api=True, ingress_from=clients))
    result.values = values(homelab, entry.namespace)
    if snapshots_enabled(homelab.config):
        result.add(vault_snapshots.STEM, *vault_snapshots.snapshot_manifests(homelab, entry.namespace))
    return result
