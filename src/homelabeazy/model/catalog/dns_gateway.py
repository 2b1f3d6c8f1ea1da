"""k8s-gateway: a CoreDNS for the homelab domain inside the cluster, on a LoadBalancer IP of its own.

pfSense forwards the domain to it (a domain override), so the route names it serves come from the
repo through ArgoCD, not from a pfSense run. Its chart runs CoreDNS with the k8s_gateway plugin.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.effective import Effective
from homelabeazy.desired.outcomes import Breach, Outcome, confined, runs, service_shape
from homelabeazy.desired.selectors import as_map
from homelabeazy.model.homelab import Homelab
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


# ---------------------------------------------------------------------------------- outcomes

SERVER = "dns-gateway-k8s-gateway"
"""The chart's Deployment, Service and Corefile ConfigMap (release `dns-gateway`)."""
_FORWARD = re.compile(r"(?m)^\s*forward\b")


def _answers_the_routes(homelab: Homelab) -> Callable[[Effective], Iterator[Breach]]:
    """Every route's name at Traefik's address, for the homelab's domain, and nothing forwarded on."""
    wanted = [f"{homelab.cluster.traefik_ip} {route.host}" for route in homelab.routes]

    def test(view: Effective) -> Iterator[Breach]:
        found = view.named("ConfigMap", SERVER)
        if not found:
            yield Breach(f"there is no ConfigMap {SERVER}: no Corefile")
        for config_map in found:
            corefile = str(as_map(config_map.doc.get("data")).get("Corefile", ""))
            lines = {line.strip() for line in corefile.splitlines()}
            missing = [record for record in wanted if record not in lines]
            if missing:
                yield Breach(f"the Corefile does not answer {', '.join(missing)}", config_map)
            if f"k8s_gateway {homelab.domain}" not in corefile:
                yield Breach(f"the Corefile's k8s_gateway does not serve {homelab.domain}", config_map)
            if _FORWARD.search(corefile):
                yield Breach("the Corefile forwards queries on: an open resolver on the LAN", config_map)

    return test


def outcomes(homelab: Homelab) -> Iterator[Outcome]:
    """pfSense forwards the domain to this address, where every route name resolves to Traefik."""
    address = homelab.cluster.dns_gateway_ip
    yield Outcome(
        f"the DNS gateway answers every route of {homelab.domain} with Traefik's address, and only those",
        _answers_the_routes(homelab),
    )
    yield service_shape(
        SERVER,
        type_="LoadBalancer",
        ports=(53,),
        address=str(address) if address is not None else None,
        what=f"the DNS gateway answers on {address} port 53, where pfSense forwards the domain",
    )
    yield runs("Deployment", SERVER, what="the DNS gateway")
    yield confined(load_balancers=(SERVER,))
