"""MetalLB: one address pool (the configured LoadBalancer range) announced on layer 2."""

from __future__ import annotations

from homelabeazy.model import Homelab
from homelabeazy.model.service import ServiceEntry
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.objects import meta, obj
from homelabeazy.render.k8s.services.common import new_bundle

POOL = "homelab"


def bundle(homelab: Homelab, entry: ServiceEntry) -> Bundle:
    """The speaker runs on the host network (policies do not apply to it); the controller and its
    webhook do need the API and the nodes."""
    result = new_bundle(entry, Needs(api=True, webhook=True))
    result.values = {"controller": {"logLevel": "info"}, "speaker": {"logLevel": "info"}}
    cluster = homelab.cluster
    result.add(
        "pool",
        obj(
            "metallb.io/v1beta1",
            "IPAddressPool",
            meta(POOL, entry.namespace),
            spec={
                "addresses": [f"{cluster.loadbalancer_first}-{cluster.loadbalancer_last}"],
                "autoAssign": True,
            },
        ),
        obj(
            "metallb.io/v1beta1",
            "L2Advertisement",
            meta(POOL, entry.namespace),
            spec={"ipAddressPools": [POOL]},
        ),
    )
    return result
