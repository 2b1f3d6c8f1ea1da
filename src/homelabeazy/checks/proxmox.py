"""The Proxmox estate: hosts, VM sources, VM ids, capacity, spreading servers, TLS."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from ipaddress import IPv4Address

from homelabeazy.checks.base import Finding, check
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.placement import PROXMOX_RESERVE_MB, place_nodes


@check("proxmox-hosts-unique")
def proxmox_hosts_unique(config: HomelabConfig) -> Iterator[Finding]:
    """Proxmox host names and addresses are unique."""
    names: Counter[str] = Counter()
    addresses: Counter[IPv4Address] = Counter()
    for i, host in enumerate(config.proxmox.hosts):
        names[host.name] += 1
        addresses[host.address] += 1
        if names[host.name] == 2:
            yield Finding(("proxmox", "hosts", i, "name"), f"Proxmox host '{host.name}' is listed twice", "")
        if addresses[host.address] == 2:
            yield Finding(("proxmox", "hosts", i, "address"), f"address {host.address} is listed twice", "")


@check("vm-source")
def image_or_template(config: HomelabConfig) -> Iterator[Finding]:
    """Exactly one of proxmox.image and proxmox.template is set; a template lives on a known host."""
    px = config.proxmox
    if (px.image is None) == (px.template is None):
        yield Finding(
            ("proxmox",),
            "set exactly one of 'image' (download a cloud image) and 'template' (clone an existing template)",
            "the starter config uses image:",
        )
    if px.template is not None and px.template.node not in {h.name for h in px.hosts}:
        yield Finding(
            ("proxmox", "template", "node"),
            f"unknown Proxmox host '{px.template.node}'",
            "the template must be on one of proxmox.hosts",
        )


@check("vmid-range")
def vmids_valid(config: HomelabConfig) -> Iterator[Finding]:
    """Node VMIDs stay in Proxmox's range and do not collide with the template."""
    cluster = config.cluster
    start = config.proxmox.vmid_start
    last = start + 10 + max(cluster.agents.count - 1, 0)
    if last > 999_999_999:
        yield Finding(
            ("proxmox", "vmid_start"), f"VMIDs would reach {last}, past 999999999", "lower vmid_start"
        )
    template = config.proxmox.template
    if template is not None:
        taken = set(range(start, start + cluster.servers.count)) | set(
            range(start + 10, start + 10 + cluster.agents.count)
        )
        if template.vm_id in taken:
            yield Finding(
                ("proxmox", "template", "vm_id"),
                f"VMID {template.vm_id} is also a node's VMID",
                f"node VMIDs start at {start}; move vmid_start or the template",
            )


@check("host-capacity")
def hosts_have_capacity(config: HomelabConfig) -> Iterator[Finding]:
    """The VMs placed on each Proxmox host fit its memory; vCPU overcommit is limited."""
    placed = place_nodes(config.cluster, config.proxmox)
    for i, host in enumerate(config.proxmox.hosts):
        nodes = [n for n in placed if n.host == host.name]
        memory = sum(n.memory_mb for n in nodes)
        cores = sum(n.cores for n in nodes)
        path = ("proxmox", "hosts", i)
        if memory + PROXMOX_RESERVE_MB > host.memory_mb:
            yield Finding(
                (*path, "memory_mb"),
                f"{host.name} needs {memory} MiB for {len(nodes)} VMs plus "
                f"{PROXMOX_RESERVE_MB} MiB for Proxmox, but has {host.memory_mb}",
                "add a host, shrink the VMs, or pin some nodes elsewhere with node_overrides",
            )
        if cores > 2 * host.cpus:
            yield Finding(
                (*path, "cpus"),
                f"{host.name} would run {cores} vCPUs on {host.cpus} CPUs",
                "more than 2x overcommit starves etcd; add a host or shrink the VMs",
            )
        elif cores > host.cpus:
            yield Finding(
                (*path, "cpus"),
                f"{host.name} runs {cores} vCPUs on {host.cpus} CPUs (overcommitted)",
                "fine for a lab, but latency-sensitive etcd may suffer",
                "warning",
            )


@check("servers-spread")
def servers_spread(config: HomelabConfig) -> Iterator[Finding]:
    """With several Proxmox hosts, servers should not all land on one (one host failure kills etcd)."""
    if len(config.proxmox.hosts) < 2 or config.cluster.servers.count < 2:
        return
    placed = [n for n in place_nodes(config.cluster, config.proxmox) if n.role == "server"]
    hosts = {n.host for n in placed}
    if len(hosts) == 1:
        yield Finding(
            ("cluster", "node_overrides"),
            f"all {len(placed)} servers run on {hosts.pop()}",
            "losing that host loses etcd quorum; remove the host pins",
            "warning",
        )


@check("tls-verify")
def tls_verification(config: HomelabConfig) -> Iterator[Finding]:
    """Turning off TLS verification of the Proxmox API is allowed but flagged."""
    if not config.proxmox.verify_tls:
        yield Finding(
            ("proxmox", "verify_tls"),
            "TLS verification of the Proxmox API is off",
            "anyone on the path can read your API token; install a trusted certificate",
            "warning",
        )
