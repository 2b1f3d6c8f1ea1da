"""Semantic checks about names: every DNS record the model will derive must be one name, one place.

Registered in the same list as `checks.py` (imported by `load.py`). `route-hosts` (checks.py)
already keeps route hosts inside the domain and apart from each other; these keep them apart from
the other names the LAN resolver answers.
"""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.config.checks import Finding, check, route_paths
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.hosts import api_host, node_fqdn, route_fqdn
from homelabeazy.model.placement import node_names


@check("dns-names")
def routes_do_not_take_other_names(config: HomelabConfig) -> Iterator[Finding]:
    """A route host is neither the Kubernetes API's name nor a node's: each resolves elsewhere."""
    taken = {api_host(config.domain): "the Kubernetes API's name (it resolves to the VIP)"}
    for name in node_names(config.cluster):
        taken[node_fqdn(name, config.domain)] = f"the name of node {name} (it resolves to the node)"
    for path, host in route_paths(config):
        fqdn = route_fqdn(host, config.domain)
        if fqdn in taken:
            yield Finding(
                path,
                f"host {fqdn} is {taken[fqdn]}",
                "pick another host: the LAN resolver answers one address per name, and this one "
                "would not reach Traefik",
            )
