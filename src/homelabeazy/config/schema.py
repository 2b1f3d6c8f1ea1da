"""The one input: `homelab.yaml`, as pydantic models.

Every model forbids unknown keys (a typo must fail, not be ignored) and every field carries a
docstring: those docstrings become the JSON Schema descriptions editors show while typing.
Shape and format are checked here; rules that relate several fields live in `checks.py`.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from homelabeazy import toolchain

DNS_LABEL = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
DNS_NAME = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
K3S_VERSION = r"^v1\.(\d+)\.(\d+)\+k3s(\d+)$"
SENDER = r"^[A-Za-z0-9._~!#$%&'*/=?^{|}+-]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$"
"""A bare mailbox as Authelia's schema spells it. Its `Name <mailbox>` form is left out: the schema
offers the two forms as a `oneOf` with `format: email`, which a validator that does not check
formats strictly matches twice, so the deep validation would refuse it."""

Label = Annotated[str, StringConstraints(pattern=DNS_LABEL, max_length=63)]
"""A single DNS label: lowercase letters, digits and '-', not starting or ending with '-'."""

DnsName = Annotated[str, StringConstraints(pattern=DNS_NAME, max_length=253)]
Size = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*(Mi|Gi|Ti)$")]
Duration = Annotated[str, StringConstraints(pattern=r"^([0-9]+(h|m|s))+$")]
Cron = Annotated[str, StringConstraints(pattern=r"^(@(hourly|daily|weekly|monthly)|(\S+\s+){4}\S+)$")]
ChartVersion = Annotated[str, StringConstraints(pattern=r"^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$")]
"""An exact chart (or release) version, `1.2.3` or `v1.2.3`, with an optional `-pre`/`+build` part."""
HelmValues = dict[str, Any]
"""Helm values: a mapping, exactly as in a Helm values file."""


def _check_range(value: str) -> str:
    """Validate `A.B.C.D-E.F.G.H` (inclusive, start <= end) and normalise spacing."""
    parts = [p.strip() for p in value.split("-")]
    if len(parts) != 2:
        raise ValueError("expected an address range like 10.10.10.20-10.10.10.59")
    try:
        start, end = IPv4Address(parts[0]), IPv4Address(parts[1])
    except ValueError as exc:
        raise ValueError(f"not a valid IPv4 range: {exc}") from None
    if start > end:
        raise ValueError(f"range start {start} is after its end {end}")
    return f"{start}-{end}"


IpRange = Annotated[str, AfterValidator(_check_range)]
"""An inclusive IPv4 range written `first-last`, e.g. 10.10.10.200-10.10.10.239."""


def _check_host(value: str) -> str:
    if not re.match(DNS_NAME, value):
        raise ValueError("not a valid DNS name (lowercase letters, digits, '-' and '.')")
    return value


HostName = Annotated[str, AfterValidator(_check_host)]
"""A route host: a single label (prefixed to the domain) or a full name inside the domain."""


def _check_repo_path(value: str) -> str:
    """A folder inside the repository: the writer would otherwise carry files out of the tree."""
    segments = value.strip("/").split("/") if not value.startswith("/") else ["/"]
    if value.startswith("/") or any(seg in ("", ".", "..") for seg in segments):
        raise ValueError(
            "must be a relative folder inside the repository (no leading '/', no '.' or '..' parts)"
        )
    if segments[0] in (".git", ".homelab"):
        raise ValueError(f"{segments[0]}/ is reserved (Git's and homelabeazy's own state)")
    return value


RepoPath = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._/-]+$"), AfterValidator(_check_repo_path)]
"""A folder inside the generated repository (relative, without `..`)."""


def _no_url_credentials(where: str) -> AfterValidator:
    """Refuse `scheme://user:password@host`: the URL is copied into committed files."""

    def check(value: str) -> str:
        authority = value.split("://", 1)[1].split("/", 1)[0] if "://" in value else ""
        userinfo = authority.rpartition("@")[0]
        if ":" in userinfo or (userinfo and value.startswith(("http://", "https://"))):
            raise ValueError(
                "must not hold credentials (user:password@ or token@): this URL is written into committed "
                f"files; {where}"
            )
        return value

    return AfterValidator(check)


class Section(BaseModel):
    """Base for every config section: unknown keys are errors, values are immutable."""

    # The field docstrings reach the JSON Schema through config.starter, read only when asked for.
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- proxmox

MAX_MEMORY_MB = 64 * 1024 * 1024
"""64 TiB: above any machine Proxmox runs on; bounds the arithmetic of memory placement."""


class ProxmoxHost(Section):
    """One Proxmox VE node that can run VMs."""

    name: Label
    """The Proxmox node name exactly as Proxmox shows it (e.g. `pve1`); VMs are placed on it by this name."""
    address: IPv4Address
    """Management address of the node (usually in the management VLAN)."""
    cpus: int = Field(ge=1, le=1024)
    """Logical CPUs the node has; VM vCPUs placed on it must not exceed this."""
    memory_mb: int = Field(ge=1024, le=MAX_MEMORY_MB)
    """Memory of the node in MiB; VM memory placed on it (plus a 2 GiB reserve for Proxmox) must fit."""


class VmImage(Section):
    """A cloud image the provider downloads onto each Proxmox host (no hand-made template needed)."""

    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
    """Where to download the cloud image (qcow2/img), e.g. Debian 12 genericcloud."""
    checksum: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32,128}$")] | None = None
    """Hex checksum of the image; strongly recommended so a tampered or truncated download fails."""
    checksum_algorithm: Literal["md5", "sha1", "sha224", "sha256", "sha384", "sha512"] = "sha256"
    """Algorithm of `checksum`."""
    file_name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]+\.(img|qcow2|raw)$")] | None = None
    """File name on the datastore; defaults to the last part of the URL."""
    datastore: Label = "local"
    """Datastore that holds the downloaded image (must allow the `import` content type)."""


class VmTemplate(Section):
    """An existing Proxmox template to clone instead of downloading an image."""

    vm_id: int = Field(ge=100, le=999_999_999)
    """VMID of the template."""
    node: Label
    """Proxmox node that holds the template."""
    full_clone: bool = True
    """Full clones are independent of the template; linked clones save space but pin it."""


class ProxmoxConfig(Section):
    """How to reach Proxmox and where VMs go."""

    endpoint: Annotated[str, StringConstraints(pattern=r"^https://[^\s/]+(:\d+)?/?$")]
    """API endpoint, e.g. `https://10.10.30.2:8006/`."""
    token_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+![A-Za-z0-9._-]+$")]
    """API token id `user@realm!name`. The secret part is never in this file."""
    token_secret_env: Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]*$")] = (
        "PROXMOX_VE_API_TOKEN"  # noqa: S105 - the variable's name, not a secret
    )
    """Name of the environment variable holding the full token `user@realm!name=secret`."""
    verify_tls: bool = True
    """Verify the API's TLS certificate. Turn off only for a self-signed lab certificate."""
    hosts: list[ProxmoxHost] = Field(min_length=1)
    """The Proxmox nodes VMs may be placed on."""
    datastore: Label = "local-lvm"
    """Datastore for VM disks and cloud-init drives."""
    bridge: Annotated[str, StringConstraints(pattern=r"^vmbr[0-9]{1,4}$")] = "vmbr0"
    """VLAN-aware Linux bridge the VMs attach to (the VLAN tag is set per VM)."""
    image: VmImage | None = None
    """Cloud image to download (default). Exactly one of `image` and `template`."""
    template: VmTemplate | None = None
    """Template to clone instead of `image`."""
    vmid_start: int = Field(default=200, ge=100, le=999_999_000)
    """First VMID used for cluster nodes; servers take start..start+9, agents start+10 onwards."""
    cpu_type: str = "x86-64-v2-AES"
    """QEMU CPU type of every VM (`host` for best speed when all nodes have the same CPU)."""
    state_backend: S3State | None = None
    """Optional S3-compatible remote state for Terraform (credentials come from the environment)."""
    provider_version: ChartVersion = toolchain.BPG_PROVIDER_VERSION
    """Version of the bpg/proxmox Terraform provider, pinned exactly in `terraform/versions.tf`.
    The default is the release homelabeazy is tested with; a newer one can change VM plans, so
    bump it in a reviewed change (Renovate finds this line)."""


class S3State(Section):
    """Terraform state in an S3-compatible bucket (MinIO, Garage, AWS)."""

    bucket: Label
    """Bucket name."""
    key: str = "homelab/terraform.tfstate"
    """Object key of the state file."""
    region: str = "us-east-1"
    """Region (any value for MinIO)."""
    endpoint: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
    """S3 endpoint URL."""


# --------------------------------------------------------------------------- network

Purpose = Literal["services", "guests", "management"]


class Vlan(Section):
    """One VLAN: a zone of the network."""

    name: Label
    """Zone name used in firewall rules (e.g. `services`)."""
    id: int = Field(ge=1, le=4094)
    """802.1Q VLAN id (1-4094)."""
    cidr: IPv4Network
    """Subnet of the VLAN, e.g. 10.10.10.0/24 (no host bits set)."""
    gateway: IPv4Address
    """Router address inside the subnet (pfSense interface address)."""
    purpose: Purpose
    """What lives here: `services` (the cluster), `guests` (isolated), `management` (Proxmox, admins)."""


PortSpec = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,5}(-[0-9]{1,5})?$")]


class FirewallRule(Section):
    """One ordered rule between zones; the first matching rule decides, default is deny."""

    from_zone: Label = Field(alias="from")
    """Source zone: a VLAN name, `internet`, or `any`."""
    to_zone: Label = Field(alias="to")
    """Destination zone: a VLAN name, `internet`, or `any`."""
    protocol: Literal["tcp", "udp", "icmp", "any"] = "any"
    """IP protocol the rule matches."""
    ports: list[PortSpec | int] = Field(default_factory=list)
    """Destination ports or ranges (`443`, `8000-8100`); empty means all. Only with tcp/udp."""
    action: Literal["allow", "deny"]
    """What happens to matching traffic."""
    description: str = ""
    """Why the rule exists (shown by `homelab net check` and in pfSense)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FirewallConfig(Section):
    """Inter-VLAN policy. Rules are evaluated in order; unmatched traffic is denied."""

    defaults: bool = True
    """Append the default policy after your rules: management reaches all; services and guests reach
    only the internet and DNS; nothing else reaches management."""
    rules: list[FirewallRule] = Field(default_factory=list)
    """Your rules, evaluated before the defaults."""


class PfsenseConfig(Section):
    """How Ansible reaches pfSense to apply the VLANs and the firewall policy (`network/pfsense/`)."""

    address: IPv4Address
    """An address pfSense answers SSH on *before* the playbook runs, e.g. its LAN address
    `192.168.1.1`. Not a VLAN gateway from `network.vlans` unless that interface already exists:
    the playbook creates those interfaces."""
    ssh_user: Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")] = "admin"
    """SSH user; pfsensible.core must run as root, which on pfSense `admin` is."""
    trunk_interface: Annotated[str, StringConstraints(pattern=r"^[a-z]+[0-9]+$")] = "igb1"
    """The physical pfSense port carrying the tagged VLANs (e.g. `igb1`, `vtnet1`)."""
    dns_overrides: bool = True
    """Set every homelab name as a DNS resolver host override. pfsensible's module rewrites the whole
    resolver configuration (overrides added by hand are removed, unset options reset), so set
    `false` if you tuned pfSense's resolver yourself and add `network/dns/` records by hand."""


class NetworkConfig(Section):
    """VLANs, DNS and the firewall policy."""

    vlans: list[Vlan] = Field(min_length=1)
    """The VLANs; exactly one must have purpose `services` (the cluster lives there)."""
    dns_servers: list[IPv4Address] = Field(min_length=1)
    """DNS resolvers handed to the VMs through cloud-init."""
    firewall: FirewallConfig = Field(default_factory=FirewallConfig)
    """Inter-VLAN firewall policy."""
    pfsense: PfsenseConfig | None = None
    """Where Ansible reaches pfSense. Without it the pfSense playbook is rendered with no inventory."""


# --------------------------------------------------------------------------- cluster


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

    user: Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")] = "homelab"
    """Login user (not root: root login is disabled)."""
    public_keys: list[str] = Field(min_length=1)
    """OpenSSH public keys allowed to log in (`ssh-ed25519 AAAA... comment`)."""


class EtcdSnapshots(Section):
    """K3s's scheduled snapshots of its embedded etcd: kept on every server and copied off the
    cluster to S3, so losing every server still leaves the cluster's state to restore."""

    schedule: Cron = "0 */6 * * *"
    """When each server takes a snapshot (cron, the servers' clock). Every 6 hours by default."""
    retention: int = Field(default=28, ge=1, le=1000)
    """Snapshots kept on each server, and in S3: 28 at the default schedule is a week."""
    s3: bool | None = None
    """Copy each snapshot to Velero's S3 target (`services.velero.target`: endpoint, region and
    keys). Unset: on when that is safe, i.e. Velero has a target and either its `prefix` is set or
    `bucket` below names another bucket (with no prefix Velero owns the bucket's root and marks a
    bucket holding other folders Unavailable). The keys are Vault's `velero/s3`, written by Ansible
    into a root-only file on the servers, never into the repository."""
    bucket: Label | None = None
    """Another bucket on the same endpoint for the snapshots (default: Velero's bucket)."""
    folder: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")] = "k3s-etcd"
    """Folder inside the bucket for the snapshots (one level: letters, digits, `.`, `_`, `-`)."""


class ClusterConfig(Section):
    """The HA K3s cluster on Proxmox VMs."""

    k3s_version: Annotated[str, StringConstraints(pattern=K3S_VERSION)]
    """K3s release, e.g. `v1.33.5+k3s1`."""
    vip: IPv4Address
    """Virtual IP of the Kubernetes API held by kube-vip; agents and kubectl use it."""
    node_ip_range: IpRange
    """Addresses for node VMs in the services VLAN. The first 5 are reserved for servers."""
    loadbalancer_range: IpRange
    """Addresses MetalLB hands to LoadBalancer services (Traefik gets the first)."""
    servers: NodeSize = Field(default_factory=lambda: NodeSize(count=3))
    """Control-plane nodes with embedded etcd: 1, 3 or 5."""
    agents: NodeSize = Field(default_factory=lambda: NodeSize(count=2, cores=4, memory_mb=8192, disk_gb=64))
    """Worker nodes."""
    node_overrides: dict[str, NodeOverride] = Field(default_factory=dict)
    """Per-node overrides keyed by node name (`k3s-server-1`, `k3s-agent-2`, ...)."""
    ssh: SshConfig
    """Admin SSH access to the nodes."""
    airgap: bool = False
    """Install K3s from a local directory (binary + image tarball) instead of the release download."""
    kube_vip_version: Annotated[str, StringConstraints(pattern=r"^v[0-9]+\.[0-9]+\.[0-9]+$")] = (
        toolchain.KUBE_VIP_VERSION
    )
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


GalaxyVersion = Annotated[str, StringConstraints(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$")]


class AnsibleConfig(Section):
    """The Ansible collections the rendered playbooks install (`requirements.yml` files)."""

    collections: Annotated[dict[str, GalaxyVersion], AfterValidator(_known_collections)] = Field(
        default_factory=lambda: dict(toolchain.COLLECTION_PINS)
    )
    """Collection name -> exact version, e.g. `community.general: 11.4.2`. Each one named here
    replaces homelabeazy's tested pin in every `requirements.yml` that installs it
    (`ansible/`, `network/proxmox/`, `network/pfsense/`); those not named keep the tested pin."""


# --------------------------------------------------------------------------- gitops


class GitopsConfig(Section):
    """Where ArgoCD reads this repository from."""

    repo_url: Annotated[
        str,
        StringConstraints(pattern=r"^(https://\S+|ssh://\S+|git@[^\s:]+:\S+)$"),
        _no_url_credentials(
            "for a private repository set `private: true`; the token goes in the environment variable "
            "named by `token_env`, an SSH deploy key is created by `homelab up`"
        ),
    ]
    """Git URL of the repository `homelab render` writes into."""
    revision: str = "main"
    """Branch, tag or commit ArgoCD follows."""
    path: RepoPath = "kubernetes"
    """Folder in the repository holding the Kubernetes tree."""
    private: bool = False
    """The repository needs credentials to be read (most homelab repositories do: they hold
    addresses and topology). `homelab up` then gives ArgoCD read-only credentials of its own and
    checks them before bootstrap. For an `ssh://` or `git@host:path` URL it creates an ed25519
    deploy key once (the private half stays in the 0600 state folder outside the repository, then
    in Vault; the public half is printed, to be added as a read-only deploy key); for an
    `https://` URL it uses the access token in the environment variable `token_env`. Neither is
    ever written into the repository. Leave false for a public repository: no credentials."""
    token_env: Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]*$")] = "HOMELAB_GIT_TOKEN"  # noqa: S105 - the variable's name, not a secret
    """`https://` private repositories only: the environment variable holding a read-only access
    token (a GitHub fine-grained token with Contents: read, a GitLab deploy token, ...)."""
    token_username: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._@+-]{1,100}$")] = "git"  # noqa: S105 - a user name, not a secret
    """`https://` private repositories only: the user name sent with the token (a GitLab deploy
    token has its own; GitHub and Gitea accept any non-empty name)."""


# --------------------------------------------------------------------------- services

Access = Literal["public", "one_factor", "two_factor", "group"]


class ServiceBase(Section):
    """Common to every core service: on/off, and its chart's version and values.

    Every core service is one Helm chart (its catalog module, `model/catalog/<service>.py`, names
    it and pins the tested version).
    """

    enabled: bool = True
    """Deploy this service."""
    version: ChartVersion | None = None
    """Version of the service's Helm chart. Omitted: the version homelabeazy is tested with
    (`homelab init` writes it out, so Renovate can propose updates as pull requests). The
    chart's ArgoCD Application and `validate --deep` use this version."""
    values: HelmValues = Field(default_factory=dict)
    """Helm values deep-merged OVER the values homelabeazy renders for this chart
    (`<gitops.path>/values/<service>.yaml` shows the result): ours are the base, a mapping here
    merges key by key into ours, any other value (a list, a scalar, `null`) replaces ours at
    that key. Values the homelab itself depends on (listeners, ports, names its routes, network
    policies and health checks rely on, or a setting that has its own key under this service)
    cannot be overridden: `homelab validate` names the key, what depends on it, and what to do."""


class ArgocdConfig(ServiceBase):
    """ArgoCD, which then manages itself and everything else."""

    host: HostName = "argocd"
    """Web UI host."""


class TraefikConfig(ServiceBase):
    """Traefik, the ingress in front of everything."""

    dashboard_host: HostName = "traefik"
    """Dashboard host (always behind SSO)."""
    replicas: int = Field(default=2, ge=1, le=10)
    """Traefik pods."""
    loadbalancer_ip: IPv4Address | None = None
    """Fixed LoadBalancer IP; defaults to the first address of the LoadBalancer range."""


class SmtpTls(Section):
    """How Authelia checks the mail server's TLS certificate."""

    server_name: DnsName | None = None
    """Name to check the certificate against; defaults to `host`."""
    skip_verify: bool = False
    """Accept any certificate. Only for a lab server with a self-signed certificate."""
    minimum_version: Literal["TLS1.2", "TLS1.3"] = "TLS1.2"
    """Oldest TLS version accepted."""


class AutheliaSmtp(Section):
    """The mail server Authelia sends one-time codes through (2FA registration, password reset).

    The password is never in this file: it is an external secret you write once to Vault at
    `<kv_mount>/authelia/smtp`, key `password` (`homelab secrets seed` prints the command), and
    External Secrets syncs it into the cluster.
    """

    host: DnsName
    """Mail server name or IPv4 address, e.g. `smtp.fastmail.com`."""
    port: int | None = Field(default=None, ge=1, le=65535)
    """Server port; defaults to 587 with `security: starttls`, 465 with `security: tls`."""
    security: Literal["starttls", "tls"] = "starttls"
    """`starttls`: plain connection upgraded with STARTTLS (submission, port 587); `tls`: TLS from
    the first byte (submissions, port 465). Authelia refuses to send without TLS either way."""
    sender: Annotated[str, StringConstraints(pattern=SENDER)]
    """From address, e.g. `auth@example.com`."""
    username: str | None = Field(default=None, min_length=1)
    """Login of the SMTP account; omit for a relay that needs none (then no password is read)."""
    tls: SmtpTls = Field(default_factory=SmtpTls)
    """Certificate checks."""


class AutheliaConfig(ServiceBase):
    """Authelia SSO and 2FA, backed by OpenLDAP."""

    host: HostName = "auth"
    """Login portal host."""
    default_policy: Literal["one_factor", "two_factor"] = "two_factor"
    """Policy for protected routes that do not say otherwise."""
    session_expiration: Duration = "1h"
    """Session lifetime."""
    session_inactivity: Duration = "5m"
    """Idle time after which a session ends."""
    smtp: AutheliaSmtp | None = None
    """Send 2FA registration and password reset codes by e-mail. Default (omitted): the filesystem
    notifier, which writes them to `/config/notification.txt` inside the Authelia pod, where only
    an admin with kubectl can read them (`homelab validate` warns about that)."""


class LdapExports(Section):
    """Scheduled LDIF exports of the directory into Velero's bucket, beside Velero's own folder
    (`homelab-dr/ldap-ldif/` at the bucket's root)."""

    enabled: bool | None = None
    """Take them. Unset: on when that is safe, i.e. Velero has a target whose `prefix` is set (with
    no prefix Velero owns the bucket's root and marks a bucket holding other folders Unavailable)."""
    schedule: Cron = "30 */6 * * *"
    """Cron expression (UTC)."""
    keep: int = Field(default=28, ge=1, le=10000)
    """How many exports to keep; older ones are deleted after each new one."""


class OpenldapConfig(ServiceBase):
    """OpenLDAP, the user directory."""

    storage: Size = "1Gi"
    """Volume size for the directory database."""
    exports: LdapExports = Field(default_factory=LdapExports)
    """Scheduled LDIF exports to S3, password hashes included (`homelab users import --latest`
    restores the newest)."""
    organisation: str = "Homelab"
    """Organisation name of the base entry."""


def _check_age_recipient(value: str) -> str:
    """An age X25519 public key; a pasted private key is refused without being echoed."""
    if value.upper().startswith("AGE-SECRET-KEY-"):
        raise ValueError(
            "is an age identity (a private key), not a recipient: never put it in homelab.yaml; "
            "write its public key instead (`age-keygen -y KEYFILE` prints it)"
        )
    import pyrage  # noqa: PLC0415 - a native extension, loaded only when a recipient is given

    try:
        pyrage.x25519.Recipient.from_str(value)
    except pyrage.RecipientError as exc:
        raise ValueError(
            f"{value!r} is not an age X25519 public key ({exc}): it looks like age1 followed by 58 "
            "characters; `age-keygen -y KEYFILE` prints yours"
        ) from None
    return value


AgeRecipient = Annotated[str, AfterValidator(_check_age_recipient)]


class VaultSnapshots(Section):
    """Scheduled raft snapshots of Vault into Velero's bucket, beside Velero's own folder
    (`homelab-dr/vault-raft/` at the bucket's root)."""

    enabled: bool | None = None
    """Take them. Unset: on when that is safe, i.e. Velero has a target whose `prefix` is set (with
    no prefix Velero owns the bucket's root and marks a bucket holding other folders Unavailable)."""
    schedule: Cron = "15 */6 * * *"
    """Cron expression (UTC)."""
    keep: int = Field(default=28, ge=1, le=10000)
    """How many snapshots to keep; older ones are deleted after each new one."""


class VaultConfig(ServiceBase):
    """Vault (HA raft) for every secret."""

    host: HostName = "vault"
    """UI host."""
    replicas: int = Field(default=3, ge=1, le=7)
    """Raft members (1, 3 or 5 recommended)."""
    storage: Size = "10Gi"
    """Raft volume size per member."""
    kv_mount: Label = "homelab"
    """KV v2 mount holding the homelab's secrets."""
    key_shares: int = Field(default=5, ge=1, le=10)
    """Shamir unseal key shares."""
    key_threshold: int = Field(default=3, ge=1, le=10)
    """Shares needed to unseal."""
    snapshots: VaultSnapshots = Field(default_factory=VaultSnapshots)
    """Scheduled raft snapshots to S3 (`homelab secrets restore --latest` restores the newest)."""
    age_recipients: list[AgeRecipient] = Field(default_factory=list)
    """age public keys (age1…) `homelab secrets backup` encrypts the bootstrap file (unseal keys,
    root token) to; keep the matching identities off this machine (a password manager)."""


class BackupTarget(Section):
    """S3-compatible object storage for Velero backups."""

    provider: Literal["aws"] = "aws"
    """Velero object store plugin (`aws` serves every S3-compatible store)."""
    bucket: Label
    """Bucket name."""
    prefix: str = ""
    """Folder inside the bucket for Velero's store. Set it (e.g. `velero`): Velero marks a store
    holding folders not its own Unavailable, so the disaster-recovery backups (`homelab-dr/`) and
    etcd snapshots go beside it, at the bucket's root, and only when the root is not Velero's."""
    region: str = "us-east-1"
    """Region (any value for MinIO)."""
    s3_url: (
        Annotated[
            str,
            StringConstraints(pattern=r"^https?://\S+$"),
            _no_url_credentials(
                "the bucket's keys are a Vault secret (`velero/s3`: access_key_id, secret_access_key), "
                "seeded with `homelab secrets`"
            ),
        ]
        | None
    ) = None
    """Endpoint of a non-AWS store (MinIO, Garage, Ceph RGW)."""


class BackupSchedule(Section):
    """A recurring Velero backup."""

    name: Label
    """Schedule name."""
    cron: Cron
    """Cron expression (UTC)."""
    ttl: Duration = "720h"
    """How long each backup is kept."""
    include_namespaces: list[Label | Literal["*"]] = Field(default_factory=lambda: ["*"])
    """Namespaces to back up (`*` for all)."""


class VeleroConfig(ServiceBase):
    """Velero backups of cluster resources and volumes."""

    target: BackupTarget | None = None
    """Where backups go; required when Velero is enabled."""
    schedules: list[BackupSchedule] = Field(
        default_factory=lambda: [BackupSchedule(name="daily", cron="0 3 * * *", ttl="720h")]
    )
    """Backup schedules."""
    volume_backup: bool = True
    """Back up volume contents with file-system backup (node agent)."""


class EfkConfig(ServiceBase):
    """Elasticsearch, Fluentd and Kibana for logs."""

    host: HostName = "kibana"
    """Kibana host."""
    storage: Size = "30Gi"
    """Elasticsearch volume size per node."""
    retention_days: int = Field(default=14, ge=1, le=3650)
    """Days logs are kept before the index lifecycle deletes them."""
    elasticsearch_nodes: int = Field(default=1, ge=1, le=9)
    """Elasticsearch nodes."""


class ConsulConfig(ServiceBase):
    """Consul for service discovery and DNS."""

    host: HostName = "consul"
    """UI host."""
    replicas: int = Field(default=3, ge=1, le=7)
    """Consul servers (odd)."""
    sync_catalog: bool = True
    """Register every Kubernetes service in Consul."""


class AcmeConfig(Section):
    """Let's Encrypt through a DNS-01 challenge."""

    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    """Account e-mail."""
    server: Annotated[str, StringConstraints(pattern=r"^https://\S+$")] = (
        "https://acme-v02.api.letsencrypt.org/directory"
    )
    """ACME directory URL."""
    dns_provider: Literal["cloudflare", "route53"] = "cloudflare"
    """DNS provider solving the challenge (its API token comes from Vault)."""


class CertManagerConfig(ServiceBase):
    """cert-manager issuing every route's certificate."""

    issuer: Literal["internal_ca", "acme"] = "internal_ca"
    """`internal_ca`: a self-signed CA inside the cluster; `acme`: Let's Encrypt via DNS-01."""
    acme: AcmeConfig | None = None
    """ACME settings; required when `issuer: acme`."""


class MetallbConfig(ServiceBase):
    """MetalLB announcing LoadBalancer IPs on the services VLAN (L2)."""


class ExternalSecretsConfig(ServiceBase):
    """External Secrets Operator syncing Vault secrets into Kubernetes."""


class LonghornConfig(ServiceBase):
    """Longhorn replicated storage (instead of K3s local-path)."""

    enabled: bool = False
    """Deploy Longhorn and make it the default StorageClass."""
    host: HostName = "longhorn"
    """UI host (behind SSO)."""
    replicas: int = Field(default=2, ge=1, le=5)
    """Replicas per volume."""


class DnsGatewayConfig(ServiceBase):
    """k8s-gateway: answers the homelab's route names in the cluster; pfSense forwards the domain to it."""

    enabled: bool = False
    """Deploy it. Then pfSense keeps host overrides only for the API and the nodes and forwards the
    rest of the domain here, so a new app resolves once ArgoCD syncs, with no pfSense run."""
    loadbalancer_ip: IPv4Address | None = None
    """Its LoadBalancer IP (DNS on port 53); defaults to the first address of the LoadBalancer range
    Traefik does not use."""


class ExternalDnsConfig(ServiceBase):
    """external-dns: publishes the `public: true` routes in a Cloudflare-hosted zone.

    The zone is `domain`, created at Cloudflare by hand; the API token (Zone:Read and DNS:Edit on
    that zone only) is an external secret written to Vault at `external-dns/cloudflare`
    (`api_token`). Each public route becomes a proxied CNAME to the Cloudflare tunnel.
    """

    enabled: bool = False
    """Deploy it (needs `services.cloudflare_tunnel`: nothing in the LAN is published directly)."""


class CloudflareTunnelConfig(ServiceBase):
    """cloudflared: an outbound tunnel from the cluster to Cloudflare's edge, into Traefik.

    A remotely-managed tunnel created by hand in the Cloudflare dashboard; its token is an external
    secret written to Vault at `cloudflare-tunnel/token` (`tunnel_token`). Public requests go
    through Traefik, so Authelia still guards every protected route.
    """

    enabled: bool = False
    """Deploy it."""
    tunnel_id: (
        Annotated[
            str, StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        ]
        | None
    ) = None
    """The tunnel's UUID from the dashboard; public names become CNAMEs to `<tunnel_id>.cfargotunnel.com`.
    Required when enabled."""


class NtfyNotify(Section):
    """Push alerts to a ntfy topic (ntfy 2.10 or newer: it turns Alertmanager's JSON into a message)."""

    server: Annotated[str, StringConstraints(pattern=r"^https?://[^/\s?#]+$")] = "https://ntfy.sh"
    """ntfy server, scheme and host only."""
    topic: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    """Topic to publish to (on ntfy.sh, anyone knowing it can read it: pick a long one or use a token)."""
    token: bool = False
    """Send an access token, kept in Vault at `<kv_mount>/monitoring/notify`, key `ntfy_token`."""


class EmailNotify(Section):
    """Send alerts by e-mail through an SMTP server (STARTTLS required)."""

    to: Annotated[str, StringConstraints(pattern=SENDER)]
    """Recipient mailbox."""
    sender: Annotated[str, StringConstraints(pattern=SENDER)]
    """From address."""
    host: DnsName
    """SMTP server name."""
    port: int = Field(default=587, ge=1, le=65535)
    """SMTP submission port."""
    username: str | None = Field(default=None, min_length=1)
    """SMTP login; its password is in Vault at `<kv_mount>/monitoring/notify`, key `smtp_password`."""


class WebhookNotify(Section):
    """POST Alertmanager's JSON to a URL of your own."""

    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s?#]+$")]
    """Endpoint (no query: anything secret goes in the token)."""
    token: bool = False
    """Send `Authorization: Bearer <token>`, the token kept in Vault at `<kv_mount>/monitoring/notify`,
    key `webhook_token`."""


class NotifyConfig(Section):
    """Where Alertmanager sends alerts; every receiver set here gets every alert."""

    ntfy: NtfyNotify | None = None
    """Push notifications through ntfy."""
    email: EmailNotify | None = None
    """E-mail."""
    webhook: WebhookNotify | None = None
    """A webhook."""


class MonitoringConfig(ServiceBase):
    """Prometheus, Alertmanager and Grafana (kube-prometheus-stack) with this homelab's alert rules."""

    enabled: bool = False
    """Deploy it. Off by default for now: its chart renders and converges with its published
    subcharts, but this project's CI cannot render them yet (README, "Monitoring")."""

    host: HostName = "grafana"
    """Grafana host (behind SSO, admins only)."""
    retention_days: int = Field(default=15, ge=1, le=3650)
    """Days Prometheus keeps samples."""
    storage: Size = "20Gi"
    """Prometheus volume; Prometheus also deletes the oldest data once it fills 90 % of it."""
    alertmanager_storage: Size = "1Gi"
    """Alertmanager volume (silences and notification log)."""
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    """Alert receivers; with none set, alerts are only shown in Alertmanager, Grafana and `homelab status`."""


class ServicesConfig(Section):
    """The core services; each can be turned off."""

    argocd: ArgocdConfig = Field(default_factory=ArgocdConfig)
    """ArgoCD."""
    metallb: MetallbConfig = Field(default_factory=MetallbConfig)
    """MetalLB."""
    cert_manager: CertManagerConfig = Field(default_factory=CertManagerConfig)
    """cert-manager."""
    traefik: TraefikConfig = Field(default_factory=TraefikConfig)
    """Traefik."""
    openldap: OpenldapConfig = Field(default_factory=OpenldapConfig)
    """OpenLDAP."""
    vault: VaultConfig = Field(default_factory=VaultConfig)
    """Vault."""
    external_secrets: ExternalSecretsConfig = Field(default_factory=ExternalSecretsConfig)
    """External Secrets Operator."""
    authelia: AutheliaConfig = Field(default_factory=AutheliaConfig)
    """Authelia."""
    consul: ConsulConfig = Field(default_factory=ConsulConfig)
    """Consul."""
    velero: VeleroConfig = Field(default_factory=VeleroConfig)
    """Velero."""
    efk: EfkConfig = Field(default_factory=EfkConfig)
    """EFK logging."""
    longhorn: LonghornConfig = Field(default_factory=LonghornConfig)
    """Longhorn."""
    dns_gateway: DnsGatewayConfig = Field(default_factory=DnsGatewayConfig)
    """k8s-gateway, the in-cluster DNS for the homelab domain."""
    external_dns: ExternalDnsConfig = Field(default_factory=ExternalDnsConfig)
    """external-dns for the public routes (Cloudflare)."""
    cloudflare_tunnel: CloudflareTunnelConfig = Field(default_factory=CloudflareTunnelConfig)
    """A Cloudflare tunnel into Traefik for the public routes."""
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    """Monitoring and alerting."""


# --------------------------------------------------------------------------- apps


class HelmSource(Section):
    """A Helm chart from a chart repository."""

    repo: Annotated[str, StringConstraints(pattern=r"^(https://|oci://)\S+$")]
    """Chart repository URL (https:// or oci://)."""
    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$")]
    """Chart name."""
    version: Annotated[str, StringConstraints(pattern=r"^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$")]
    """Exact chart version (pinned: ranges make renders non-reproducible)."""
    values: dict[str, object] = Field(default_factory=dict)
    """Values passed to the chart, exactly as in a Helm values file; written to
    `<gitops.path>/values/<app>.yaml` and given to the app's ArgoCD Application as its value file.
    For a few well-known charts the homelab adds what they need behind its routes (Homepage:
    `HOMEPAGE_ALLOWED_HOSTS` = the app's host) unless these values already set it."""


class ManifestSource(Section):
    """Plain manifests kept in your Git repository."""

    path: RepoPath
    """Folder in the GitOps repository holding the manifests."""


class AppConfig(Section):
    """One of your own applications."""

    name: Label
    """App name; also the default namespace and Service name."""
    namespace: Label | None = None
    """Namespace; defaults to the app name."""
    chart: HelmSource | None = None
    """Deploy from a Helm chart. Exactly one of `chart` and `manifests`."""
    manifests: ManifestSource | None = None
    """Deploy from manifests in Git."""
    host: HostName | None = None
    """Public host; omit for an app with no route."""
    service: Label | None = None
    """Kubernetes Service the route points at; defaults to the app name."""
    port: int = Field(default=80, ge=1, le=65535)
    """Service port."""
    access: Access = "two_factor"
    """Who may reach the route: `public`, `one_factor`, `two_factor`, or `group` (needs `groups`)."""
    groups: list[Label] = Field(default_factory=list)
    """Groups allowed when `access: group`."""
    public: bool = False
    """Publish the route on the internet: a DNS record at Cloudflare and the Cloudflare tunnel into
    Traefik (needs `services.external_dns` and `services.cloudflare_tunnel`). Authelia still guards it."""
    public_without_sso: bool = False
    """Say yes to publishing a route with `access: public` (no login at all); refused otherwise."""


# --------------------------------------------------------------------------- identity


class GroupConfig(Section):
    """An LDAP group (groupOfNames under ou=groups)."""

    name: Label
    """Group name (cn)."""
    description: str = ""
    """What members may do."""


class UserConfig(Section):
    """An LDAP user; the initial password is generated and kept in Vault."""

    username: Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_.-]{0,31}$")]
    """Login name (uid)."""
    display_name: str = Field(min_length=1)
    """Full name (cn)."""
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    """E-mail address (needed by Authelia for 2FA registration)."""
    groups: list[Label] = Field(default_factory=list)
    """Groups the user belongs to."""


# --------------------------------------------------------------------------- unmanaged inventory


class UnmanagedGuest(Section):
    """A Proxmox guest this homelab does not manage, recorded by `homelab import --record`.

    Kept so status, docs and the network check know the address is taken and by what.
    """

    name: str = Field(min_length=1, max_length=128)
    """The guest's name in Proxmox (QEMU name or LXC hostname)."""
    vmid: int = Field(ge=100, le=999_999_999)
    """Its Proxmox VMID."""
    node: Label
    """The Proxmox node it runs on."""
    kind: Literal["qemu", "lxc"]
    """`qemu` for a VM, `lxc` for a container."""
    ip: IPv4Address | None = None
    """Its first static IPv4 address from cloud-init or the container config, if it has one."""


# --------------------------------------------------------------------------- root


class HomelabConfig(Section):
    """homelab.yaml: everything that describes one homelab."""

    name: Label
    """Short name of this homelab (used in tags, Terraform and ArgoCD project names)."""
    domain: DnsName
    """DNS domain every route lives under, e.g. `home.example.com`."""
    timezone: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$")] = "UTC"
    """IANA time zone of the nodes, e.g. `Europe/Berlin`."""
    proxmox: ProxmoxConfig
    """Proxmox API and hosts."""
    network: NetworkConfig
    """VLANs, DNS, firewall."""
    cluster: ClusterConfig
    """K3s cluster."""
    gitops: GitopsConfig
    """GitOps repository."""
    ansible: AnsibleConfig = Field(default_factory=AnsibleConfig)
    """Ansible collection pins."""
    services: ServicesConfig = Field(default_factory=ServicesConfig)
    """Core services."""
    apps: list[AppConfig] = Field(default_factory=list)
    """Your applications."""
    groups: list[GroupConfig] = Field(default_factory=list)
    """LDAP groups."""
    users: list[UserConfig] = Field(default_factory=list)
    """LDAP users."""
    unmanaged: list[UnmanagedGuest] = Field(default_factory=list)
    """Existing Proxmox guests outside this homelab's control (written by `homelab import --record`)."""


ProxmoxConfig.model_rebuild()
