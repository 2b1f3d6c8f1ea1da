"""Vault: HA raft storage, UI behind Traefik; the store of every generated secret."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.converge.made import labelled_pod
from homelabeazy.converge.selectors import as_list, as_map, dig
from homelabeazy.converge.state import DesiredObject, DesiredState
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
        creates=labelled_pods,
    )


def labelled_pods(state: DesiredState) -> Iterator[DesiredObject]:
    """Vault's Kubernetes service registration (our server config enables it) labels its own pod
    `vault-active: "true"|"false"` at run time; the chart's `vault-active` and `vault-standby`
    Services select on that label, so the server pods exist once in each role."""
    for server in state.of_kind("StatefulSet", "apps"):
        containers = as_list(dig(server.doc, "spec", "template", "spec", "containers"))
        env = [as_map(e).get("name") for c in containers for e in as_list(as_map(c).get("env"))]
        if "VAULT_K8S_POD_NAME" in env:
            yield labelled_pod(server, "active", {"vault-active": "true"})
            yield labelled_pod(server, "standby", {"vault-active": "false"})
