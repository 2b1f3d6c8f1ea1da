"""A QEMU VM's config -> `Vm`, as the import maps it onto `proxmox_virtual_environment_vm`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from homelabeazy.importer.cloudinit import CloudInit, parse_cloud_init
from homelabeazy.importer.config_keys import NOT_MAPPED, ConfigKeys, Unmapped, note_extra, sub_fields
from homelabeazy.importer.disks import (
    Cdrom,
    Disk,
    EfiDisk,
    TpmState,
    parse_efi_disk,
    parse_tpm_state,
    qemu_drives,
)
from homelabeazy.importer.identity import (
    GuestIdentity,
    KindSpelling,
    Startup,
    identity_fields,
    is_template,
    parse_startup,
)
from homelabeazy.importer.nics import IpConfig, Nic, first_static_ipv4, parse_qemu_nic
from homelabeazy.importer.propstring import (
    FieldSpec,
    as_bool,
    as_int,
    as_text,
    parse_bool,
    parse_int,
    split_property_string,
)

QEMU_SPELLING = KindSpelling(name_key="name", default_name="VM {vmid}", boot_field="on_boot")
# Proxmox's value of an absent `scsihw`, written out because the provider's default differs.
PVE_DEFAULT_SCSIHW = "lsi"

# Indexed keys that stay with the host; each is reported with what the user can do about it.
_HOST_BOUND = re.compile(r"(hostpci|usb|unused|parallel|virtiofs|numa)\d+")
_HOST_BOUND_REASONS = {
    "hostpci": "PCI passthrough needs a resource mapping or root@pam; add a hostpci block by hand",
    "usb": "USB passthrough depends on this host's devices; add a usb block by hand",
    "unused": "a detached volume is not part of the VM; delete or re-attach it first",
}


@dataclass(frozen=True)
class Agent:
    """QEMU guest agent settings: `agent: enabled=1,fstrim_cloned_disks=1,type=virtio`."""

    enabled: bool
    trim: bool | None = None
    type: str | None = None


@dataclass(frozen=True)
class Vga:
    """Display: `vga: std,memory=32` or `vga: serial0`."""

    type: str
    memory: int | None = None


@dataclass(frozen=True)
class Vm(GuestIdentity):
    """A QEMU VM as the import maps it onto `proxmox_virtual_environment_vm`."""

    on_boot: bool | None = None
    protection: bool | None = None
    cores: int | None = None
    sockets: int | None = None
    cpu_type: str | None = None
    cpu_flags: tuple[str, ...] = ()
    numa: bool | None = None
    cpu_units: int | None = None
    memory: int | None = None
    balloon: int | None = None
    bios: str | None = None
    machine: str | None = None
    scsi_hardware: str | None = None
    boot_order: tuple[str, ...] = ()
    os_type: str | None = None
    keyboard_layout: str | None = None
    disks: tuple[Disk, ...] = ()
    cdroms: tuple[Cdrom, ...] = ()
    nics: tuple[Nic, ...] = ()
    cloud_init: CloudInit | None = None
    agent: Agent | None = None
    startup: Startup | None = None
    efi_disk: EfiDisk | None = None
    tpm_state: TpmState | None = None
    serial_devices: tuple[str, ...] = ()
    vga: Vga | None = None
    unmapped: tuple[Unmapped, ...] = ()
    kind: str = "qemu"

    @property
    def ip(self) -> str | None:
        """The first static IPv4 address (without prefix), for the unmanaged inventory."""
        configs: tuple[IpConfig, ...] = self.cloud_init.ip_configs if self.cloud_init else ()
        return first_static_ipv4(configs)


_AGENT_FIELDS: FieldSpec = {"trim": ("fstrim_cloned_disks", as_bool), "type": ("type", as_text)}
_VGA_FIELDS: FieldSpec = {"memory": ("memory", as_int)}


def _cpu(keys: ConfigKeys) -> tuple[str | None, tuple[str, ...]]:
    text = keys.take("cpu")
    if text is None:
        return None, ()
    props = split_property_string(str(text), "cputype")
    flags = tuple(f for f in props.get("flags", "").split(";") if f)
    note_extra(keys.unmapped, "cpu", props, {"cputype", "flags"})
    return props.get("cputype"), flags


def _memory(value: Any) -> int | None:
    # `memory` became a property string (`current=8192`) in PVE 8; the provider wants the size.
    if value is None:
        return None
    props = split_property_string(str(value), "current")
    return parse_int(props["current"], "memory") if "current" in props else None


def _agent(value: Any, unmapped: list[Unmapped]) -> Agent | None:
    if value is None:
        return None
    props = split_property_string(str(value), "enabled")
    fields = sub_fields(unmapped, "agent", props, _AGENT_FIELDS, ("enabled",))
    return Agent(parse_bool(props.get("enabled", "0")), **fields)


def _boot_order(keys: ConfigKeys) -> tuple[str, ...]:
    value = keys.take("boot")
    if value is None:
        return ()
    props = split_property_string(str(value), "legacy")
    if "order" in props:
        return tuple(d for d in props["order"].split(";") if d)
    keys.skip("boot", "legacy boot syntax (letters a/c/d/n); set boot_order by hand")
    return ()


def _vga(value: Any, unmapped: list[Unmapped]) -> Vga | None:
    if value is None:
        return None
    props = split_property_string(str(value), "type")
    fields = sub_fields(unmapped, "vga", props, _VGA_FIELDS, ("type",))
    return Vga(props.get("type", "std"), **fields)


def _skip_host_bound(keys: ConfigKeys) -> None:
    for key in [k for k in keys.config if _HOST_BOUND.fullmatch(k)]:
        keys.skip(key, _HOST_BOUND_REASONS.get(re.sub(r"\d+$", "", key), NOT_MAPPED))
    keys.skip("args", "raw QEMU arguments can only be set by root@pam; not managed")
    keys.skip("hookscript", "hook scripts are host files; not managed")


def parse_vm(node: str, vmid: int, status: str, config: Mapping[str, Any]) -> Vm:
    """Map a QEMU config onto the VM resource; raises GuestConfigError on a malformed value."""
    keys = ConfigKeys(config)
    template = is_template(keys)
    cpu_type, cpu_flags = _cpu(keys)
    disks, cdroms, cloud_drive = qemu_drives(keys)
    nics = tuple(parse_qemu_nic(key, str(v), keys.unmapped) for _, key, v in keys.indexed("net"))
    serials = tuple(str(v) for _, _, v in keys.indexed("serial"))
    _skip_host_bound(keys)
    vm = Vm(
        **identity_fields(keys, QEMU_SPELLING, node=node, vmid=vmid, status=status, template=template),
        protection=keys.flag("protection"),
        cores=keys.number("cores"),
        sockets=keys.number("sockets"),
        # No default for an absent `cpu`: the provider reads it back as its own default (qemu64).
        cpu_type=cpu_type,
        cpu_flags=cpu_flags,
        numa=keys.flag("numa"),
        cpu_units=keys.number("cpuunits"),
        memory=_memory(keys.take("memory")),
        balloon=keys.number("balloon"),
        bios=keys.text("bios"),
        machine=keys.text("machine"),
        scsi_hardware=keys.text("scsihw") or PVE_DEFAULT_SCSIHW,
        boot_order=_boot_order(keys),
        os_type=keys.text("ostype"),
        keyboard_layout=keys.text("keyboard"),
        disks=tuple(disks),
        cdroms=tuple(cdroms),
        nics=nics,
        cloud_init=parse_cloud_init(keys, cloud_drive),
        agent=_agent(keys.take("agent"), keys.unmapped),
        startup=parse_startup(keys),
        efi_disk=parse_efi_disk(keys.take("efidisk0"), keys.unmapped),
        tpm_state=parse_tpm_state(keys.take("tpmstate0"), keys.unmapped),
        serial_devices=serials,
        vga=_vga(keys.take("vga"), keys.unmapped),
    )
    return replace(vm, unmapped=keys.leftovers())
