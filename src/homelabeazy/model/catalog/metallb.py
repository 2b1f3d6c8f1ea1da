"""MetalLB: hands out LoadBalancer IPs from the configured range on the services VLAN (L2)."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.made import made_beside
from homelabeazy.desired.selectors import as_list, as_map, dig
from homelabeazy.desired.state import DesiredObject, DesiredState
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
