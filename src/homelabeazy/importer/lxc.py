"""An LXC container's config -> `Container`, mapped onto `proxmox_virtual_environment_container`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from homelabeazy.importer.config_keys import ConfigKeys, Unmapped, note_extra, sub_fields
from homelabeazy.importer.disks import MountPoint, parse_mount_point, parse_rootfs
from homelabeazy.importer.identity import (
    GuestIdentity,
    KindSpelling,
    Startup,
    identity_fields,
    is_template,
    parse_startup,
)
from homelabeazy.importer.nics import ContainerNic, first_static_ipv4, parse_container_nic
from homelabeazy.importer.propstring import (
    FieldSpec,
    as_bool,
    as_int,
    as_text,
    parse_bool,
    split_list,
    split_property_string,
)

LXC_SPELLING = KindSpelling(name_key="hostname", default_name="CT{vmid}", boot_field="start_on_boot")
# Proxmox's values of an absent `memory`/`swap`, written out because the provider's defaults differ.
PVE_DEFAULT_LXC_MEMORY = 512
PVE_DEFAULT_LXC_SWAP = 512

# Settings with no provider argument yet; reported so the user knows `terraform plan` cannot see them.
_NOT_MAPPED_KEYS = ("timezone", "hookscript", "entrypoint", "env", "debug")
_FEATURE_FLAGS = ("nesting", "fuse", "keyctl")


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
class Container(GuestIdentity):
    """An LXC container as the import maps it onto `proxmox_virtual_environment_container`."""

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
        return first_static_ipv4(tuple(n.ip for n in self.nics))


_DEVICE_FIELDS: FieldSpec = {
    "gid": ("gid", as_int),
    "uid": ("uid", as_int),
    "mode": ("mode", as_text),
    "deny_write": ("deny-write", as_bool),
}


def _device(key: str, text: str, unmapped: list[Unmapped]) -> DevicePassthrough:
    props = split_property_string(text, "path")
    return DevicePassthrough(
        path=props.get("path", ""), **sub_fields(unmapped, key, props, _DEVICE_FIELDS, ("path",))
    )


def _console(keys: ConfigKeys) -> Console | None:
    if all(keys.take(key) is None for key in ("console", "cmode", "tty")):
        return None
    return Console(keys.flag("console"), keys.text("cmode"), keys.number("tty"))


def _features(value: Any, unmapped: list[Unmapped]) -> tuple[tuple[str, bool | tuple[str, ...]], ...]:
    if value is None:
        return ()
    props = split_property_string(str(value))
    out: list[tuple[str, bool | tuple[str, ...]]] = [
        (name, parse_bool(props[name])) for name in _FEATURE_FLAGS if name in props
    ]
    if "mount" in props:
        out.append(("mount", tuple(m for m in props["mount"].split(";") if m)))
    note_extra(unmapped, "features", props, {*_FEATURE_FLAGS, "mount"})
    return tuple(out)


def parse_container(node: str, vmid: int, status: str, config: Mapping[str, Any]) -> Container:
    """Map an LXC config onto the container resource; raises GuestConfigError on a malformed value."""
    keys = ConfigKeys(config)
    template = is_template(keys)
    datastore, size = parse_rootfs(keys.take("rootfs"), keys.unmapped)
    nics = tuple(parse_container_nic(k, str(v), keys.unmapped) for _, k, v in keys.indexed("net"))
    mounts = tuple(parse_mount_point(k, str(v), keys.unmapped) for _, k, v in keys.indexed("mp"))
    devices = tuple(_device(k, str(v), keys.unmapped) for _, k, v in keys.indexed("dev"))
    keys.skip("lxc", "raw lxc.* keys can only be set in the config file by root; not managed")
    console = _console(keys)
    for name in _NOT_MAPPED_KEYS:
        keys.skip(name)
    for _, key, _ in keys.indexed("unused"):
        keys.skip(key, "a detached volume is not part of the container; delete or re-attach it first")
    nameserver = keys.take("nameserver")
    container = Container(
        **identity_fields(keys, LXC_SPELLING, node=node, vmid=vmid, status=status, template=template),
        protection=keys.flag("protection"),
        unprivileged=keys.flag("unprivileged"),
        architecture=keys.text("arch"),
        cores=keys.number("cores"),
        cpu_units=keys.number("cpuunits"),
        memory=keys.number("memory", PVE_DEFAULT_LXC_MEMORY),
        swap=keys.number("swap", PVE_DEFAULT_LXC_SWAP),
        rootfs_datastore=datastore,
        rootfs_size_gb=size,
        mount_points=mounts,
        nics=nics,
        dns_domain=keys.text("searchdomain"),
        dns_servers=tuple(split_list(str(nameserver))) if nameserver else (),
        features=_features(keys.take("features"), keys.unmapped),
        os_type=keys.text("ostype"),
        startup=parse_startup(keys),
        console=console,
        devices=devices,
    )
    return replace(container, unmapped=keys.leftovers())
