"""Brownfield import: pure parsing of Proxmox guest configs and Terraform (bpg) generation.

No I/O here: `lifecycle/importer.py` reads the estate through `ops/proxmox.py` and hands the
configs to `parse_guest`; `render_import` turns the parsed guests into files for the writer.
"""

from homelabeazy.importer.config_keys import GuestConfigError, Unmapped
from homelabeazy.importer.guests import Guest, parse_guest
from homelabeazy.importer.lxc import Container
from homelabeazy.importer.qemu import Vm
from homelabeazy.importer.terraform import render_import

__all__ = ["Container", "Guest", "GuestConfigError", "Unmapped", "Vm", "parse_guest", "render_import"]
