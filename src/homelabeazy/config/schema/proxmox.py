"""`proxmox:` the API, the hosts, the VM image or template, Terraform's state backend."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from homelabeazy import toolchain
from homelabeazy.config.schema.fields import ChartVersion, Label, Section

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
