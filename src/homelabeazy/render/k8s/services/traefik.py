"""Traefik: fixed LoadBalancer IP, HTTP redirected to HTTPS, CRD provider across namespaces."""

from __future__ import annotations

from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.model.service import ServiceEntry
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.services.common import new_bundle

WEB_PORT = 8000
WEBSECURE_PORT = 8443
"""The web and websecure entry points' container ports: set in the values (the chart's defaults)
because the NetworkPolicies open exactly these."""


def values(homelab: Homelab) -> dict[str, Any]:
    """Cross-namespace references let every route use the one Authelia Middleware."""
    config = homelab.config.services.traefik
    return {
        "deployment": {"replicas": config.replicas},
        "service": {
            "annotations": {"metallb.io/loadBalancerIPs": str(homelab.cluster.traefik_ip)},
            "spec": {"externalTrafficPolicy": "Local"},
        },
        "ports": {
            "web": {
                "port": WEB_PORT,
                "http": {
                    "redirections": {"entryPoint": {"to": "websecure", "scheme": "https", "permanent": True}}
                },
            },
            "websecure": {"port": WEBSECURE_PORT},
        },
        "providers": {
            "kubernetesCRD": {"enabled": True, "allowCrossNamespace": True},
            "kubernetesIngress": {"enabled": False},
        },
        "ingressRoute": {"dashboard": {"enabled": False}},
        "accessLog": {"enabled": True},
        "metrics": {"prometheus": {"service": {"enabled": True}}},
    }


def bundle(homelab: Homelab, entry: ServiceEntry) -> Bundle:
    """Reachable by anyone on its entry points; reaches every namespace that has a route."""
    result = new_bundle(entry, Needs(api=True, world_ports=(WEB_PORT, WEBSECURE_PORT)))
    result.values = values(homelab)
    return result
