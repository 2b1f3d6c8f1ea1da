"""The terraform layer of the rendered repo: static blueprint .tf files plus generated data.

The .tf files never change with homelab.yaml (but for the provider pin in versions.tf, which
Terraform cannot read from a variable); everything that does is in
`homelab.auto.tfvars.json` (JSON data built from the model, never string-built HCL), so a
re-render shows up in review as a data diff. The optional S3 backend is rendered as
`backend.tf.json` (Terraform's JSON syntax) for the same reason: backend blocks cannot read
variables, and a JSON dump cannot be mis-quoted.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from homelabeazy import toolchain
from homelabeazy.config.schema import ProxmoxConfig, S3State
from homelabeazy.model import Homelab
from homelabeazy.model.homelab import Node
from homelabeazy.render.serialize import to_json

BLUEPRINT_FILES: tuple[tuple[str, str], ...] = (
    ("versions.tf", "versions.tf"),
    ("variables.tf", "variables.tf"),
    ("main.tf", "main.tf"),
    ("outputs.tf", "outputs.tf"),
    ("gitignore", ".gitignore"),  # shipped without the dot: package-data globs skip dotfiles
)
"""(file in blueprint/terraform, path under terraform/) copied verbatim."""

TFVARS = "terraform/homelab.auto.tfvars.json"
BACKEND = "terraform/backend.tf.json"

STARTUP_ORDER = {"server": 1, "agent": 2}
"""Proxmox starts lower orders first: etcd servers are up before the agents that join them."""


def render(homelab: Homelab) -> dict[str, str]:
    """Relative path -> file text for the terraform/ tree."""
    files = {f"terraform/{target}": blueprint_text(source) for source, target in BLUEPRINT_FILES}
    files["terraform/versions.tf"] = pin_provider(files["terraform/versions.tf"], homelab.config.proxmox)
    files[TFVARS] = to_json(tfvars(homelab))
    backend = homelab.config.proxmox.state_backend
    if backend is not None:
        files[BACKEND] = to_json(backend_config(backend))
    return files


PROVIDER_PIN = 'version = "{}"'
"""The provider's version line in the blueprint's versions.tf (a constraint cannot be a variable)."""


def pin_provider(text: str, proxmox: ProxmoxConfig) -> str:
    """versions.tf with the bpg/proxmox provider pinned at `proxmox.provider_version`.

    The blueprint carries the tested pin (`toolchain.BPG_PROVIDER_VERSION`); exactly that one line
    is swapped, and a blueprint without it is a bug, not a silent no-op.
    """
    tested = PROVIDER_PIN.format(toolchain.BPG_PROVIDER_VERSION)
    if text.count(tested) != 1:
        raise LookupError(f"blueprint/terraform/versions.tf must hold `{tested}` exactly once")
    return text.replace(tested, PROVIDER_PIN.format(proxmox.provider_version))


def blueprint_text(name: str) -> str:
    """One static file of the terraform blueprint (package data)."""
    return resources.files("homelabeazy.blueprint").joinpath("terraform", name).read_text(encoding="utf-8")


def tfvars(homelab: Homelab) -> dict[str, Any]:
    """The variables of variables.tf, from the model only (nodes, proxmox, cluster, DNS, domain)."""
    proxmox = homelab.config.proxmox
    return {
        "proxmox": {"datastore": proxmox.datastore, "bridge": proxmox.bridge, "cpu_type": proxmox.cpu_type},
        "proxmox_hosts": {h.name: str(h.address) for h in proxmox.hosts},
        "image": _image(proxmox),
        "template": _template(proxmox),
        "dns": {
            "domain": homelab.domain,
            "servers": [str(s) for s in homelab.config.network.dns_servers],
        },
        "ssh": {"username": homelab.cluster.ssh_user, "keys": list(homelab.cluster.ssh_keys)},
        "nodes": {node.name: node_vars(node) for node in homelab.nodes},
    }


def node_vars(node: Node) -> dict[str, Any]:
    """One node's entry: every fact read from the model's Node, none re-derived."""
    return {
        "role": node.role,
        "vm_id": node.vmid,
        "host": node.host,
        "cores": node.cores,
        "memory_mb": node.memory_mb,
        "disk_gb": node.disk_gb,
        "ip": str(node.ip),
        "ipv4_address": node.cidr,
        "ipv4_gateway": str(node.gateway),
        "vlan_id": node.vlan_id,
        "startup_order": STARTUP_ORDER[node.role],
    }


def _image(proxmox: ProxmoxConfig) -> dict[str, Any] | None:
    image = proxmox.image
    if image is None:
        return None
    return {
        "url": image.url,
        # The `import` content type needs the image's real extension (.qcow2/.raw) in the name.
        "file_name": image.file_name or image.url.rstrip("/").rsplit("/", 1)[-1],
        "datastore": image.datastore,
        "checksum": image.checksum,
        "checksum_algorithm": image.checksum_algorithm if image.checksum else None,
    }


def _template(proxmox: ProxmoxConfig) -> dict[str, Any] | None:
    template = proxmox.template
    if template is None:
        return None
    return {"vm_id": template.vm_id, "node": template.node, "full": template.full_clone}


def backend_config(state: S3State) -> dict[str, Any]:
    """S3-compatible remote state; credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY."""
    return {
        "terraform": {
            "backend": {
                "s3": {
                    "bucket": state.bucket,
                    "key": state.key,
                    "region": state.region,
                    "endpoints": {"s3": state.endpoint},
                    # MinIO/Garage serve buckets by path and have no AWS account or region API.
                    "use_path_style": True,
                    "skip_credentials_validation": True,
                    "skip_region_validation": True,
                    "skip_requesting_account_id": True,
                    "skip_metadata_api_check": True,
                    "skip_s3_checksum": True,
                }
            }
        }
    }
