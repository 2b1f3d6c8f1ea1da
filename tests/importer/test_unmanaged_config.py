"""The `unmanaged:` section: schema and the collision check, good and bad."""

from __future__ import annotations

import pytest

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.errors import ConfigError


def _with(entries: str) -> str:
    return example_text() + "\nunmanaged:\n" + entries


def test_unmanaged_guests_outside_the_homelabs_addresses_are_valid() -> None:
    loaded = load_config(
        _with(
            "  - {name: pihole, vmid: 200, node: pve1, kind: lxc, ip: 10.10.10.253}\n"
            "  - {name: nas, vmid: 300, node: pve1, kind: qemu}\n"
        )
    )
    assert [g.name for g in loaded.config.unmanaged] == ["pihole", "nas"]


def test_unmanaged_guest_inside_the_node_range_is_a_located_warning() -> None:
    loaded = load_config(example_text())
    first = loaded.config.cluster.node_ip_range.split("-")[0]
    text = _with(f"  - {{name: legacy, vmid: 300, node: pve1, kind: qemu, ip: {first}}}\n")
    warnings = load_config(text).warnings
    line = len(example_text().splitlines()) + 3
    assert [(p.path, p.line, p.severity) for p in warnings if p.path.startswith("unmanaged")] == [
        ("unmanaged[0].ip", line, "warning")
    ]
    (unmanaged,) = (p for p in warnings if p.path.startswith("unmanaged"))
    assert "legacy already uses 10.10.10.20, inside cluster.node_ip_range" in unmanaged.message


def test_duplicate_vmid_is_an_error_and_vip_clash_a_warning() -> None:
    vip = load_config(example_text()).config.cluster.vip
    text = _with(
        f"  - {{name: a, vmid: 300, node: pve1, kind: qemu, ip: {vip}}}\n"
        "  - {name: b, vmid: 300, node: pve1, kind: lxc}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(text)
    found = {(p.severity, p.message.split(",")[0]) for p in info.value.problems}
    assert ("error", "VMID 300 is listed twice (also unmanaged[0])") in found
    assert ("warning", f"a already uses {vip}") in found


@pytest.mark.parametrize(
    "entry",
    ["{name: x, vmid: 99, node: pve1, kind: qemu}", "{name: x, vmid: 300, node: pve1, kind: openvz}",
     "{name: x, vmid: 300, node: pve1, kind: qemu, color: red}"],
    ids=["vmid-range", "kind", "unknown-key"],
)  # fmt: skip
def test_bad_entries_fail_the_schema(entry: str) -> None:
    with pytest.raises(ConfigError):
        load_config(_with(f"  - {entry}\n"))
