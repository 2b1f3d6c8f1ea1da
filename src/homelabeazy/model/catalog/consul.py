"""Consul: service discovery (catalog sync of every Kubernetes service) and DNS."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.effective import Effective, containers
from homelabeazy.desired.outcomes import (
    Breach,
    Outcome,
    confined,
    env_from_secret,
    persists,
    runs,
    script_words,
)
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.service import (
    STORAGE,
    ChartPin,
    OwnedValue,
    RouteSpec,
    SecretSpec,
    ServiceEntry,
    secret_name,
)

CHART = ChartPin("https://helm.releases.hashicorp.com", "consul", "1.9.1")
GOSSIP_PATH = "consul/gossip"
"""The Vault path of the gossip encryption key."""


OWNED_VALUES: tuple[OwnedValue, ...] = (
    OwnedValue(("global", "name"), "the routes and NetworkPolicies name Consul's objects `consul-*`"),
    OwnedValue(("global", "gossipEncryption"), "the gossip key is the one kept in Vault (`consul-gossip`)"),
    OwnedValue(
        ("server", "replicas"),
        "it has its own key",
        "set it through services.consul.replicas instead",
    ),
    OwnedValue(
        ("syncCatalog", "enabled"),
        "it has its own key",
        "set it through services.consul.sync_catalog instead",
    ),
)
"""Chart values the homelab depends on: `services.consul.values` may not set them."""


def entry(config: HomelabConfig) -> ServiceEntry:
    """Gossip traffic is encrypted with a generated key."""
    return ServiceEntry(
        name="consul",
        title="Consul",
        namespace="consul",
        chart=CHART,
        owned_values=OWNED_VALUES,
        description="Service discovery and DNS",
        routes=(RouteSpec(config.services.consul.host, "consul-ui", 80, "group", ("admins",)),),
        secrets=(SecretSpec(GOSSIP_PATH, ("key",), "consul", "gossip encryption key"),),
        depends_on=(STORAGE,),
    )


# ---------------------------------------------------------------------------------- outcomes

SERVER = "consul-server"
SYNC = "consul-sync-catalog"


def _gossip_from_vault(secret: str) -> Callable[[Effective], Iterator[Breach]]:
    """The servers encrypt gossip with the key in `secret`: `-encrypt` names $GOSSIP_KEY, which
    comes from it."""
    inner = env_from_secret("StatefulSet", SERVER, ("GOSSIP_KEY",), secret, what="")

    def test(view: Effective) -> Iterator[Breach]:
        yield from inner.breaches(view)
        for sts in view.named("StatefulSet", SERVER):
            words = [w for c in containers(sts, init=False) for w in script_words(c)]
            if not any(w.startswith(("-encrypt=", "--encrypt=")) and "GOSSIP_KEY" in w for w in words):
                yield Breach("the consul agent is not started with -encrypt=$GOSSIP_KEY", sts)

    return test


def _sync_follows_config(wanted: bool) -> Callable[[Effective], Iterator[Breach]]:
    def test(view: Effective) -> Iterator[Breach]:
        found = view.named("Deployment", SYNC)
        if wanted and not found:
            yield Breach(f"there is no Deployment {SYNC}")
        if not wanted:
            yield from (Breach(f"Deployment {SYNC} runs although sync_catalog is off", o) for o in found)

    return test


def outcomes(homelab: Homelab) -> Iterator[Outcome]:
    """Consul's servers, their gossip key from Vault, catalog sync as services.consul says."""
    config = homelab.config.services.consul
    gossip = secret_name(next(s for s in entry(homelab.config).secrets if s.path == GOSSIP_PATH))
    yield Outcome(
        f"Consul's gossip is encrypted with the key in Secret {gossip}, synced from Vault",
        _gossip_from_vault(gossip),
    )
    yield Outcome(
        f"catalog sync {'runs' if config.sync_catalog else 'is off'}, as services.consul.sync_catalog says",
        _sync_follows_config(config.sync_catalog),
    )
    yield runs("StatefulSet", SERVER, config.replicas, what="the Consul servers")
    yield persists("StatefulSet", SERVER, "/consul/data", what="Consul's catalog")
    yield confined()
