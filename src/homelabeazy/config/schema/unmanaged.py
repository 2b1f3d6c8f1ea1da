"""`unmanaged:` existing Proxmox guests outside this homelab's control."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from homelabeazy.config.schema.fields import FreeText, IPv4, Label, Section


class UnmanagedGuest(Section):
    """A Proxmox guest this homelab does not manage, recorded by `homelab import --record`.

    Kept so status, docs and the network check know the address is taken and by what.
    """

    name: FreeText = Field(min_length=1, max_length=128)
    """The guest's name in Proxmox (QEMU name or LXC hostname)."""
    vmid: int = Field(ge=100, le=999_999_999)
    """Its Proxmox VMID."""
    node: Label
    """The Proxmox node it runs on."""
    kind: Literal["qemu", "lxc"]
    """`qemu` for a VM, `lxc` for a container."""
    ip: IPv4 | None = None
    """Its first static IPv4 address from cloud-init or the container config, if it has one."""
