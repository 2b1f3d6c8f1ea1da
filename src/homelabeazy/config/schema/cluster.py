"""`cluster:` the K3s nodes, their sizes and addresses, SSH, etcd snapshots; `ansible:` collection pins."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from homelabeazy import toolchain
from homelabeazy.config.schema.fields import (
    Cron,
    IpRange,
    IPv4,
    K3sVersion,
    Label,
    Login,
    Section,
    pattern,
)
from homelabeazy.config.schema.proxmox import MAX_MEMORY_MB


class NodeSize(Section):
    """Size of one kind of K3s node VM."""

    count: int = Field(ge=0, le=1000)
    """How many VMs of this kind."""
    cores: int = Field(default=2, ge=1, le=128)
    """vCPUs per VM."""
    memory_mb: int = Field(default=4096, ge=512, le=MAX_MEMORY_MB)
    """Memory per VM in MiB."""
    disk_gb: int = Field(default=32, ge=8, le=65536)
    """Root disk per VM in GB."""


class NodeOverride(Section):
    """Per-node changes; only the named node's data changes."""

    cores: int | None = Field(default=None, ge=1, le=128)
    """vCPUs for this node."""
    memory_mb: int | None = Field(default=None, ge=512, le=MAX_MEMORY_MB)
    """Memory for this node in MiB."""
    disk_gb: int | None = Field(default=None, ge=8, le=65536)
    """Root disk for this node in GB."""
    host: Label | None = None
    """Pin this node to a Proxmox host instead of the automatic spread."""


class SshConfig(Section):
    """The admin account cloud-init creates on every node."""

    user: Login = "homelab"
    """Login user (not root: root login is disabled)."""
    public_keys: list[Annotated[str, Field(max_length=16384)]] = Field(min_length=1)
    """OpenSSH public keys allowed to log in (`ssh-ed25519 AAAA... comment`)."""


class EtcdSnapshots(Section):
    """K3s's scheduled snapshots of its embedded etcd: kept on every server and copied off the
    cluster to S3, so losing every server still leaves the cluster's state to restore."""

    schedule: Cron = "0 */6 * * *"
    """When each server takes a snapshot (cron, the servers' clock). Every 6 hours by default."""
    retention: int = Field(default=28, ge=1, le=1000)
    """Snapshots kept on each server: 28 at the default schedule is a week. Also how many of each
    server's snapshots S3 keeps, unless `s3_retention` says otherwise."""
    s3_retention: int | None = Field(default=None, ge=1, le=1000)
    """Snapshots of each server kept in S3, if not `retention` (K3s's `etcd-s3-retention`, which
    v1.31.12+k3s1, v1.32.8+k3s1, v1.33.4+k3s1 and 1.34 or later have; older releases keep as many in
    S3 as on the servers, so a different number needs one of those)."""
    s3: bool | None = None
    """Copy each snapshot to Velero's S3 target (`services.velero.target`: endpoint, region and
    keys). Unset: on when that is safe, i.e. Velero has a target and either its `prefix` is set or
    `bucket` below names another bucket (with no prefix Velero owns the bucket's root and marks a
    bucket holding other folders Unavailable). The keys are Vault's `velero/s3`, written by Ansible
    into a root-only file on the servers, never into the repository."""
    bucket: Label | None = None
    """Another bucket on the same endpoint for the snapshots (default: Velero's bucket)."""
    folder: Annotated[
        str,
        pattern(
            r"^[a-z0-9][a-z0-9._-]{0,62}$",
            "must be one folder name: lowercase letters, digits, '.', '_' and '-'",
        ),
    ] = "k3s-etcd"
    """Folder inside the bucket for the snapshots (one level: letters, digits, `.`, `_`, `-`)."""


class ClusterConfig(Section):
    """The HA K3s cluster on Proxmox VMs."""

    k3s_version: K3sVersion
    """K3s release, e.g. `v1.33.5+k3s1`."""
    vip: IPv4
    """Virtual IP of the Kubernetes API held by kube-vip; agents and kubectl use it."""
    node_ip_range: IpRange
    """Addresses for node VMs in the services VLAN. The first 5 are reserved for servers."""
    loadbalancer_range: IpRange
    """Addresses MetalLB hands to LoadBalancer services (Traefik gets the first)."""
    servers: NodeSize = Field(default_factory=lambda: NodeSize(count=3))
    """Control-plane nodes with embedded etcd: 1, 3 or 5."""
    agents: NodeSize = Field(default_factory=lambda: NodeSize(count=2, cores=4, memory_mb=8192, disk_gb=64))
    """Worker nodes."""
    node_overrides: dict[Label, NodeOverride] = Field(default_factory=dict)
    """Per-node overrides keyed by node name (`k3s-server-1`, `k3s-agent-2`, ...)."""
    ssh: SshConfig
    """Admin SSH access to the nodes."""
    airgap: bool = False
    """Install K3s from a local directory (binary + image tarball) instead of the release download."""
    kube_vip_version: Annotated[
        str, pattern(r"^v[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}$", "must be a kube-vip release like v1.0.1")
    ] = toolchain.KUBE_VIP_VERSION
    """kube-vip release (its image tag, `ghcr.io/kube-vip/kube-vip`) holding the API VIP; the
    default is the one homelabeazy is tested with."""

    etcd_snapshots: EtcdSnapshots = Field(default_factory=EtcdSnapshots)
    """Scheduled etcd snapshots and their copy to S3 (on by default; see `etcd_snapshots.s3`)."""


# --------------------------------------------------------------------------- ansible


def _known_collections(value: dict[str, str]) -> dict[str, str]:
    unknown = sorted(set(value) - set(toolchain.COLLECTION_PINS))
    if unknown:
        raise ValueError(
            f"{', '.join(unknown)}: not a collection the rendered playbooks use "
            f"(known: {', '.join(sorted(toolchain.COLLECTION_PINS))})"
        )
    return value


GalaxyVersion = Annotated[
    str,
    pattern(
        r"^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$", "must be an exact collection version like 11.4.2"
    ),
]


class AnsibleConfig(Section):
    """The Ansible collections the rendered playbooks install (`requirements.yml` files)."""

    collections: Annotated[dict[str, GalaxyVersion], AfterValidator(_known_collections)] = Field(
        default_factory=lambda: dict(toolchain.COLLECTION_PINS)
    )
    """Collection name -> exact version, e.g. `community.general: 11.4.2`. Each one named here
    replaces homelabeazy's tested pin in every `requirements.yml` that installs it
    (`ansible/`, `network/proxmox/`, `network/pfsense/`); those not named keep the tested pin."""
