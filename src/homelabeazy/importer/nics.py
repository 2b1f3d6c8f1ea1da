"""Network interfaces: QEMU and LXC `netN` values and cloud-init's per-interface addresses.

Each format is declared once as a field spec (dataclass field <- sub-key, converter); the sub-keys a
spec maps are also the ones not reported as unmapped, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from homelabeazy.importer.config_keys import GuestConfigError, Unmapped, note_extra, sub_fields
from homelabeazy.importer.propstring import (
    FieldSpec,
    as_bool,
    as_float,
    as_int,
    as_text,
    read_fields,
    spec_keys,
    split_property_string,
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


_IP_FIELDS: FieldSpec = {
    "ipv4_address": ("ip", as_text),
    "ipv4_gateway": ("gw", as_text),
    "ipv6_address": ("ip6", as_text),
    "ipv6_gateway": ("gw6", as_text),
}
# What a QEMU and an LXC NIC both say about the link.
_LINK_FIELDS: FieldSpec = {
    "bridge": ("bridge", as_text),
    "vlan_id": ("tag", as_int),
    "firewall": ("firewall", as_bool),
    "mtu": ("mtu", as_int),
}
_RATE: FieldSpec = {"rate_limit": ("rate", as_float)}
_QEMU_NIC_FIELDS: FieldSpec = {
    **_LINK_FIELDS,
    "queues": ("queues", as_int),
    **_RATE,
    "disconnected": ("link_down", as_bool),
    "trunks": ("trunks", as_text),
}
_CONTAINER_NIC_FIELDS: FieldSpec = {**_LINK_FIELDS, **_RATE, "mac_address": ("hwaddr", as_text)}
# `type` is always veth; `link_down` is reported on its own, with the reason.
_CONTAINER_NIC_KNOWN = (
    spec_keys(_CONTAINER_NIC_FIELDS) | spec_keys(_IP_FIELDS) | {"name", "link_down", "type"}
)


def _ip_config(props: Mapping[str, str]) -> IpConfig:
    return IpConfig(**read_fields(props, _IP_FIELDS))


def parse_ipconfig(text: str) -> IpConfig:
    """`ip=10.10.10.11/24,gw=10.10.10.1,ip6=auto` -> IpConfig."""
    return _ip_config(split_property_string(text))


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
    return Nic(model=model, mac_address=mac, **sub_fields(unmapped, key, props, _QEMU_NIC_FIELDS))


def parse_container_nic(key: str, text: str, unmapped: list[Unmapped]) -> ContainerNic:
    """An LXC `netN` value: `name=eth0,bridge=vmbr0,hwaddr=..,ip=..,gw=..,tag=10,firewall=1`."""
    props = split_property_string(text)
    if "name" not in props:
        raise GuestConfigError(f"{key}: {text!r} has no interface name")
    note_extra(unmapped, key, props, _CONTAINER_NIC_KNOWN)
    if as_bool(props.get("link_down", "0"), "link_down"):
        unmapped.append(
            Unmapped(
                f"{key}.link_down",
                "the provider reads every container NIC back as enabled, so a disconnected one cannot be "
                "imported without a diff; reconnect it or manage the link by hand",
                props["link_down"],
            )
        )
    return ContainerNic(name=props["name"], ip=_ip_config(props), **read_fields(props, _CONTAINER_NIC_FIELDS))


def first_static_ipv4(configs: tuple[IpConfig, ...]) -> str | None:
    """The first static IPv4 address (without prefix): DHCP and manual interfaces have none to record."""
    for config in configs:
        address = config.ipv4_address
        if address and address not in ("dhcp", "manual"):
            return address.split("/", 1)[0]
    return None
