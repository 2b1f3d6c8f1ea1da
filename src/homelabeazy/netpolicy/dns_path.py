"""How a name resolves on the homelab's DNS path, and where it ends in NXDOMAIN.

The path, as the homelab configures it:

- a pod asks CoreDNS; CoreDNS answers `cluster.local` itself (Services) and forwards everything else
  to the node's resolv.conf servers, `network.dns_servers`, picking one at random per query (its
  `forward` plugin's default policy), so every listed resolver answers some queries;
- a node (K3s uploading etcd snapshots) asks the first of `network.dns_servers` (glibc moves on to
  the next only when one does not answer; an NXDOMAIN is final);
- a resolver inside a homelab VLAN is the LAN resolver that carries the model's records (pfSense's
  host overrides or network/dns/); it answers those first (Unbound answers `local-data` before it
  forwards or recurses), then, with `services.dns_gateway` on, forwards the rest of the domain to
  k8s-gateway, which answers NXDOMAIN for any name it does not serve (no fallthrough); any other
  name goes upstream, beyond what the homelab decides;
- a resolver outside the VLANs (a public one) does not know the homelab's LAN names.

Pure: the check (`dns-path`) and the tests with real Unbound read the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import AddressValueError, IPv4Address, IPv4Network
from typing import Literal

Outcome = Literal["answered", "nxdomain", "upstream", "cluster", "address"]
CLUSTER_SUFFIXES = (".svc", ".svc.cluster.local", ".cluster.local")


@dataclass(frozen=True)
class Resolution:
    """What a client gets for a name: an answer (by whom), NXDOMAIN (why), or not the homelab's call."""

    outcome: Outcome
    detail: str
    """Who answers (`pfSense host override`, `k8s-gateway`) or why there is no answer."""
    certain: bool = True
    """False when the homelab cannot know: a public resolver answers a LAN name only if the name is
    also published, which homelab.yaml does not say."""


@dataclass(frozen=True)
class DnsPath:
    """The facts the path depends on, from homelab.yaml (so the checks can build it before the model)."""

    domain: str
    local: Mapping[str, str]
    """Names the LAN resolver answers itself (its host overrides) -> what answers there."""
    served: frozenset[str]
    """Names k8s-gateway answers (the routes) when the domain is forwarded to it."""
    gateway: bool
    """`services.dns_gateway` is on: the LAN resolver forwards the domain to k8s-gateway."""
    resolvers: tuple[IPv4Address, ...]
    """`network.dns_servers`, in order."""
    lan: tuple[IPv4Network, ...]
    """The homelab's VLANs: a resolver inside one carries the records."""

    def in_domain(self, name: str) -> bool:
        return name == self.domain or name.endswith("." + self.domain)

    def _is_lan(self, server: IPv4Address) -> bool:
        return any(server in vlan for vlan in self.lan)

    def at(self, server: IPv4Address, name: str) -> Resolution:
        """The answer of one resolver of `network.dns_servers`."""
        if not self._is_lan(server):
            if name in self.local or name in self.served:
                why = f"{server} is not a homelab resolver and knows the LAN names only if they are published"
                return Resolution("nxdomain", why, certain=False)
            return Resolution("upstream", f"{server} (outside the homelab)")
        if name in self.local:
            return Resolution("answered", f"a host override on {server} ({self.local[name]})")
        if self.gateway and self.in_domain(name):
            if name in self.served:
                return Resolution("answered", "k8s-gateway (a route, forwarded with the domain)")
            return Resolution(
                "nxdomain",
                f"{server} forwards {self.domain} to k8s-gateway, which answers NXDOMAIN for every name it "
                "does not serve (only the routes)",
            )
        if name in self.served:
            return Resolution("answered", f"a host override on {server} (a route)")
        return Resolution("upstream", f"{server} resolves it upstream")

    def resolve(self, name: str, client: Literal["pod", "node"]) -> Resolution:
        """What a pod or a node gets for `name`: NXDOMAIN when any resolver it may ask gives it."""
        name = name.strip().lower().rstrip(".")
        try:
            IPv4Address(name)
        except (AddressValueError, ValueError):
            pass
        else:
            return Resolution("address", "an address, no lookup")
        if name.endswith(CLUSTER_SUFFIXES):
            if client == "pod":
                return Resolution("cluster", "CoreDNS (a Service of the cluster)")
            return Resolution("nxdomain", "a node's resolvers do not know the cluster's Service names")
        asked = self.resolvers if client == "pod" else self.resolvers[:1]
        answers = [self.at(server, name) for server in asked]
        for answer in answers:
            if answer.outcome == "nxdomain":
                if client == "pod" and len(asked) > 1:
                    why = f"CoreDNS asks every network.dns_servers entry at random, and {answer.detail}"
                    return Resolution("nxdomain", why, answer.certain)
                return answer
        for answer in answers:
            if answer.outcome == "answered":
                return answer
        return answers[0]


def dns_path(  # noqa: PLR0917 - the six facts of the path, named at every call
    domain: str,
    local: Iterable[tuple[str, str]],
    served: Iterable[str],
    gateway: bool,
    resolvers: Iterable[IPv4Address],
    lan: Iterable[IPv4Network],
) -> DnsPath:
    """The path with names normalised (lower case, no trailing dot)."""
    return DnsPath(
        domain.lower().rstrip("."),
        {n.lower().rstrip("."): what for n, what in local},
        frozenset(n.lower().rstrip(".") for n in served),
        gateway,
        tuple(resolvers),
        tuple(lan),
    )
