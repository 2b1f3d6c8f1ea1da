"""Vault: HA with integrated raft storage; its UI route comes from the catalog."""

from __future__ import annotations

from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.model.catalog.base import ServiceEntry
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.services.common import new_bundle


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
        "listener": [{"tcp": {"address": "[::]:8200", "cluster_address": "[::]:8201", "tls_disable": 1}}],
        "storage": {"raft": {"path": "/vault/data", "retry_join": joins}},
        "service_registration": {"kubernetes": {}},
        "disable_mlock": True,
    }


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
                "raft": {"enabled": True, "setNodeId": True, "config": server_config(homelab, namespace)},
            },
        },
        "ui": {"enabled": True, "serviceType": "ClusterIP"},
    }


def bundle(homelab: Homelab, entry: ServiceEntry) -> Bundle:
    """External Secrets reads from it; it reviews their service-account tokens with the API."""
    clients = tuple(e.namespace for e in homelab.services if "vault" in e.depends_on)
    result = new_bundle(entry, Needs(api=True, ingress_from=clients))
    result.values = values(homelab, entry.namespace)
    return result
