"""Consul: servers, the UI, DNS, and catalog sync registering every Kubernetes Service."""

from __future__ import annotations

from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.model.catalog.consul import GOSSIP_PATH
from homelabeazy.model.service import ServiceEntry, secret_name
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.services.common import new_bundle, secret_spec, synced_secret


def values(homelab: Homelab, entry: ServiceEntry) -> dict[str, Any]:
    """Service mesh injection stays off: discovery and DNS are what this homelab uses Consul for."""
    config = homelab.config.services.consul
    return {
        "global": {
            "name": "consul",
            "datacenter": homelab.name,
            "gossipEncryption": {
                "secretName": secret_name(secret_spec(entry, GOSSIP_PATH)),
                "secretKey": "key",
            },
        },
        "server": {"replicas": config.replicas},
        "ui": {"enabled": True, "service": {"type": "ClusterIP"}},
        "dns": {"enabled": True},
        "connectInject": {"enabled": False},
        "syncCatalog": {"enabled": config.sync_catalog, "toConsul": True, "toK8S": False, "default": True},
    }


def bundle(homelab: Homelab, entry: ServiceEntry) -> Bundle:
    """CoreDNS forwards the `consul` zone to it, so kube-system may connect."""
    result = new_bundle(entry, Needs(api=True, ingress_from=("kube-system",)))
    result.values = values(homelab, entry)
    result.add("secrets", synced_secret(entry, GOSSIP_PATH))
    return result
