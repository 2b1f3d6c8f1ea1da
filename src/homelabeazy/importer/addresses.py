"""Terraform names of imported guests, and the record of a guest that could not be read."""

from __future__ import annotations

import re
from dataclasses import dataclass

from homelabeazy.importer.guests import Guest
from homelabeazy.importer.qemu import Vm

VM_TYPE = "proxmox_virtual_environment_vm"
CONTAINER_TYPE = "proxmox_virtual_environment_container"


@dataclass(frozen=True)
class ReadFailure:
    """A guest whose config could not be read or parsed; it is reported, not imported."""

    node: str
    kind: str
    vmid: int
    name: str
    error: str


def resource_name(guest: Guest) -> str:
    """A stable Terraform name: the guest name made an identifier, plus its vmid (names may repeat).

    The vmid suffix keeps every address stable when another guest with the same name appears later,
    which would otherwise rename resources already in the state.
    """
    base = re.sub(r"[^a-z0-9_]+", "_", guest.name.lower()).strip("_") or guest.kind
    if not re.match(r"[a-z_]", base):
        base = f"{guest.kind}_{base}"
    return f"{base}_{guest.vmid}"


def resource_address(guest: Guest) -> str:
    """`proxmox_virtual_environment_vm.docker_host_100`."""
    kind = VM_TYPE if isinstance(guest, Vm) else CONTAINER_TYPE
    return f"{kind}.{resource_name(guest)}"
