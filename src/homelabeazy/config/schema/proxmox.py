"""`proxmox:` the API, the hosts, the VM image or template, Terraform's state backend."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from homelabeazy import toolchain
from homelabeazy.config.schema.fields import ChartVersion, EnvName, IPv4, Label, Region, Section, pattern, url

MAX_MEMORY_MB = 64 * 1024 * 1024
"""64 TiB: above any machine Proxmox runs on; bounds the arithmetic of memory placement."""


class ProxmoxHost(Section):
    """One Proxmox VE node that can run VMs."""

    name: Label
    """The Proxmox node name exactly as Proxmox shows it (e.g. `pve1`); VMs are placed on it by this name."""
    address: IPv4
    """Management address of the node (usually in the management VLAN)."""
    cpus: int = Field(ge=1, le=1024)
    """Logical CPUs the node has; VM vCPUs placed on it must not exceed this."""
    memory_mb: int = Field(ge=1024, le=MAX_MEMORY_MB)
    """Memory of the node in MiB; VM memory placed on it (plus a 2 GiB reserve for Proxmox) must fit."""


class VmImage(Section):
    """A cloud image the provider downloads onto each Proxmox host (no hand-made template needed)."""

    url: Annotated[
        str,
        url(
            "https",
            "http",
            query=True,
            secrets_go="the image is downloaded by every Proxmox host; use a public mirror or a signed link",
        ),
    ]
    """Where to download the cloud image (qcow2/img), e.g. Debian 12 genericcloud."""
    checksum: Annotated[str, pattern(r"^[0-9a-f]{32,128}$", "must be a lowercase hex digest")] | None = None
    """Hex checksum of the image; strongly recommended so a tampered or truncated download fails."""
    checksum_algorithm: Literal["md5", "sha1", "sha224", "sha256", "sha384", "sha512"] = "sha256"
    """Algorithm of `checksum`."""
    file_name: (
        Annotated[
            str,
            pattern(
                r"^[A-Za-z0-9._-]{1,200}\.(img|qcow2|raw)$",
                "must be a file name ending in .img, .qcow2 or .raw (letters, digits, '.', '_', '-')",
            ),
        ]
        | None
    ) = None
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

    endpoint: Annotated[
        str,
        url(
            "https",
            path="/",
            secrets_go="the API token's secret goes in the environment variable named by `token_secret_env`",
        ),
    ]
    """API endpoint, e.g. `https://10.10.30.2:8006/`."""
    token_id: Annotated[
        str,
        pattern(
            r"^[A-Za-z0-9._-]{1,64}@[A-Za-z0-9._-]{1,64}![A-Za-z0-9._-]{1,64}$",
            "must look like user@realm!tokenname",
        ),
    ]
    """API token id `user@realm!name`. The secret part is never in this file."""
    token_secret_env: EnvName = "PROXMOX_VE_API_TOKEN"  # noqa: S105 - the variable's name, not a secret
    """Name of the environment variable holding the full token `user@realm!name=secret`."""
    verify_tls: bool = True
    """Verify the API's TLS certificate. Turn off only for a self-signed lab certificate."""
    hosts: list[ProxmoxHost] = Field(min_length=1)
    """The Proxmox nodes VMs may be placed on."""
    datastore: Label = "local-lvm"
    """Datastore for VM disks and cloud-init drives."""
    bridge: Annotated[str, pattern(r"^vmbr[0-9]{1,4}$", "must be a Linux bridge name like vmbr0")] = "vmbr0"
    """VLAN-aware Linux bridge the VMs attach to (the VLAN tag is set per VM)."""
    image: VmImage | None = None
    """Cloud image to download (default). Exactly one of `image` and `template`."""
    template: VmTemplate | None = None
    """Template to clone instead of `image`."""
    vmid_start: int = Field(default=200, ge=100, le=999_999_000)
    """First VMID used for cluster nodes; servers take start..start+9, agents start+10 onwards."""
    cpu_type: Annotated[
        str,
        pattern(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$", "must be a QEMU CPU type like host or x86-64-v2-AES"),
    ] = "x86-64-v2-AES"
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
    key: Annotated[
        str,
        pattern(
            r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}){0,15}$",
            "must be an object key of '/'-separated names: letters, digits, '.', '_' and '-'",
        ),
    ] = "homelab/terraform.tfstate"
    """Object key of the state file."""
    region: Region = "us-east-1"
    """Region (any name for MinIO)."""
    endpoint: Annotated[
        str,
        url(
            "https",
            "http",
            secrets_go="Terraform reads the bucket's keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        ),
    ]
    """S3 endpoint URL."""
