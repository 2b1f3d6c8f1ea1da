"""Cluster addressing, sizes and versions: the mistakes popular K3s playbooks only discover at run
time (a VIP outside the node subnet, an even etcd member count) fail here, before anything exists.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

from homelabeazy.checks.base import Finding, check, inside_subnet, services_vlan, usable_range
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.config.schema.fields import text_problem
from homelabeazy.model.ipam import SERVER_SLOTS, parse_range
from homelabeazy.model.k3s_config import flag_problems
from homelabeazy.model.k3s_release import OLDEST_SUPPORTED_MINOR
from homelabeazy.model.placement import node_names


@check("cluster-in-services-vlan")
def cluster_addresses_in_services_vlan(config: HomelabConfig) -> Iterator[Finding]:
    """Node range, VIP and LoadBalancer range lie inside the services VLAN."""
    found = services_vlan(config)
    if found is None:
        return
    index, vlan = found
    cluster = config.cluster
    hint = f"the services VLAN network.vlans[{index}] is {vlan.cidr}: use addresses in {usable_range(vlan)}"
    if not inside_subnet(cluster.vip, vlan.cidr):
        yield Finding(("cluster", "vip"), f"{cluster.vip} is not inside the services VLAN {vlan.cidr}", hint)
    for key in ("node_ip_range", "loadbalancer_range"):
        first, last = parse_range(getattr(cluster, key))
        if not (inside_subnet(first, vlan.cidr) and inside_subnet(last, vlan.cidr)):
            yield Finding(
                ("cluster", key), f"{first}-{last} is not inside the services VLAN {vlan.cidr}", hint
            )


@check("cluster-addresses-disjoint")
def cluster_addresses_disjoint(config: HomelabConfig) -> Iterator[Finding]:
    """Node range, VIP, LoadBalancer range and gateway do not collide."""
    cluster = config.cluster
    n_first, n_last = parse_range(cluster.node_ip_range)
    l_first, l_last = parse_range(cluster.loadbalancer_range)
    if n_first <= cluster.vip <= n_last:
        yield Finding(
            ("cluster", "vip"), f"VIP {cluster.vip} is inside node_ip_range", "move the VIP out of it"
        )
    if l_first <= cluster.vip <= l_last:
        yield Finding(
            ("cluster", "vip"),
            f"VIP {cluster.vip} is inside loadbalancer_range",
            "MetalLB would hand it out too",
        )
    if n_first <= l_last and l_first <= n_last:
        yield Finding(
            ("cluster", "loadbalancer_range"),
            "loadbalancer_range overlaps node_ip_range",
            "MetalLB would hand out node addresses",
        )
    found = services_vlan(config)
    if found is not None:
        gateway = found[1].gateway
        for key, (first, last) in (
            ("node_ip_range", (n_first, n_last)),
            ("loadbalancer_range", (l_first, l_last)),
        ):
            if first <= gateway <= last:
                yield Finding(
                    ("cluster", key),
                    f"contains the services gateway {gateway}",
                    "exclude the gateway from the range",
                )
        if cluster.vip == gateway:
            yield Finding(("cluster", "vip"), f"VIP {cluster.vip} is the gateway", "pick a free address")


@check("node-range-size")
def node_range_large_enough(config: HomelabConfig) -> Iterator[Finding]:
    """The node range holds the server slots plus every agent."""
    first, last = parse_range(config.cluster.node_ip_range)
    size = int(last) - int(first) + 1
    need = SERVER_SLOTS + config.cluster.agents.count
    if size < need:
        yield Finding(
            ("cluster", "node_ip_range"),
            f"holds {size} addresses but {need} are needed",
            f"the first {SERVER_SLOTS} are reserved for servers so adding one never renumbers "
            f"agents; widen it to at least {need}",
        )


@check("lb-range-size")
def loadbalancer_range_has_traefik_ip(config: HomelabConfig) -> Iterator[Finding]:
    """Traefik's fixed LoadBalancer IP lies in the LoadBalancer range."""
    ip = config.services.traefik.loadbalancer_ip
    if ip is None:
        return
    first, last = parse_range(config.cluster.loadbalancer_range)
    if not first <= ip <= last:
        yield Finding(
            ("services", "traefik", "loadbalancer_ip"),
            f"{ip} is outside loadbalancer_range",
            f"use an address in {first}-{last}",
        )


@check("etcd-quorum")
def server_count_quorum(config: HomelabConfig) -> Iterator[Finding]:
    """Server count is 1, 3 or 5: an even etcd member count adds no fault tolerance."""
    count = config.cluster.servers.count
    if count == 0:
        yield Finding(("cluster", "servers", "count"), "at least one server is needed", "use 1, 3 or 5")
    elif count % 2 == 0:
        yield Finding(
            ("cluster", "servers", "count"),
            f"{count} servers: etcd needs a majority, so an even "
            "count tolerates no more failures than one less",
            f"use {count - 1} or {count + 1}",
        )
    elif count > SERVER_SLOTS:
        yield Finding(
            ("cluster", "servers", "count"),
            f"{count} servers: more than {SERVER_SLOTS} slows etcd",
            "use 1, 3 or 5 servers and add agents instead",
        )


@check("k3s-version")
def k3s_version_supported(config: HomelabConfig) -> Iterator[Finding]:
    """The K3s release is one this tool's roles and manifests support (Kubernetes 1.29+)."""
    match = re.match(r"^v1\.(\d+)\.", config.cluster.k3s_version)
    if match and int(match.group(1)) < OLDEST_SUPPORTED_MINOR:
        yield Finding(
            ("cluster", "k3s_version"),
            f"{config.cluster.k3s_version} is older than Kubernetes 1.{OLDEST_SUPPORTED_MINOR}",
            "use a supported release such as v1.33.5+k3s1",
        )


@check("k3s-flags")
def k3s_flags_match_the_release(config: HomelabConfig) -> Iterator[Finding]:
    """The K3s release has every flag the rendered K3s configuration sets, and each one this homelab needs."""
    match = re.match(r"^v1\.(\d+)\.", config.cluster.k3s_version)
    if match and int(match.group(1)) < OLDEST_SUPPORTED_MINOR:
        return  # `k3s-version` refuses the release already
    for problem in flag_problems(config):
        yield Finding(("cluster", "k3s_version"), problem.message, problem.hint)


@check("ssh-keys")
def ssh_keys_parse(config: HomelabConfig) -> Iterator[Finding]:
    """Every SSH public key parses: known type, base64 body whose embedded type matches."""
    known = (
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    )
    for i, key in enumerate(config.cluster.ssh.public_keys):
        path = ("cluster", "ssh", "public_keys", i)
        if any(ch in key for ch in "\r\n\x00"):  # a second line is a second key cloud-init would trust
            yield Finding(
                path, "holds a line break: one entry is exactly one key", "give each key its own entry"
            )
            continue
        if text_problem(key.strip()):  # ESC or a bidi override in the comment: shown in logs, docs
            yield Finding(
                path, text_problem(key.strip()) or "", "copy the .pub line again, as ssh-keygen wrote it"
            )
            continue
        parts = key.split()
        if len(parts) < 2 or parts[0] not in known:
            yield Finding(
                path,
                "not an OpenSSH public key",
                "paste a line like 'ssh-ed25519 AAAA... you@host' from ~/.ssh/id_ed25519.pub",
            )
            continue
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except (binascii.Error, ValueError):
            yield Finding(path, "the key body is not valid base64", "copy the whole .pub line again")
            continue
        length = int.from_bytes(blob[:4], "big") if len(blob) >= 4 else -1
        if blob[4 : 4 + length].decode("ascii", "replace") != parts[0]:
            yield Finding(
                path, f"the key body does not contain a {parts[0]} key", "copy the whole .pub line again"
            )


@check("node-overrides")
def node_overrides_known(config: HomelabConfig) -> Iterator[Finding]:
    """Node overrides name existing nodes and Proxmox hosts."""
    names = set(node_names(config.cluster))
    hosts = {h.name for h in config.proxmox.hosts}
    for name, override in config.cluster.node_overrides.items():
        if name not in names:
            yield Finding(
                ("cluster", "node_overrides", name),
                f"no node is called '{name}'",
                "nodes are named k3s-server-N and k3s-agent-N",
            )
        if override.host is not None and override.host not in hosts:
            yield Finding(
                ("cluster", "node_overrides", name, "host"),
                f"unknown Proxmox host '{override.host}'",
                "hosts: " + ", ".join(sorted(hosts)),
            )
