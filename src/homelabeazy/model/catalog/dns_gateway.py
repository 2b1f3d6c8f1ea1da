"""k8s-gateway: a CoreDNS for the homelab domain inside the cluster, on a LoadBalancer IP of its own.

pfSense forwards the domain to it (a domain override), so the route names it serves come from the
repo through ArgoCD, not from a pfSense run. Its chart runs CoreDNS with the k8s_gateway plugin.
"""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.service import ChartPin, OwnedValue, ServiceEntry

CHART = ChartPin("https://ori-edge.github.io/k8s_gateway/", "k8s-gateway", "2.4.0")


OWNED_VALUES: tuple[OwnedValue, ...] = (
    OwnedValue(("domain",), "it answers for the homelab's domain", "set it through domain instead"),
    OwnedValue(
        ("service", "annotations", "metallb.io/loadBalancerIPs"),
        "pfSense forwards the domain to this address",
        "set it through services.dns_gateway.loadbalancer_ip instead",
    ),
    OwnedValue(("service", "port"), "pfSense forwards the domain to port 53"),
    OwnedValue(("service", "type"), "pfSense forwards the domain to its LoadBalancer address"),
    OwnedValue(("extraZonePlugins",), "its `hosts` block answers the homelab's route names"),
)
"""Chart values the homelab depends on: `services.dns_gateway.values` may not set them."""


def entry(config: HomelabConfig) -> ServiceEntry:  # noqa: ARG001 - uniform catalog signature
    """No routes and no secrets; its address comes from MetalLB."""
    return ServiceEntry(
        name="dns_gateway",
        title="k8s-gateway",
        namespace="dns-gateway",
        chart=CHART,
        owned_values=OWNED_VALUES,
        description="DNS for the homelab domain, forwarded to by pfSense",
        depends_on=("metallb",),
    )
