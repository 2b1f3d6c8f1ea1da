"""Who a guest is and how it starts: the settings QEMU VMs and LXC containers share.

Read once here so a VM and a container name, tag and start the same way in the generated
Terraform; the kind-specific parts live in `qemu.py` and `lxc.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homelabeazy.importer.config_keys import ConfigKeys, sub_fields
from homelabeazy.importer.propstring import (
    FieldSpec,
    as_int,
    parse_bool,
    parse_tags,
    split_property_string,
)

# Proxmox's documented value of an absent `onboot`, written out because the provider's own default
# differs (true): left implicit, the first `terraform plan` would show a change.
PVE_DEFAULT_ONBOOT = False


@dataclass(frozen=True)
class GuestIdentity:
    """What every guest has, whatever its kind: where it runs, its id and name, its labels."""

    node: str
    vmid: int
    name: str
    started: bool
    template: bool = False
    description: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class KindSpelling:
    """How a guest kind spells the shared settings (Proxmox and the provider differ per kind)."""

    name_key: str
    """The config key of the guest's name: `name` for QEMU, `hostname` for LXC."""
    default_name: str
    """The name Proxmox shows for a guest without one, formatted with `vmid`."""
    boot_field: str
    """The record field for `onboot`: the provider's `on_boot` or `start_on_boot`."""


@dataclass(frozen=True)
class Startup:
    """Boot order and delays: `startup: order=2,up=30,down=60`."""

    order: int | None = None
    up_delay: int | None = None
    down_delay: int | None = None


_STARTUP_FIELDS: FieldSpec = {
    "order": ("order", as_int),
    "up_delay": ("up", as_int),
    "down_delay": ("down", as_int),
}


def is_template(keys: ConfigKeys) -> bool:
    """Whether the guest is a template (taken first: a template is never reported as started)."""
    return parse_bool(keys.take("template") or 0)


def identity_fields(
    keys: ConfigKeys, spelling: KindSpelling, *, node: str, vmid: int, status: str, template: bool
) -> dict[str, Any]:
    """The `GuestIdentity` fields of a guest and its start-on-boot flag, as its kind spells them."""
    return {
        "node": node,
        "vmid": vmid,
        "name": str(keys.take(spelling.name_key) or spelling.default_name.format(vmid=vmid)),
        "started": status == "running" and not template,
        "template": template,
        "description": keys.text("description"),
        "tags": tuple(parse_tags(str(keys.take("tags") or ""))),
        spelling.boot_field: parse_bool(keys.take("onboot") or PVE_DEFAULT_ONBOOT),
    }


def parse_startup(keys: ConfigKeys) -> Startup | None:
    """`startup`, or None when absent or when the provider could not express it."""
    text = keys.take("startup")
    if text is None:
        return None
    props = split_property_string(str(text), "order")
    if "order" not in props:
        # The provider's startup block requires an order; Proxmox does not.
        keys.skip("startup", "delays without a start order; the provider needs `order` to set them")
        return None
    return Startup(**sub_fields(keys.unmapped, "startup", props, _STARTUP_FIELDS))
