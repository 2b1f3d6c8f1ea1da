"""MetalLB: hands out LoadBalancer IPs from the configured range on the services VLAN (L2)."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.effective import Effective, command_line, containers
from homelabeazy.desired.made import made_beside
from homelabeazy.desired.outcomes import Breach, Outcome, confined, flag_values, runs
from homelabeazy.desired.selectors import as_list, as_map, dig
from homelabeazy.desired.state import DesiredObject, DesiredState
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.service import ChartPin, OwnedValue, ServiceEntry

CHART = ChartPin("https://metallb.github.io/metallb", "metallb", "0.15.2")


OWNED_VALUES: tuple[OwnedValue, ...] = ()
"""Chart values the homelab depends on: `services.metallb.values` may not set them."""


def entry(config: HomelabConfig) -> ServiceEntry:  # noqa: ARG001 - uniform catalog signature
    """No routes and no secrets: it only announces addresses."""
    return ServiceEntry(
        name="metallb",
        title="MetalLB",
        namespace="metallb-system",
        chart=CHART,
        owned_values=OWNED_VALUES,
        crd_groups=("metallb.io",),
        description="LoadBalancer IPs on the services VLAN (layer 2)",
        creates=memberlist_secret,
    )


def memberlist_secret(state: DesiredState) -> Iterator[DesiredObject]:
    """The controller creates the speakers' memberlist Secret (key `secretkey`) under the name its
    `METALLB_ML_SECRET_NAME` variable gives; the speaker DaemonSet mounts it."""
    for deployment in state.of_kind("Deployment", "apps"):
        for container in as_list(dig(deployment.doc, "spec", "template", "spec", "containers")):
            for env in (as_map(e) for e in as_list(dig(container, "env"))):
                if env.get("name") == "METALLB_ML_SECRET_NAME" and env.get("value"):
                    yield made_beside(deployment, "Secret", str(env["value"]), keys=("secretkey",))


# ---------------------------------------------------------------------------------- outcomes

CONTROLLER = "metallb-controller"
SPEAKER = "metallb-speaker"


def _serves_every_service(view: Effective) -> Iterator[Breach]:
    """No load-balancer class: MetalLB then answers for every LoadBalancer Service (Traefik's and
    the DNS gateway's carry none)."""
    for kind, name in (("Deployment", CONTROLLER), ("DaemonSet", SPEAKER)):
        for obj in view.named(kind, name):
            for container in containers(obj, init=False):
                for value in flag_values(command_line(container), "lb-class"):
                    yield Breach(f"{name} only handles Services of loadBalancerClass {value}", obj)


def outcomes(homelab: Homelab) -> Iterator[Outcome]:  # noqa: ARG001 - a hook's signature
    """The controller hands out addresses, a speaker on every node announces them."""
    yield Outcome(
        "MetalLB gives every LoadBalancer Service its address (Traefik's, the DNS gateway's)",
        _serves_every_service,
    )
    yield runs("Deployment", CONTROLLER, what="the MetalLB controller")
    yield runs("DaemonSet", SPEAKER, what="the MetalLB speaker")
    yield confined(on_the_host=(SPEAKER,))
