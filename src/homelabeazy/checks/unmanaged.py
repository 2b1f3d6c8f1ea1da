"""Guests the homelab does not manage (unmanaged inventory) must not collide with what it allocates."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.checks.base import Finding, check
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.ipam import parse_range


@check("unmanaged-addresses")
def unmanaged_guests_do_not_collide(config: HomelabConfig) -> Iterator[Finding]:
    """Unmanaged guests (from `homelab import --record`) have unique VMIDs; address clashes are warned.

    A clash with the cluster's addresses is a warning, not an error: in a migration the old guest
    is often the one the new node replaces, and the inventory must still be recordable.
    """
    cluster = config.cluster
    ranges = {key: parse_range(getattr(cluster, key)) for key in ("node_ip_range", "loadbalancer_range")}
    seen: dict[int, int] = {}
    for i, guest in enumerate(config.unmanaged):
        if guest.vmid in seen:
            yield Finding(
                ("unmanaged", i, "vmid"),
                f"VMID {guest.vmid} is listed twice (also unmanaged[{seen[guest.vmid]}])",
                "VMIDs are unique in a Proxmox cluster; re-run `homelab import --record`",
            )
        seen.setdefault(guest.vmid, i)
        if guest.ip is None:
            continue
        if guest.ip == cluster.vip:
            yield Finding(
                ("unmanaged", i, "ip"),
                f"{guest.name} already uses {guest.ip}, the cluster VIP",
                "move cluster.vip to a free address",
                "warning",
            )
        for key, (first, last) in ranges.items():
            if first <= guest.ip <= last:
                yield Finding(
                    ("unmanaged", i, "ip"),
                    f"{guest.name} already uses {guest.ip}, inside cluster.{key} ({first}-{last})",
                    f"shrink or move cluster.{key} so it excludes {guest.ip}",
                    "warning",
                )
