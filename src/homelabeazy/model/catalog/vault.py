"""Vault: HA raft storage, UI behind Traefik; the store of every generated secret."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from homelabeazy.config.schema import HomelabConfig
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
        template = as_map(dig(server.doc, "spec", "template"))
        env = [
            as_map(e).get("name")
            for c in as_list(dig(template, "spec", "containers"))
            for e in as_list(as_map(c).get("env"))
        ]
        if "VAULT_K8S_POD_NAME" not in env:
            continue
        for active in ("true", "false"):
            labels = {**as_map(dig(template, "metadata", "labels")), "vault-active": active}
            metadata = {
                **as_map(template.get("metadata")),
                "name": f"{server.name}-{active}",
                "labels": labels,
            }
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template.get("spec")}
            yield replace(server, doc=pod)
