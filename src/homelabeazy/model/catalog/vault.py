"""Vault: HA raft storage, UI behind Traefik; the store of every generated secret."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.converge.state import DesiredState
from homelabeazy.model.catalog.base import ChartPin, RouteSpec, ServiceEntry

CHART = ChartPin("https://helm.releases.hashicorp.com", "vault", "0.34.1")


def entry(config: HomelabConfig) -> ServiceEntry:
    """Vault's own UI login is the gate; Authelia in front would break the API clients."""
    return ServiceEntry(
        name="vault",
        title="Vault",
        namespace="vault",
        chart=CHART,
        wave=2,
        description="Secrets store (HA raft)",
        routes=(RouteSpec(config.services.vault.host, "vault-ui", 8200, "public"),),
    )


SERVER_LABELS = {"app.kubernetes.io/name": "vault", "component": "server"}
"""The chart's server pods."""
_KUBERNETES_REGISTRATION = re.compile(r'service_registration"?\s*[:=]?\s*\{?\s*"kubernetes"')
_REGISTERED = {"vault-initialized": "true", "vault-sealed": "false"}


def runtime_labels(
    state: DesiredState, config: HomelabConfig
) -> Iterator[tuple[str, Mapping[str, str], tuple[Mapping[str, str], ...]]]:
    """With Kubernetes service registration, each server labels its own pod once unsealed.

    `vault-active` is `true` on the leader and `false` on the standbys: the chart's `vault-active`
    and `vault-standby` Services select on it, so without the registration they select nothing.
    """
    namespace = entry(config).namespace
    for config_map in state.of_kind("ConfigMap", ""):
        texts = (config_map.doc.get("data") or {}).values()
        if config_map.namespace == namespace and any(_KUBERNETES_REGISTRATION.search(str(t)) for t in texts):
            active = {**_REGISTERED, "vault-active": "true"}
            standby = {**_REGISTERED, "vault-active": "false"}
            yield namespace, SERVER_LABELS, (active, standby)
            return
