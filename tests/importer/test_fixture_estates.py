"""The fixture estates hold what a real Proxmox VE 9.1 could answer, checked against its API description."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.fake_proxmox import Estate, estate_names
from tests.support.pve_apidata import ApiDescription, check_property_string, check_value, config_property_spec


def _problems(returns: dict[str, Any], key: str, value: Any) -> list[str]:
    spec = config_property_spec(returns, key)
    if spec is None:
        return [f"{key}: not a config key of this guest type"]
    fmt = spec.get("format")
    if isinstance(fmt, dict):
        return [f"{key}: {p}" for p in check_property_string(fmt, str(value))]
    if spec.get("type") == "array":
        return [] if isinstance(value, list) else [f"{key}: expected an array"]
    return [f"{key}: {p}" for p in check_value(spec, str(value))]


@pytest.mark.parametrize("name", estate_names())
def test_guest_configs_match_the_api_description(name: str) -> None:
    api = ApiDescription.load()
    problems = []
    for guest in Estate.load(name).guests:
        endpoint = api.endpoint(f"/nodes/{{node}}/{guest.kind}/{{vmid}}/config", "GET")
        assert endpoint is not None
        returns = endpoint.info["returns"]
        for key, value in guest.config.items():
            problems += [f"{guest.vmid} {p}" for p in _problems(returns, key, value)]
    assert problems == []


def test_the_property_string_check_can_fail() -> None:
    api = ApiDescription.load()
    endpoint = api.endpoint("/nodes/{node}/qemu/{vmid}/config", "GET")
    assert endpoint is not None
    returns = endpoint.info["returns"]
    assert _problems(returns, "net0", "virtio=BC:24:11:00:00:01,bridge=vmbr0,vlan=10")  # `tag`, not `vlan`
    assert _problems(returns, "scsi0", "local-lvm:vm-1-disk-0,cache=fast")  # not in the enum
    assert _problems(returns, "netx", "1")


@pytest.mark.parametrize("name", estate_names())
def test_estates_cover_what_the_import_must_handle(name: str) -> None:
    estate = Estate.load(name)
    kinds = {g.kind for g in estate.guests}
    assert kinds == {"qemu", "lxc"}
    assert any(len([k for k in g.config if k.startswith("net")]) >= 2 for g in estate.guests)


def test_homelab_estate_is_a_multi_host_estate_with_templates() -> None:
    estate = Estate.load("homelab")
    assert len(estate.nodes) == 3
    assert len({g.node for g in estate.guests}) == 3
    assert {g.kind for g in estate.guests if g.config.get("template")} == {"qemu", "lxc"}
    assert any("tag=" in str(v) for g in estate.guests for v in g.config.values())
    assert any("ipconfig0" in g.config and "sshkeys" in g.config for g in estate.guests)
