"""NetworkPolicies: each namespace denies everything, then allows what its service needs.

K3s enforces NetworkPolicy with kube-router. Traffic from the nodes themselves (the API server
calling a webhook) arrives from the node addresses, so those are allowed by address; so is the
API server as a destination (the `kubernetes` Service is translated to the servers' port 6443
before the policy sees it). Pod ports, not Service ports, are what a policy matches, which is why
allows between namespaces name no ports.
"""

from __future__ import annotations

from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.model.node_setup import POD_CIDR, SERVICE_CIDR
from homelabeazy.render.k8s.bundle import Bundle
from homelabeazy.render.k8s.monitors import monitoring_namespace
from homelabeazy.render.k8s.objects import Manifest, meta, obj

NS_LABEL = "kubernetes.io/metadata.name"
API_PORT = 6443
CLUSTER_POD_CIDR = str(POD_CIDR)
CLUSTER_SERVICE_CIDR = str(SERVICE_CIDR)
"""K3s defaults (model/node_setup.py); excluded from `internet` egress so it cannot be used to reach
other namespaces."""


def _policy(name: str, namespace: str, spec: dict[str, Any]) -> Manifest:
    return obj("networking.k8s.io/v1", "NetworkPolicy", meta(name, namespace), spec=spec)


def _namespaces(names: list[str]) -> list[dict[str, Any]]:
    return [{"namespaceSelector": {"matchLabels": {NS_LABEL: ns}}} for ns in names]


def _hosts(addresses: list[str]) -> list[dict[str, Any]]:
    return [{"ipBlock": {"cidr": f"{address}/32"}} for address in addresses]


def _internet_ports(ports: tuple[int, ...], udp: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    """TCP ports; DNS (53) over UDP as well, as resolvers answer on both; then the UDP-only ones."""
    result: list[dict[str, Any]] = [{"protocol": "UDP", "port": port} for port in udp]
    for port in ports:
        if port == 53:
            result.append({"protocol": "UDP", "port": port})
        result.append({"protocol": "TCP", "port": port})
    return result


def namespace_baseline(namespace: str) -> list[Manifest]:
    """Default deny both ways, then: same namespace, and DNS to CoreDNS."""
    return [
        _policy("default-deny", namespace, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _policy(
            "allow-same-namespace",
            namespace,
            {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
                "egress": [{"to": [{"podSelector": {}}]}],
            },
        ),
        _policy(
            "allow-dns",
            namespace,
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {"matchLabels": {NS_LABEL: "kube-system"}},
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        ),
    ]


def _traefik_namespace(homelab: Homelab) -> str | None:
    entry = homelab.service("traefik")
    return entry.namespace if entry is not None else None


def route_namespaces(homelab: Homelab) -> list[str]:
    """Namespaces Traefik forwards to (sorted, its own excluded)."""
    own = _traefik_namespace(homelab)
    return sorted({r.namespace for r in homelab.routes if r.namespace != own and r.backend != "api@internal"})


def bundle_policies(homelab: Homelab, bundle: Bundle) -> list[Manifest]:
    """The allows one bundle adds to its namespace, named after it (several may share one)."""
    needs = bundle.needs
    prefix = f"allow-{bundle.name}"
    policies: list[Manifest] = []
    ingress_from = list(needs.ingress_from)
    traefik_ns = _traefik_namespace(homelab)
    owns_routes = any(r.owner == bundle.owner and r.kind == bundle.kind for r in homelab.routes)
    if traefik_ns is not None and owns_routes and bundle.namespace != traefik_ns:
        ingress_from.append(traefik_ns)
    prometheus_ns = monitoring_namespace(homelab)
    if prometheus_ns is not None and bundle.manifests.get("monitors") and bundle.namespace != prometheus_ns:
        ingress_from.append(prometheus_ns)
    if ingress_from:
        policies.append(
            _policy(
                f"{prefix}-ingress",
                bundle.namespace,
                {
                    "podSelector": {},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": _namespaces(sorted(set(ingress_from)))}],
                },
            )
        )
    egress_to = list(needs.egress_to)
    if bundle.namespace == traefik_ns:
        egress_to += route_namespaces(homelab)
    if egress_to:
        policies.append(
            _policy(
                f"{prefix}-egress",
                bundle.namespace,
                {
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [{"to": _namespaces(sorted(set(egress_to)))}],
                },
            )
        )
    api_hosts = [str(homelab.cluster.vip), *(str(n.ip) for n in homelab.servers)]
    if needs.api:
        policies.append(
            _policy(
                f"{prefix}-kube-api",
                bundle.namespace,
                {
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [{"to": _hosts(api_hosts), "ports": [{"protocol": "TCP", "port": API_PORT}]}],
                },
            )
        )
    if needs.node_ports:
        policies.append(
            _policy(
                f"{prefix}-nodes",
                bundle.namespace,
                {
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": _hosts([str(n.ip) for n in homelab.nodes]),
                            "ports": [{"protocol": "TCP", "port": p} for p in needs.node_ports],
                        }
                    ],
                },
            )
        )
    if needs.webhook:
        policies.append(
            _policy(
                f"{prefix}-from-nodes",
                bundle.namespace,
                {
                    "podSelector": {},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": _hosts([str(n.ip) for n in homelab.nodes])}],
                },
            )
        )
    if needs.internet_ports or needs.internet_udp_ports:
        policies.append(
            _policy(
                f"{prefix}-internet",
                bundle.namespace,
                {
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {
                                    "ipBlock": {
                                        "cidr": "0.0.0.0/0",
                                        "except": [CLUSTER_POD_CIDR, CLUSTER_SERVICE_CIDR],
                                    }
                                }
                            ],
                            "ports": _internet_ports(needs.internet_ports, needs.internet_udp_ports),
                        }
                    ],
                },
            )
        )
    if needs.world_ports or needs.world_udp_ports:
        ports = [{"protocol": "TCP", "port": p} for p in needs.world_ports]
        ports += [{"protocol": "UDP", "port": p} for p in needs.world_udp_ports]
        policies.append(
            _policy(
                f"{prefix}-world",
                bundle.namespace,
                {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"ports": ports}]},
            )
        )
    return policies
