"""Storage: QEMU disks, CD-ROMs, EFI vars and TPM state; LXC root filesystems and mount points.

Terraform manages a volume only when it lives on a datastore (`local-lvm:vm-100-disk-0`); one on a
host path or device is reported, never guessed at. Each format's sub-keys are declared once as a
field spec, which also says which sub-keys are carried over.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar

from homelabeazy.importer.config_keys import ConfigKeys, GuestConfigError, Unmapped, note_extra, sub_fields
from homelabeazy.importer.propstring import (
    FieldSpec,
    as_bool,
    as_text,
    size_whole_gib,
    split_property_string,
    volume_datastore,
)

DISK_BUSES = ("scsi", "virtio", "sata", "ide")


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


_DISK_FIELDS: FieldSpec = {
    "iothread": ("iothread", as_bool),
    "ssd": ("ssd", as_bool),
    "discard": ("discard", as_text),
    "cache": ("cache", as_text),
    "aio": ("aio", as_text),
    "backup": ("backup", as_bool),
    "replicate": ("replicate", as_bool),
}
# Sub-keys the Disk itself stands for (volume, size, media) or leaves to the provider (format).
_DISK_OWN = ("file", "size", "format", "media")
_EFI_FIELDS: FieldSpec = {"type": ("efitype", as_text), "pre_enrolled_keys": ("pre-enrolled-keys", as_bool)}
_TPM_FIELDS: FieldSpec = {"version": ("version", as_text)}
_MOUNT_FIELDS: FieldSpec = {
    "size": ("size", as_text),
    "backup": ("backup", as_bool),
    "read_only": ("ro", as_bool),
    "acl": ("acl", as_bool),
    "quota": ("quota", as_bool),
    "replicate": ("replicate", as_bool),
    "shared": ("shared", as_bool),
}
_CLOUD_INIT_VOLUME = re.compile(r"(^|[:/])vm-\d+-cloudinit(\.\w+)?$")

_Volume = TypeVar("_Volume", EfiDisk, TpmState)


def parse_qemu_disk(interface: str, text: str, unmapped: list[Unmapped]) -> Disk | Cdrom | str | None:
    """A `scsiN`/`virtioN`/`sataN`/`ideN` value: a Disk, a Cdrom, a cloud-init datastore (str), or None."""
    props = split_property_string(text, "file")
    volume = props.get("file", "")
    store = volume_datastore(volume)
    if props.get("media") == "cdrom":
        if _CLOUD_INIT_VOLUME.search(volume) and store:
            return store
        return Cdrom(interface, volume or "none")
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
    fields = sub_fields(unmapped, interface, props, _DISK_FIELDS, _DISK_OWN)
    return Disk(interface=interface, datastore_id=store, size_gb=size, **fields)


def qemu_drives(keys: ConfigKeys) -> tuple[list[Disk], list[Cdrom], tuple[str, str] | None]:
    """Every bus's drives: disks in the provider's order, CD-ROMs, the cloud-init drive (datastore, key)."""
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


def _datastore_volume(  # noqa: PLR0917 - one call per volume kind, each a line of data
    record: Callable[..., _Volume],
    key: str,
    what: str,
    value: Any,
    unmapped: list[Unmapped],
    spec: FieldSpec,
    implied: Collection[str] = (),
) -> _Volume | None:
    """A `file=`-first volume the provider places on a datastore; on a host path it is reported.

    `implied` names sub-keys left to the provider (a size fixed by the EFI type), so they are
    not reported as unmapped.
    """
    if value is None:
        return None
    props = split_property_string(str(value), "file")
    store = volume_datastore(props.get("file", ""))
    if store is None:
        unmapped.append(Unmapped(key, f"{what} on a host path; not managed", str(value)))
        return None
    return record(store, **sub_fields(unmapped, key, props, spec, {"file", *implied}))


def parse_efi_disk(value: Any, unmapped: list[Unmapped]) -> EfiDisk | None:
    """`efidisk0`: the EFI vars volume, or None when absent or on a host path."""
    return _datastore_volume(
        EfiDisk, "efidisk0", "EFI vars", value, unmapped, _EFI_FIELDS, ("size", "format")
    )


def parse_tpm_state(value: Any, unmapped: list[Unmapped]) -> TpmState | None:
    """`tpmstate0`: the TPM state volume, or None when absent or on a host path."""
    return _datastore_volume(TpmState, "tpmstate0", "TPM state", value, unmapped, _TPM_FIELDS, ("size",))


def parse_mount_point(key: str, text: str, unmapped: list[Unmapped]) -> MountPoint:
    """An LXC `mpN` value: a storage volume (datastore:volume) or a bind-mounted host path."""
    props = split_property_string(text, "volume")
    if "mp" not in props or "volume" not in props:
        raise GuestConfigError(f"{key}: {text!r} needs a volume and mp=")
    fields = sub_fields(unmapped, key, props, _MOUNT_FIELDS, ("volume", "mp"))
    # The full volume id (`tank:subvol-201-disk-1`) or host path: what the provider reads back.
    return MountPoint(volume=props["volume"], path=props["mp"], **fields)


def parse_rootfs(value: Any, unmapped: list[Unmapped]) -> tuple[str | None, int | None]:
    """An LXC `rootfs`: (datastore, whole GiB); one the provider cannot express is reported."""
    if value is None:
        return None, None
    props = split_property_string(str(value), "volume")
    store = volume_datastore(props.get("volume", ""))
    size = size_whole_gib(props["size"]) if "size" in props else None
    if store is None or (size is None and "size" in props):
        unmapped.append(
            Unmapped("rootfs", "root filesystem on a host path or of a fractional GiB size", str(value))
        )
    note_extra(unmapped, "rootfs", props, {"volume", "size"})
    return store, size
