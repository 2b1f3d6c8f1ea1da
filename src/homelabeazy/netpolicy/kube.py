"""Kubernetes NetworkPolicy semantics, decided without a cluster.

The same question `net check` answers for VLANs, asked of the pod network: may this pod (or this
address) open this port on that pod? Kubernetes rules, as kube-router enforces them in K3s:

- a pod is isolated for ingress (egress) only when some policy of its namespace selects it with
  that policy type; an isolated pod accepts only what the union of those policies allows;
- a connection needs both the source's egress and the destination's ingress to allow it;
- a peer is a podSelector (in the policy's namespace), a namespaceSelector (every pod there), both
  at once (those pods in those namespaces), or an ipBlock (addresses, minus `except`);
- ports are the destination pod's ports, not a Service's: a named port is resolved on the
  destination pod's containers (name and protocol), `endPort` makes a range.

Pods are matched by selectors only: ipBlocks are for addresses outside the pod network (nodes, the
API server, the internet), which is how netpol.py uses them. Host-network pods are not subject to
NetworkPolicy; their traffic is seen as coming from their node's address.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any, Literal

from homelabeazy.desired.selectors import labels_match
from homelabeazy.netpolicy.ports import PortSet

NS_LABEL = "kubernetes.io/metadata.name"
"""The label the API server puts on every namespace: its name."""

Direction = Literal["Ingress", "Egress"]
Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


class KubePolicyError(ValueError):
    """A NetworkPolicy the API server would refuse (an unparsable cidr, a bad port)."""


@dataclass(frozen=True)
class ContainerPort:
    """One port a container declares; names are what named policy ports and targetPorts refer to."""

    port: int
    protocol: str = "TCP"
    name: str | None = None


@dataclass(frozen=True)
class Pod:
    """A pod as NetworkPolicy sees it: namespace, labels and the ports its containers declare."""

    name: str
    """How messages name it (the workload behind it: `Deployment/vault/vault`)."""
    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    ports: tuple[ContainerPort, ...] = ()
    host_network: bool = False

    def named_port(self, name: str, protocol: str) -> int | None:
        """The number of the container port called `name` with this protocol, if any."""
        return next((p.port for p in self.ports if p.name == name and p.protocol == protocol), None)


@dataclass(frozen=True)
class Host:
    """An address outside the pod network: a node, the API server, something on the internet."""

    address: Address
    label: str = ""

    @property
    def name(self) -> str:
        """How messages name it."""
        return f"{self.label} ({self.address})" if self.label else str(self.address)


Peer = Pod | Host


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A LabelSelector against a label set: every matchLabels pair and every expression holds.

    The empty selector matches everything. An operator the API server does not know matches
    nothing (the schema check reports the object).
    """
    return labels_match(selector, labels)


@dataclass(frozen=True)
class IpBlock:
    """`cidr` minus every `except`."""

    cidr: Network
    excepts: tuple[Network, ...] = ()

    def contains(self, address: Address) -> bool:
        """Whether the address is inside the block and outside every exception."""
        if address.version != self.cidr.version or address not in self.cidr:
            return False
        return not any(address.version == e.version and address in e for e in self.excepts)


@dataclass(frozen=True)
class PeerRule:
    """One entry of `from`/`to`."""

    pod_selector: Mapping[str, Any] | None = field(default=None, hash=False)
    namespace_selector: Mapping[str, Any] | None = field(default=None, hash=False)
    ip_block: IpBlock | None = None


@dataclass(frozen=True)
class PortRule:
    """One entry of `ports`: a protocol and a number, a range (`endPort`), a name or every port."""

    protocol: str = "TCP"
    port: int | str | None = None
    end_port: int | None = None

    def ports_on(self, dest: Peer, protocol: str) -> PortSet:
        """The ports of `dest` this entry opens for `protocol` (names resolve on the pod)."""
        if protocol != self.protocol:
            return PortSet()
        if self.port is None:
            return PortSet.all()
        if isinstance(self.port, int):
            return PortSet.of([(self.port, self.end_port or self.port)])
        number = dest.named_port(self.port, protocol) if isinstance(dest, Pod) else None
        return PortSet.of([(number, number)]) if number is not None else PortSet()


@dataclass(frozen=True)
class PolicyRule:
    """One ingress or egress rule; None means every peer (or every port), as an omitted list does."""

    peers: tuple[PeerRule, ...] | None
    ports: tuple[PortRule, ...] | None


@dataclass(frozen=True)
class NetworkPolicy:
    """A parsed NetworkPolicy."""

    name: str
    namespace: str
    pod_selector: Mapping[str, Any] = field(hash=False)
    types: frozenset[Direction]
    ingress: tuple[PolicyRule, ...] = ()
    egress: tuple[PolicyRule, ...] = ()

    @property
    def ident(self) -> str:
        """`NetworkPolicy/namespace/name`."""
        return f"NetworkPolicy/{self.namespace}/{self.name}"

    def rules(self, direction: Direction) -> tuple[PolicyRule, ...]:
        """The rules of one direction."""
        return self.ingress if direction == "Ingress" else self.egress

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], namespace: str) -> NetworkPolicy:
        """Parse a manifest; `namespace` is its effective namespace."""
        spec = doc.get("spec") or {}
        ingress = tuple(_rule(r, "from") for r in spec.get("ingress") or ())
        egress = tuple(_rule(r, "to") for r in spec.get("egress") or ())
        declared = spec.get("policyTypes")
        if declared:
            types = frozenset(t for t in declared if t in ("Ingress", "Egress"))
        else:
            # the API server's default: Ingress always, Egress when there are egress rules
            types = frozenset(["Ingress", "Egress"] if egress else ["Ingress"])
        name = str((doc.get("metadata") or {}).get("name", ""))
        return cls(name, namespace, spec.get("podSelector") or {}, types, ingress, egress)


def _rule(rule: Mapping[str, Any], peers_key: str) -> PolicyRule:
    peers = rule.get(peers_key)
    ports = rule.get("ports")
    return PolicyRule(
        tuple(_peer(p) for p in peers) if peers else None,
        tuple(_port(p) for p in ports) if ports else None,
    )


def _peer(peer: Mapping[str, Any]) -> PeerRule:
    block = peer.get("ipBlock")
    if block is not None:
        try:
            parsed = IpBlock(
                ip_network(block["cidr"], strict=False),
                tuple(ip_network(e, strict=False) for e in block.get("except") or ()),
            )
        except (KeyError, ValueError) as exc:
            raise KubePolicyError(f"ipBlock {dict(block)}: {exc}") from exc
        return PeerRule(ip_block=parsed)
    return PeerRule(peer.get("podSelector"), peer.get("namespaceSelector"))


def _port(entry: Mapping[str, Any]) -> PortRule:
    port = entry.get("port")
    end = entry.get("endPort")
    if port is not None and not isinstance(port, int | str):
        raise KubePolicyError(f"port {port!r} is neither a number nor a name")
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    return PortRule(str(entry.get("protocol") or "TCP"), port, int(end) if end is not None else None)


@dataclass(frozen=True)
class Side:
    """What one end's policies say: whether it is isolated, and which policies select/allow it."""

    direction: Direction
    isolated: bool
    selecting: tuple[str, ...] = ()
    """Policies of the pod's namespace that select it for this direction."""
    allowing: tuple[str, ...] = ()
    """Of those, the ones that allow this connection."""

    @property
    def allowed(self) -> bool:
        """Not isolated, or isolated and some selecting policy allows."""
        return not self.isolated or bool(self.allowing)


@dataclass(frozen=True)
class Decision:
    """The answer for one connection, with both sides' reasons."""

    source: Peer
    dest: Peer
    port: int
    protocol: str
    egress: Side
    ingress: Side

    @property
    def allowed(self) -> bool:
        """Both the source's egress and the destination's ingress allow it."""
        return self.egress.allowed and self.ingress.allowed

    def reason(self) -> str:
        """Why it is denied (or `allowed`), naming the side and the policies that isolate it."""
        parts: list[str] = []
        if not self.egress.allowed:
            parts.append(
                f"egress of {self.source.name} is isolated by {', '.join(self.egress.selecting)} "
                f"and none of them allows {self.protocol}/{self.port} to {self.dest.name}"
            )
        if not self.ingress.allowed:
            parts.append(
                f"ingress of {self.dest.name} is isolated by {', '.join(self.ingress.selecting)} "
                f"and none of them allows {self.protocol}/{self.port} from {self.source.name}"
            )
        return "; ".join(parts) or "allowed"


class PodNetwork:
    """The NetworkPolicies of a cluster and its namespaces' labels; answers connection questions."""

    def __init__(
        self, policies: Iterable[NetworkPolicy], namespace_labels: Mapping[str, Mapping[str, str]]
    ) -> None:
        self.policies = tuple(policies)
        self._namespaces = {ns: dict(labels) for ns, labels in namespace_labels.items()}

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        """A namespace's labels, with the name label the API server always sets."""
        return {**self._namespaces.get(namespace, {}), NS_LABEL: namespace}

    def selecting(self, pod: Pod, direction: Direction) -> list[NetworkPolicy]:
        """The policies that isolate `pod` for `direction`."""
        return [
            p
            for p in self.policies
            if p.namespace == pod.namespace
            and direction in p.types
            and selector_matches(p.pod_selector, pod.labels)
        ]

    def _peer_matches(self, rule: PeerRule, policy_ns: str, peer: Peer) -> bool:
        if rule.ip_block is not None:
            return isinstance(peer, Host) and rule.ip_block.contains(peer.address)
        if not isinstance(peer, Pod):
            return False
        if rule.namespace_selector is not None:
            if not selector_matches(rule.namespace_selector, self.namespace_labels(peer.namespace)):
                return False
        elif peer.namespace != policy_ns:
            return False
        return rule.pod_selector is None or selector_matches(rule.pod_selector, peer.labels)

    def _rule_ports(self, rule: PolicyRule, dest: Peer, protocol: str) -> PortSet:
        if rule.ports is None:
            return PortSet.all()
        result = PortSet()
        for entry in rule.ports:
            result = result.union(entry.ports_on(dest, protocol))
        return result

    def _opened(
        self, policy: NetworkPolicy, direction: Direction, peer: Peer, dest: Peer, protocol: str
    ) -> PortSet:
        """Ports of `dest` that `policy` opens for this peer (the other end of the connection)."""
        opened = PortSet()
        for rule in policy.rules(direction):
            if rule.peers is None or any(self._peer_matches(p, policy.namespace, peer) for p in rule.peers):
                opened = opened.union(self._rule_ports(rule, dest, protocol))
        return opened

    def _side(self, direction: Direction, source: Peer, dest: Peer, port: int, protocol: str) -> Side:
        """The egress side (the source's policies) or the ingress side (the destination's)."""
        end, other = (source, dest) if direction == "Egress" else (dest, source)
        if not isinstance(end, Pod) or end.host_network:
            return Side(direction, isolated=False)
        selecting = self.selecting(end, direction)
        allowing = tuple(
            p.ident for p in selecting if port in self._opened(p, direction, other, dest, protocol)
        )
        return Side(direction, bool(selecting), tuple(p.ident for p in selecting), allowing)

    def decide(self, source: Peer, dest: Peer, port: int, protocol: str = "TCP") -> Decision:
        """May `source` open `port`/`protocol` on `dest`? `port` is the destination pod's port."""
        if not 1 <= port <= 65535:
            raise ValueError(f"port {port} is outside 1-65535")
        egress = self._side("Egress", source, dest, port, protocol)
        ingress = self._side("Ingress", source, dest, port, protocol)
        return Decision(source, dest, port, protocol, egress, ingress)


def parse_policies(docs: Sequence[tuple[Mapping[str, Any], str]]) -> list[NetworkPolicy]:
    """Parse (manifest, effective namespace) pairs."""
    return [NetworkPolicy.from_doc(doc, namespace) for doc, namespace in docs]


def host(address: str, label: str = "") -> Host:
    """A Host from text (raises ValueError for a non-address)."""
    return Host(ip_address(address), label)
