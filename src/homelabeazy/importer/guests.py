"""A guest's Proxmox config (as `GET .../config` returns it) -> a typed description of the guest.

Every key of the config ends up in exactly one place: a field of `Vm`/`Container`, the list of
keys Proxmox generates for itself (`INTERNAL_KEYS`, nothing to manage), or `unmapped` with the
reason — so IMPORT_REPORT.md can say what was left out and nothing is dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from homelabeazy.importer.propstring import (
    PropertyStringError,
    decode_sshkeys,
    parse_bool,
    parse_int,
    parse_tags,
    size_whole_gib,
    split_list,
    split_property_string,
    volume_datastore,
)

# Keys Proxmox sets itself; Terraform has nothing to say about them.
INTERNAL_KEYS = frozenset(
    {
        "digest",
        "meta",
        "vmgenid",
        "smbios1",
        "lock",
        "parent",
        "snaptime",
        "runningcpu",
        "runningmachine",
        "running-nets-host-mtu",
        "pending",
    }
)

# The NIC models Proxmox accepts as the first key of a QEMU `netN` (keyAlias `model`).
NIC_MODELS = frozenset(
    {
        "e1000",
        "e1000-82540em",
        "e1000-82544gc",
        "e1000-82545em",
        "e1000e",
        "i82551",
        "i82557b",
        "i82559er",
        "ne2k_isa",
        "ne2k_pci",
        "pcnet",
        "rtl8139",
        "virtio",
        "vmxnet3",
    }
)

DISK_BUSES = ("scsi", "virtio", "sata", "ide")

# Proxmox's documented value of a key that is absent from a config, written out explicitly where
# the provider's own default differs; left implicit, the first `terraform plan` would show a change
# (e.g. the provider defaults on_boot to true, Proxmox's onboot to 0).
PVE_DEFAULT_ONBOOT = False
PVE_DEFAULT_SCSIHW = "lsi"
PVE_DEFAULT_LXC_MEMORY = 512
PVE_DEFAULT_LXC_SWAP = 512

# Secrets Proxmox may return: never copied into generated files, only named in the report.
SECRET_KEYS = frozenset({"cipassword"})


class GuestConfigError(ValueError):
    """A config value Proxmox would not have produced (the guest is reported, not imported)."""


@dataclass(frozen=True)
class Unmapped:
    """A config key the generated Terraform does not carry, and why."""

    key: str
    reason: str
    value: str = ""


@dataclass(frozen=True)
class Disk:
    """A QEMU disk: `scsi0: local-lvm:vm-100-disk-0,size=32G,iothread=1`."""

    interface: str
    datastore_id: str
    size_gb: int
    iothread: bool | None = None
    ssd: bool | None = None
    discard: str | None = None
    cache: str | None = None
    aio: str | None = None
    backup: bool | None = None
    replicate: bool | None = None


@dataclass(frozen=True)
class Cdrom:
    """A CD-ROM drive holding an ISO (or empty: file_id 'none')."""

    interface: str
    file_id: str


@dataclass(frozen=True)
class Nic:
    """A QEMU NIC: `net0: virtio=BC:24:11:..,bridge=vmbr0,tag=10,firewall=1`."""

    model: str
    mac_address: str | None
    bridge: str | None
    vlan_id: int | None = None
    firewall: bool | None = None
    mtu: int | None = None
    queues: int | None = None
    rate_limit: float | None = None
    disconnected: bool | None = None
    trunks: str | None = None


@dataclass(frozen=True)
class IpConfig:
    """One cloud-init interface's addresses: `ip=10.10.10.11/24,gw=10.10.10.1` (or dhcp/auto)."""

    ipv4_address: str | None = None
    ipv4_gateway: str | None = None
    ipv6_address: str | None = None
    ipv6_gateway: str | None = None

    @property
    def empty(self) -> bool:
        """No address at all (an interface cloud-init leaves to its defaults)."""
        return not (self.ipv4_address or self.ipv6_address)


@dataclass(frozen=True)
class CloudInit:
    """The cloud-init drive and what Proxmox generates into it."""

    datastore_id: str | None = None
    interface: str | None = None
    ip_configs: tuple[IpConfig, ...] = ()
    username: str | None = None
    keys: tuple[str, ...] = ()
    dns_domain: str | None = None
    dns_servers: tuple[str, ...] = ()
    user_data_file_id: str | None = None
    network_data_file_id: str | None = None
    vendor_data_file_id: str | None = None
    meta_data_file_id: str | None = None


@dataclass(frozen=True)
class Agent:
    """QEMU guest agent settings: `agent: enabled=1,fstrim_cloned_disks=1,type=virtio`."""

    enabled: bool
    trim: bool | None = None
    type: str | None = None


@dataclass(frozen=True)
class Startup:
    """Boot order and delays: `startup: order=2,up=30,down=60`."""

    order: int | None = None
    up_delay: int | None = None
    down_delay: int | None = None


@dataclass(frozen=True)
class EfiDisk:
    """The OVMF vars disk: `efidisk0: local-lvm:vm-102-disk-0,efitype=4m,pre-enrolled-keys=1`."""

    datastore_id: str
    type: str | None = None
    pre_enrolled_keys: bool | None = None


@dataclass(frozen=True)
class TpmState:
    """The TPM state volume: `tpmstate0: local-lvm:vm-102-disk-2,size=4M,version=v2.0`."""

    datastore_id: str
    version: str | None = None


@dataclass(frozen=True)
class Vga:
    """Display: `vga: std,memory=32` or `vga: serial0`."""

    type: str
    memory: int | None = None


@dataclass(frozen=True)
class Vm:
    """A QEMU VM as the import maps it onto `proxmox_virtual_environment_vm`."""

    node: str
    vmid: int
    name: str
    started: bool
    template: bool = False
    description: str | None = None
    tags: tuple[str, ...] = ()
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
        configs = self.cloud_init.ip_configs if self.cloud_init else ()
        return _first_static(configs)


@dataclass(frozen=True)
class ContainerNic:
    """An LXC NIC: `net0: name=eth0,bridge=vmbr0,hwaddr=..,ip=10.10.10.53/24,gw=..,tag=10`."""

    name: str
    bridge: str | None
    mac_address: str | None = None
    vlan_id: int | None = None
    firewall: bool | None = None
    mtu: int | None = None
    rate_limit: float | None = None
    ip: IpConfig = field(default_factory=IpConfig)


@dataclass(frozen=True)
class MountPoint:
    """An LXC mount point: a storage volume (`tank:subvol-201-disk-1,mp=/data,size=64G`) or a bind mount."""

    volume: str
    path: str
    size: str | None = None
    backup: bool | None = None
    read_only: bool | None = None
    acl: bool | None = None
    quota: bool | None = None
    replicate: bool | None = None
    shared: bool | None = None


@dataclass(frozen=True)
class DevicePassthrough:
    """An LXC device node: `dev0: /dev/dri/renderD128,gid=104`."""

    path: str
    gid: int | None = None
    uid: int | None = None
    mode: str | None = None
    deny_write: bool | None = None


@dataclass(frozen=True)
class Console:
    """LXC console settings: `console`, `cmode`, `tty`."""

    enabled: bool | None = None
    type: str | None = None
    tty_count: int | None = None


@dataclass(frozen=True)
class Container:
    """An LXC container as the import maps it onto `proxmox_virtual_environment_container`."""

    node: str
    vmid: int
    name: str
    started: bool
    template: bool = False
    description: str | None = None
    tags: tuple[str, ...] = ()
    start_on_boot: bool | None = None
    protection: bool | None = None
    unprivileged: bool | None = None
    architecture: str | None = None
    cores: int | None = None
    cpu_units: int | None = None
    memory: int | None = None
    swap: int | None = None
    rootfs_datastore: str | None = None
    rootfs_size_gb: int | None = None
    mount_points: tuple[MountPoint, ...] = ()
    nics: tuple[ContainerNic, ...] = ()
    dns_domain: str | None = None
    dns_servers: tuple[str, ...] = ()
    features: tuple[tuple[str, bool | tuple[str, ...]], ...] = ()
    os_type: str | None = None
    startup: Startup | None = None
    console: Console | None = None
    devices: tuple[DevicePassthrough, ...] = ()
    unmapped: tuple[Unmapped, ...] = ()
    kind: str = "lxc"

    @property
    def ip(self) -> str | None:
        """The first static IPv4 address (without prefix), for the unmanaged inventory."""
        return _first_static(tuple(n.ip for n in self.nics))


Guest = Vm | Container


def _first_static(configs: tuple[IpConfig, ...]) -> str | None:
    for config in configs:
        address = config.ipv4_address
        if address and address not in ("dhcp", "manual"):
            return address.split("/", 1)[0]
    return None


# --------------------------------------------------------------------------- shared pieces


class _Keys:
    """The config's keys, consumed one by one; what is left at the end is unmapped."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)
        self.used: set[str] = set(INTERNAL_KEYS & set(config))
        self.unmapped: list[Unmapped] = []

    def take(self, key: str) -> Any:
        """The value of `key` (None when absent), marking it handled."""
        if key in self.config:
            self.used.add(key)
        return self.config.get(key)

    def indexed(self, prefix: str) -> list[tuple[int, str, Any]]:
        """`net0`, `net1`, ... as (index, key, value), sorted by index, all marked handled."""
        found = []
        for key, value in self.config.items():
            match = re.fullmatch(rf"{prefix}(\d+)", key)
            if match:
                found.append((int(match.group(1)), key, value))
                self.used.add(key)
        return sorted(found)

    def skip(self, key: str, reason: str, *, show_value: bool = True) -> None:
        """Record `key` as not mapped (if present)."""
        if key in self.config:
            self.used.add(key)
            value = "" if key in SECRET_KEYS or not show_value else str(self.config[key])
            self.unmapped.append(Unmapped(key, reason, value))

    def leftovers(self) -> tuple[Unmapped, ...]:
        """Unmapped keys: the explicit ones, then every key nothing handled."""
        rest = [
            Unmapped(
                k, "no bpg provider argument is mapped for this setting yet", _display(k, self.config[k])
            )
            for k in sorted(set(self.config) - self.used)
        ]
        return tuple(sorted(self.unmapped, key=lambda u: u.key)) + tuple(rest)


def _display(key: str, value: Any) -> str:
    return "" if key in SECRET_KEYS else str(value)


def _opt_bool(props: Mapping[str, str], key: str) -> bool | None:
    return parse_bool(props[key]) if key in props else None


def _opt_int(props: Mapping[str, str], key: str) -> int | None:
    return parse_int(props[key], key) if key in props else None


def _startup(text: Any, keys: _Keys) -> Startup | None:
    if text is None:
        return None
    props = split_property_string(str(text), "order")
    if "order" not in props:
        # The provider's startup block requires an order; Proxmox does not.
        keys.skip("startup", "delays without a start order; the provider needs `order` to set them")
        return None
    _extra(keys.unmapped, "startup", props, {"order", "up", "down"})
    return Startup(_opt_int(props, "order"), _opt_int(props, "up"), _opt_int(props, "down"))


def _console(keys: _Keys) -> Console | None:
    enabled, mode, tty = keys.take("console"), keys.take("cmode"), keys.take("tty")
    if enabled is None and mode is None and tty is None:
        return None
    return Console(_maybe(enabled, parse_bool), _opt_str(mode), _maybe(tty, lambda v: parse_int(v, "tty")))


def _extra(unmapped: list[Unmapped], key: str, props: Mapping[str, str], known: set[str]) -> None:
    """Sub-settings of a property string that are not carried over."""
    for sub in sorted(set(props) - known):
        unmapped.append(
            Unmapped(f"{key}.{sub}", "no bpg provider argument is mapped for this setting yet", props[sub])
        )


def parse_ipconfig(text: str) -> IpConfig:
    """`ip=10.10.10.11/24,gw=10.10.10.1,ip6=auto` -> IpConfig."""
    props = split_property_string(text)
    return IpConfig(props.get("ip"), props.get("gw"), props.get("ip6"), props.get("gw6"))


# --------------------------------------------------------------------------- QEMU


_DISK_KNOWN = {
    "file",
    "size",
    "iothread",
    "ssd",
    "discard",
    "cache",
    "aio",
    "backup",
    "replicate",
    "format",
    "media",
}


def parse_qemu_disk(interface: str, text: str, unmapped: list[Unmapped]) -> Disk | Cdrom | str | None:
    """A `scsiN`/`virtioN`/`sataN`/`ideN` value: a Disk, a Cdrom, a cloud-init datastore (str), or None."""
    props = split_property_string(text, "file")
    volume = props.get("file", "")
    if props.get("media") == "cdrom":
        store = volume_datastore(volume)
        if re.search(r"(^|[:/])vm-\d+-cloudinit(\.\w+)?$", volume) and store:
            return store
        return Cdrom(interface, volume or "none")
    store = volume_datastore(volume)
    if store is None:
        unmapped.append(
            Unmapped(interface, "a host device or path passed through as a disk; not managed", text)
        )
        return None
    size = size_whole_gib(props.get("size", ""))
    if size is None:
        unmapped.append(
            Unmapped(
                interface,
                "size is not a whole number of GiB, which the provider requires; the plan will want to "
                "change this disk — resize it to whole GiB in Proxmox and re-import",
                text,
            )
        )
        return None
    _extra(unmapped, interface, props, _DISK_KNOWN)
    return Disk(
        interface=interface,
        datastore_id=store,
        size_gb=size,
        iothread=_opt_bool(props, "iothread"),
        ssd=_opt_bool(props, "ssd"),
        discard=props.get("discard"),
        cache=props.get("cache"),
        aio=props.get("aio"),
        backup=_opt_bool(props, "backup"),
        replicate=_opt_bool(props, "replicate"),
    )


def parse_qemu_nic(key: str, text: str, unmapped: list[Unmapped]) -> Nic:
    """A QEMU `netN` value; the model is the first key (`virtio=MAC`) or an explicit `model=`."""
    props = split_property_string(text)
    model = props.pop("model", None)
    mac = props.pop("macaddr", None)
    for name in list(props):
        if name in NIC_MODELS:
            model, mac = name, props.pop(name) or mac
    if model is None:
        raise GuestConfigError(f"{key}: {text!r} names no NIC model")
    known = {"bridge", "tag", "firewall", "mtu", "queues", "rate", "link_down", "trunks"}
    _extra(unmapped, key, props, known)
    rate = props.get("rate")
    return Nic(
        model=model,
        mac_address=mac,
        bridge=props.get("bridge"),
        vlan_id=_opt_int(props, "tag"),
        firewall=_opt_bool(props, "firewall"),
        mtu=_opt_int(props, "mtu"),
        queues=_opt_int(props, "queues"),
        rate_limit=float(rate) if rate is not None else None,
        disconnected=_opt_bool(props, "link_down"),
        trunks=props.get("trunks"),
    )


def _cpu(keys: _Keys) -> tuple[str | None, tuple[str, ...]]:
    text = keys.take("cpu")
    if text is None:
        return None, ()
    props = split_property_string(str(text), "cputype")
    flags = tuple(f for f in props.get("flags", "").split(";") if f)
    _extra(keys.unmapped, "cpu", props, {"cputype", "flags"})
    return props.get("cputype"), flags


def _memory(value: Any) -> int | None:
    if value is None:
        return None
    props = split_property_string(str(value), "current")
    return parse_int(props["current"], "memory") if "current" in props else None


def _agent(value: Any, unmapped: list[Unmapped]) -> Agent | None:
    if value is None:
        return None
    props = split_property_string(str(value), "enabled")
    _extra(unmapped, "agent", props, {"enabled", "fstrim_cloned_disks", "type"})
    return Agent(
        parse_bool(props.get("enabled", "0")), _opt_bool(props, "fstrim_cloned_disks"), props.get("type")
    )


def _boot_order(value: Any, keys: _Keys) -> tuple[str, ...]:
    if value is None:
        return ()
    props = split_property_string(str(value), "legacy")
    if "order" in props:
        return tuple(d for d in props["order"].split(";") if d)
    keys.skip("boot", "legacy boot syntax (letters a/c/d/n); set boot_order by hand")
    return ()


def _cicustom(value: Any, unmapped: list[Unmapped]) -> dict[str, str]:
    if value is None:
        return {}
    props = split_property_string(str(value))
    _extra(unmapped, "cicustom", props, {"user", "network", "vendor", "meta"})
    return props


def _qemu_drives(keys: _Keys) -> tuple[list[Disk], list[Cdrom], tuple[str, str] | None]:
    disks: list[Disk] = []
    cdroms: list[Cdrom] = []
    cloud_drive: tuple[str, str] | None = None
    for bus in DISK_BUSES:
        for _, key, value in keys.indexed(bus):
            parsed = parse_qemu_disk(key, str(value), keys.unmapped)
            if isinstance(parsed, Disk):
                disks.append(parsed)
            elif isinstance(parsed, Cdrom):
                cdroms.append(parsed)
            elif isinstance(parsed, str):
                cloud_drive = (parsed, key)
    disks.sort(key=lambda d: (DISK_BUSES.index(re.sub(r"\d+$", "", d.interface)), d.interface))
    return disks, cdroms, cloud_drive


def _cloud_init(keys: _Keys, cloud_drive: tuple[str, str] | None) -> CloudInit | None:
    ipconfigs = keys.indexed("ipconfig")
    user = keys.take("ciuser")
    sshkeys = keys.take("sshkeys")
    custom = _cicustom(keys.take("cicustom"), keys.unmapped)
    nameserver = keys.take("nameserver")
    searchdomain = keys.take("searchdomain")
    keys.skip("cipassword", "a secret: never written to generated files; set user_account.password yourself")
    keys.skip("ciupgrade", "no bpg provider argument is mapped for this setting yet")
    keys.skip("citype", "no bpg provider argument is mapped for this setting yet")
    if not (cloud_drive or ipconfigs or user or sshkeys or custom):
        return None
    slots = [IpConfig()] * (max((i for i, _, _ in ipconfigs), default=-1) + 1)
    for index, _, text in ipconfigs:
        slots[index] = parse_ipconfig(str(text))
    return CloudInit(
        datastore_id=cloud_drive[0] if cloud_drive else None,
        interface=cloud_drive[1] if cloud_drive else None,
        ip_configs=tuple(slots),
        username=str(user) if user is not None else None,
        keys=tuple(decode_sshkeys(str(sshkeys))) if sshkeys else (),
        dns_domain=str(searchdomain) if searchdomain else None,
        dns_servers=tuple(split_list(str(nameserver))) if nameserver else (),
        user_data_file_id=custom.get("user"),
        network_data_file_id=custom.get("network"),
        vendor_data_file_id=custom.get("vendor"),
        meta_data_file_id=custom.get("meta"),
    )


def _efi(value: Any, unmapped: list[Unmapped]) -> EfiDisk | None:
    if value is None:
        return None
    props = split_property_string(str(value), "file")
    store = volume_datastore(props.get("file", ""))
    if store is None:
        unmapped.append(Unmapped("efidisk0", "EFI vars on a host path; not managed", str(value)))
        return None
    _extra(unmapped, "efidisk0", props, {"file", "efitype", "pre-enrolled-keys", "size", "format"})
    return EfiDisk(store, props.get("efitype"), _opt_bool(props, "pre-enrolled-keys"))


def _tpm(value: Any, unmapped: list[Unmapped]) -> TpmState | None:
    if value is None:
        return None
    props = split_property_string(str(value), "file")
    store = volume_datastore(props.get("file", ""))
    if store is None:
        unmapped.append(Unmapped("tpmstate0", "TPM state on a host path; not managed", str(value)))
        return None
    _extra(unmapped, "tpmstate0", props, {"file", "size", "version"})
    return TpmState(store, props.get("version"))


def _vga(value: Any, unmapped: list[Unmapped]) -> Vga | None:
    if value is None:
        return None
    props = split_property_string(str(value), "type")
    _extra(unmapped, "vga", props, {"type", "memory"})
    return Vga(props.get("type", "std"), _opt_int(props, "memory"))


def _qemu_skips(keys: _Keys) -> None:
    for key in [k for k in keys.config if re.fullmatch(r"(hostpci|usb|unused|parallel|virtiofs|numa)\d+", k)]:
        reasons = {
            "hostpci": "PCI passthrough needs a resource mapping or root@pam; add a hostpci block by hand",
            "usb": "USB passthrough depends on this host's devices; add a usb block by hand",
            "unused": "a detached volume is not part of the VM; delete or re-attach it first",
        }
        prefix = re.sub(r"\d+$", "", key)
        keys.skip(key, reasons.get(prefix, "no bpg provider argument is mapped for this setting yet"))
    keys.skip("args", "raw QEMU arguments can only be set by root@pam; not managed")
    keys.skip("hookscript", "hook scripts are host files; not managed")


def parse_vm(node: str, vmid: int, status: str, config: Mapping[str, Any]) -> Vm:
    """Map a QEMU config onto the VM resource; raises GuestConfigError on a malformed value."""
    keys = _Keys(config)
    template = parse_bool(keys.take("template") or 0)
    cpu_type, cpu_flags = _cpu(keys)
    disks, cdroms, cloud_drive = _qemu_drives(keys)
    nics = tuple(parse_qemu_nic(key, str(v), keys.unmapped) for _, key, v in keys.indexed("net"))
    serials = tuple(str(v) for _, _, v in keys.indexed("serial"))
    _qemu_skips(keys)
    balloon, cores, sockets, units = (keys.take(k) for k in ("balloon", "cores", "sockets", "cpuunits"))
    vm = Vm(
        node=node,
        vmid=vmid,
        name=str(keys.take("name") or f"VM {vmid}"),
        started=status == "running" and not template,
        template=template,
        description=_opt_str(keys.take("description")),
        tags=tuple(parse_tags(str(keys.take("tags") or ""))),
        on_boot=parse_bool(keys.take("onboot") or PVE_DEFAULT_ONBOOT),
        protection=_maybe(keys.take("protection"), parse_bool),
        cores=_maybe(cores, lambda v: parse_int(v, "cores")),
        sockets=_maybe(sockets, lambda v: parse_int(v, "sockets")),
        # No default for an absent `cpu`: the provider reads it back as its own default (qemu64).
        cpu_type=cpu_type,
        cpu_flags=cpu_flags,
        numa=_maybe(keys.take("numa"), parse_bool),
        cpu_units=_maybe(units, lambda v: parse_int(v, "cpuunits")),
        memory=_memory(keys.take("memory")),
        balloon=_maybe(balloon, lambda v: parse_int(v, "balloon")),
        bios=_opt_str(keys.take("bios")),
        machine=_opt_str(keys.take("machine")),
        scsi_hardware=_opt_str(keys.take("scsihw")) or PVE_DEFAULT_SCSIHW,
        boot_order=_boot_order(keys.take("boot"), keys),
        os_type=_opt_str(keys.take("ostype")),
        keyboard_layout=_opt_str(keys.take("keyboard")),
        disks=tuple(disks),
        cdroms=tuple(cdroms),
        nics=nics,
        cloud_init=_cloud_init(keys, cloud_drive),
        agent=_agent(keys.take("agent"), keys.unmapped),
        startup=_startup(keys.take("startup"), keys),
        efi_disk=_efi(keys.take("efidisk0"), keys.unmapped),
        tpm_state=_tpm(keys.take("tpmstate0"), keys.unmapped),
        serial_devices=serials,
        vga=_vga(keys.take("vga"), keys.unmapped),
    )
    return _with_unmapped(vm, keys)


# --------------------------------------------------------------------------- LXC


def parse_container_nic(key: str, text: str, unmapped: list[Unmapped]) -> ContainerNic:
    """An LXC `netN` value: `name=eth0,bridge=vmbr0,hwaddr=..,ip=..,gw=..,tag=10,firewall=1`."""
    props = split_property_string(text)
    if "name" not in props:
        raise GuestConfigError(f"{key}: {text!r} has no interface name")
    known = {
        "name",
        "bridge",
        "hwaddr",
        "tag",
        "firewall",
        "mtu",
        "rate",
        "link_down",
        "ip",
        "gw",
        "ip6",
        "gw6",
        "type",
    }
    _extra(unmapped, key, props, known)
    rate = props.get("rate")
    if _opt_bool(props, "link_down"):
        unmapped.append(
            Unmapped(
                f"{key}.link_down",
                "the provider reads every container NIC back as enabled, so a disconnected one cannot be "
                "imported without a diff; reconnect it or manage the link by hand",
                props["link_down"],
            )
        )
    return ContainerNic(
        name=props["name"],
        bridge=props.get("bridge"),
        mac_address=props.get("hwaddr"),
        vlan_id=_opt_int(props, "tag"),
        firewall=_opt_bool(props, "firewall"),
        mtu=_opt_int(props, "mtu"),
        rate_limit=float(rate) if rate is not None else None,
        ip=IpConfig(props.get("ip"), props.get("gw"), props.get("ip6"), props.get("gw6")),
    )


def parse_mount_point(key: str, text: str, unmapped: list[Unmapped]) -> MountPoint:
    """An LXC `mpN` value: a storage volume (datastore:volume) or a bind-mounted host path."""
    props = split_property_string(text, "volume")
    if "mp" not in props or "volume" not in props:
        raise GuestConfigError(f"{key}: {text!r} needs a volume and mp=")
    _extra(
        unmapped, key, props, {"volume", "mp", "size", "backup", "ro", "acl", "quota", "replicate", "shared"}
    )
    return MountPoint(
        # The full volume id (`tank:subvol-201-disk-1`) or host path: what the provider reads back.
        volume=props["volume"],
        path=props["mp"],
        size=props.get("size"),
        backup=_opt_bool(props, "backup"),
        read_only=_opt_bool(props, "ro"),
        acl=_opt_bool(props, "acl"),
        quota=_opt_bool(props, "quota"),
        replicate=_opt_bool(props, "replicate"),
        shared=_opt_bool(props, "shared"),
    )


def _features(value: Any, unmapped: list[Unmapped]) -> tuple[tuple[str, bool | tuple[str, ...]], ...]:
    if value is None:
        return ()
    props = split_property_string(str(value))
    out: list[tuple[str, bool | tuple[str, ...]]] = []
    for name in ("nesting", "fuse", "keyctl"):
        if name in props:
            out.append((name, parse_bool(props[name])))
    if "mount" in props:
        out.append(("mount", tuple(m for m in props["mount"].split(";") if m)))
    _extra(unmapped, "features", props, {"nesting", "fuse", "keyctl", "mount"})
    return tuple(out)


def _rootfs(value: Any, unmapped: list[Unmapped]) -> tuple[str | None, int | None]:
    if value is None:
        return None, None
    props = split_property_string(str(value), "volume")
    store = volume_datastore(props.get("volume", ""))
    size = size_whole_gib(props["size"]) if "size" in props else None
    if store is None or (size is None and "size" in props):
        unmapped.append(
            Unmapped("rootfs", "root filesystem on a host path or of a fractional GiB size", str(value))
        )
    _extra(unmapped, "rootfs", props, {"volume", "size"})
    return store, size


def _device(key: str, text: str, unmapped: list[Unmapped]) -> DevicePassthrough:
    props = split_property_string(text, "path")
    _extra(unmapped, key, props, {"path", "gid", "uid", "mode", "deny-write"})
    return DevicePassthrough(
        path=props.get("path", ""),
        gid=_opt_int(props, "gid"),
        uid=_opt_int(props, "uid"),
        mode=props.get("mode"),
        deny_write=_opt_bool(props, "deny-write"),
    )


def parse_container(node: str, vmid: int, status: str, config: Mapping[str, Any]) -> Container:
    """Map an LXC config onto the container resource; raises GuestConfigError on a malformed value."""
    keys = _Keys(config)
    template = parse_bool(keys.take("template") or 0)
    datastore, size = _rootfs(keys.take("rootfs"), keys.unmapped)
    nics = tuple(parse_container_nic(k, str(v), keys.unmapped) for _, k, v in keys.indexed("net"))
    mounts = tuple(parse_mount_point(k, str(v), keys.unmapped) for _, k, v in keys.indexed("mp"))
    devices = tuple(_device(k, str(v), keys.unmapped) for _, k, v in keys.indexed("dev"))
    keys.skip("lxc", "raw lxc.* keys can only be set in the config file by root; not managed")
    console = _console(keys)
    for name in ("timezone", "hookscript", "entrypoint", "env", "debug"):
        keys.skip(name, "no bpg provider argument is mapped for this setting yet")
    for _, key, _ in keys.indexed("unused"):
        keys.skip(key, "a detached volume is not part of the container; delete or re-attach it first")
    nameserver, searchdomain = keys.take("nameserver"), keys.take("searchdomain")
    container = Container(
        node=node,
        vmid=vmid,
        name=str(keys.take("hostname") or f"CT{vmid}"),
        started=status == "running" and not template,
        template=template,
        description=_opt_str(keys.take("description")),
        tags=tuple(parse_tags(str(keys.take("tags") or ""))),
        start_on_boot=parse_bool(keys.take("onboot") or PVE_DEFAULT_ONBOOT),
        protection=_maybe(keys.take("protection"), parse_bool),
        unprivileged=_maybe(keys.take("unprivileged"), parse_bool),
        architecture=_opt_str(keys.take("arch")),
        cores=_maybe(keys.take("cores"), lambda v: parse_int(v, "cores")),
        cpu_units=_maybe(keys.take("cpuunits"), lambda v: parse_int(v, "cpuunits")),
        memory=parse_int(_default(keys.take("memory"), PVE_DEFAULT_LXC_MEMORY), "memory"),
        swap=parse_int(_default(keys.take("swap"), PVE_DEFAULT_LXC_SWAP), "swap"),
        rootfs_datastore=datastore,
        rootfs_size_gb=size,
        mount_points=mounts,
        nics=nics,
        dns_domain=_opt_str(searchdomain),
        dns_servers=tuple(split_list(str(nameserver))) if nameserver else (),
        features=_features(keys.take("features"), keys.unmapped),
        os_type=_opt_str(keys.take("ostype")),
        startup=_startup(keys.take("startup"), keys),
        console=console,
        devices=devices,
    )
    return _with_unmapped(container, keys)


# --------------------------------------------------------------------------- entry point


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _default(value: Any, default: Any) -> Any:
    return default if value is None else value


def _maybe(value: Any, convert: Callable[[Any], Any]) -> Any:
    return None if value is None else convert(value)


_G = TypeVar("_G", Vm, Container)


def _with_unmapped(guest: _G, keys: _Keys) -> _G:
    return replace(guest, unmapped=keys.leftovers())


def parse_guest(kind: str, node: str, vmid: int, status: str, config: Mapping[str, Any]) -> Guest:
    """Parse one guest's config (kind `qemu` or `lxc`); malformed values raise GuestConfigError."""
    try:
        if kind == "qemu":
            return parse_vm(node, vmid, status, config)
        if kind == "lxc":
            return parse_container(node, vmid, status, config)
    except PropertyStringError as exc:
        raise GuestConfigError(str(exc)) from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        # Values of a shape no Proxmox writes (a list where a string belongs, a non-numeric rate):
        # the guest is reported, the import goes on.
        raise GuestConfigError(f"unexpected value ({type(exc).__name__}: {exc})") from None
    raise GuestConfigError(f"unknown guest type {kind!r} (expected qemu or lxc)")
