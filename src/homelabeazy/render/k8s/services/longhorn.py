"""Longhorn: replicated volumes and the default StorageClass; its UI sits behind SSO."""

from __future__ import annotations

from homelabeazy.model import Homelab
from homelabeazy.model.service import ServiceEntry
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.services.common import new_bundle


def bundle(homelab: Homelab, entry: ServiceEntry) -> Bundle:
    """The pre-upgrade checker is a Helm hook Job ArgoCD cannot order; Longhorn documents turning it off."""
    replicas = homelab.config.services.longhorn.replicas
    result = new_bundle(entry, Needs(api=True, webhook=True))
    result.values = {
        "persistence": {"defaultClass": True, "defaultClassReplicaCount": replicas},
        "defaultSettings": {"defaultReplicaCount": replicas},
        "preUpgradeChecker": {"jobEnabled": False},
    }
    return result
