"""A VM's cloud-init: the drive, and what Proxmox generates into it (user, keys, addresses, DNS).

The password is the one setting never carried over: it is a secret, so it is only named in the
report and the user sets it themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homelabeazy.importer.config_keys import ConfigKeys, Unmapped, note_extra
from homelabeazy.importer.nics import IpConfig, parse_ipconfig
from homelabeazy.importer.propstring import (
    FieldSpec,
    as_text,
    decode_sshkeys,
    read_fields,
    spec_keys,
    split_list,
    split_property_string,
)


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


# `cicustom: user=local:snippets/u.yaml,...`: snippets that replace what Proxmox would generate.
_CUSTOM_FIELDS: FieldSpec = {
    "user_data_file_id": ("user", as_text),
    "network_data_file_id": ("network", as_text),
    "vendor_data_file_id": ("vendor", as_text),
    "meta_data_file_id": ("meta", as_text),
}


def _cicustom(value: Any, unmapped: list[Unmapped]) -> dict[str, str]:
    if value is None:
        return {}
    props = split_property_string(str(value))
    note_extra(unmapped, "cicustom", props, spec_keys(_CUSTOM_FIELDS))
    return props


def _ip_slots(ipconfigs: list[tuple[int, str, Any]]) -> tuple[IpConfig, ...]:
    # Positional, one per NIC: a gap (ipconfig0 absent, ipconfig1 set) stays an empty slot.
    slots = [IpConfig()] * (max((i for i, _, _ in ipconfigs), default=-1) + 1)
    for index, _, text in ipconfigs:
        slots[index] = parse_ipconfig(str(text))
    return tuple(slots)


def parse_cloud_init(keys: ConfigKeys, cloud_drive: tuple[str, str] | None) -> CloudInit | None:
    """The VM's cloud-init settings with its drive (datastore, key); None when it uses none."""
    ipconfigs = keys.indexed("ipconfig")
    user = keys.take("ciuser")
    sshkeys = keys.take("sshkeys")
    custom = _cicustom(keys.take("cicustom"), keys.unmapped)
    nameserver = keys.take("nameserver")
    searchdomain = keys.take("searchdomain")
    keys.skip("cipassword", "a secret: never written to generated files; set user_account.password yourself")
    keys.skip("ciupgrade")
    keys.skip("citype")
    if not (cloud_drive or ipconfigs or user or sshkeys or custom):
        return None
    return CloudInit(
        datastore_id=cloud_drive[0] if cloud_drive else None,
        interface=cloud_drive[1] if cloud_drive else None,
        ip_configs=_ip_slots(ipconfigs),
        username=str(user) if user is not None else None,
        keys=tuple(decode_sshkeys(str(sshkeys))) if sshkeys else (),
        dns_domain=str(searchdomain) if searchdomain else None,
        dns_servers=tuple(split_list(str(nameserver))) if nameserver else (),
        **read_fields(custom, _CUSTOM_FIELDS),
    )
