"""A guest's Proxmox config (as `GET .../config` returns it) -> a typed description of the guest.

The entry point of parsing: it picks the kind's parser (`qemu.py`, `lxc.py`) and turns every
malformed value into one `GuestConfigError`, so a broken guest is reported and the import goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homelabeazy.importer.config_keys import GuestConfigError
from homelabeazy.importer.lxc import Container, parse_container
from homelabeazy.importer.propstring import PropertyStringError
from homelabeazy.importer.qemu import Vm, parse_vm

Guest = Vm | Container


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
