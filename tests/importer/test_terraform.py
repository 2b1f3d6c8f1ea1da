"""Fixture config -> HCL -> parsed back with python-hcl2 -> the same values; provider schema; fmt."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

from homelabeazy.converge.files.bpg_schema import schema_problems_in_text
from homelabeazy.importer import Container, Vm, render_import
from homelabeazy.importer.addresses import ReadFailure, resource_name
from homelabeazy.importer.hcl import Attr, Block, Expr, quote, render
from tests.importer.conftest import parsed_estate
from tests.support.fake_proxmox import estate_names
from tests.support.integration import need_binary

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}


def unquote(raw: Any) -> Any:
    """An HCL string literal as python-hcl2 8 returns it -> its value (non-strings unchanged)."""
    if not (isinstance(raw, str) and len(raw) >= 2 and raw[0] == raw[-1] == '"'):
        return raw
    body = re.sub(r"\\(.)", lambda m: _ESCAPES[m.group(1)], raw[1:-1])
    return body.replace("$${", "${").replace("%%{", "%{")


def plain(tree: Any) -> Any:
    """python-hcl2 output without block markers and quotes."""
    if isinstance(tree, dict):
        return {unquote(k): plain(v) for k, v in tree.items() if k != "__is_block__"}
    if isinstance(tree, list):
        return [plain(v) for v in tree]
    return unquote(tree)


def resources(text: str) -> dict[str, dict[str, Any]]:
    """`name -> body` of every resource in a generated file."""
    out: dict[str, dict[str, Any]] = {}
    for entry in plain(hcl2.loads(text)).get("resource", []):
        for by_name in entry.values():
            out.update(by_name)
    return out


def one(body: dict[str, Any], block: str) -> dict[str, Any]:
    items = body.get(block, [])
    assert len(items) <= 1
    return items[0] if items else {}


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def check_vm(vm: Vm, body: dict[str, Any]) -> None:
    assert body["name"] == vm.name
    assert body["vm_id"] == vm.vmid
    assert body["node_name"] == vm.node
    assert body.get("description") == vm.description
    assert body.get("tags", []) == sorted(vm.tags)
    assert body.get("on_boot") == vm.on_boot
    assert body["started"] == vm.started
    assert body.get("template", False) == vm.template
    assert one(body, "cpu") == _drop_none(
        {"cores": vm.cores, "sockets": vm.sockets, "type": vm.cpu_type, "flags": list(vm.cpu_flags) or None,
         "numa": vm.numa, "units": vm.cpu_units}
    )  # fmt: skip
    assert one(body, "memory") == _drop_none({"dedicated": vm.memory, "floating": vm.balloon})
    disks = [(d["interface"], d["datastore_id"], d["size"]) for d in body.get("disk", [])]
    assert disks == [(d.interface, d.datastore_id, d.size_gb) for d in vm.disks]
    nics = [
        (n.get("bridge"), n["model"], n.get("mac_address"), n.get("vlan_id"), n.get("firewall"))
        for n in body.get("network_device", [])
    ]
    assert nics == [(n.bridge, n.model, n.mac_address, n.vlan_id, n.firewall) for n in vm.nics]
    init = one(body, "initialization")
    if vm.cloud_init is None:
        assert init == {}
        return
    ci = vm.cloud_init
    assert init.get("datastore_id") == ci.datastore_id
    assert init.get("interface") == ci.interface
    got_ips = [
        (one(c, "ipv4").get("address"), one(c, "ipv4").get("gateway"), one(c, "ipv6").get("address"))
        for c in init.get("ip_config", [])
    ]
    assert got_ips == [(c.ipv4_address, c.ipv4_gateway, c.ipv6_address) for c in ci.ip_configs]
    user = one(init, "user_account")
    assert user.get("username") == ci.username
    assert user.get("keys", []) == list(ci.keys)


def check_container(ct: Container, body: dict[str, Any]) -> None:
    assert body["vm_id"] == ct.vmid
    assert body["node_name"] == ct.node
    assert body["started"] == ct.started
    assert body.get("start_on_boot") == ct.start_on_boot
    assert body.get("unprivileged") == ct.unprivileged
    assert one(body, "initialization")["hostname"] == ct.name
    assert one(body, "memory") == _drop_none({"dedicated": ct.memory, "swap": ct.swap})
    assert one(body, "disk") == _drop_none({"datastore_id": ct.rootfs_datastore, "size": ct.rootfs_size_gb})
    mounts = [(m["volume"], m["path"], m.get("size")) for m in body.get("mount_point", [])]
    assert mounts == [(m.volume, m.path, m.size) for m in ct.mount_points]
    nics = [
        (n["name"], n.get("bridge"), n.get("mac_address"), n.get("vlan_id"), n.get("firewall"))
        for n in body.get("network_interface", [])
    ]
    assert nics == [(n.name, n.bridge, n.mac_address, n.vlan_id, n.firewall) for n in ct.nics]
    assert one(body, "operating_system")["type"] == ct.os_type


@pytest.mark.parametrize("name", estate_names())
def test_round_trip_carries_every_mapped_setting(name: str) -> None:
    guests = parsed_estate(name)
    parsed = resources(render_import(guests)["guests.tf"])
    assert sorted(parsed) == sorted(resource_name(g) for g in guests)
    for guest in guests:
        body = parsed[resource_name(guest)]
        if isinstance(guest, Vm):
            check_vm(guest, body)
        else:
            check_container(guest, body)


def test_round_trip_values_of_the_docker_host_from_its_raw_config() -> None:
    """Independent of the parser: the values a human reads off the fixture's config strings."""
    body = resources(render_import(parsed_estate("homelab"))["guests.tf"])["docker_host_100"]
    assert [(d["interface"], d["datastore_id"], d["size"]) for d in body["disk"]] == [
        ("scsi0", "local-lvm", 32),
        ("scsi1", "tank", 500),
    ]
    assert body["disk"][0]["discard"] == "on"
    assert body["disk"][1]["backup"] is False
    assert [(n["bridge"], n["vlan_id"], n["mac_address"]) for n in body["network_device"]] == [
        ("vmbr0", 10, "BC:24:11:4A:10:01"),
        ("vmbr1", 30, "BC:24:11:4A:10:02"),
    ]
    assert body["network_device"][0]["firewall"] is True
    init = body["initialization"][0]
    assert init["ip_config"][0]["ipv4"][0] == {"address": "10.10.10.21/24", "gateway": "10.10.10.1"}
    assert init["ip_config"][1]["ipv4"][0] == {"address": "10.10.30.21/24"}
    assert init["dns"][0] == {"domain": "home.example.com", "servers": ["10.10.10.1", "1.1.1.1"]}
    assert init["user_account"][0]["username"] == "admin"
    assert init["user_account"][0]["keys"][0].startswith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq2+mV7")
    assert body["memory"][0] == {"dedicated": 8192, "floating": 2048}
    assert body["cpu"][0]["type"] == "host"
    assert body["tags"] == ["docker", "media", "prod"]
    assert body["agent"][0] == {"enabled": True, "trim": True}


def test_tricky_strings_survive_the_round_trip() -> None:
    guests = parsed_estate("single-node")
    body = resources(render_import(guests)["guests.tf"])["k3s_edge_110"]
    assert body["description"] == 'Edge node "north"\nmanaged by hand since ${2023}'


def test_imports_point_at_node_and_vmid() -> None:
    guests = parsed_estate("homelab")
    tree = plain(hcl2.loads(render_import(guests)["imports.tf"]))
    ids = sorted(block["id"] for block in tree["import"])
    assert ids == sorted(f"{g.node}/{g.vmid}" for g in guests)
    targets = {block["to"] for block in tree["import"]}
    assert "${proxmox_virtual_environment_vm.docker_host_100}" in targets or (
        "proxmox_virtual_environment_vm.docker_host_100" in targets
    )


@pytest.mark.parametrize("name", estate_names())
def test_every_argument_exists_in_the_provider_schema(name: str) -> None:
    files = render_import(parsed_estate(name))
    assert [str(p) for p in schema_problems_in_text(files["guests.tf"])] == []


def test_the_schema_check_catches_a_wrong_argument() -> None:
    text = render_import(parsed_estate("homelab"))["guests.tf"].replace("vlan_id", "vlan", 1)
    assert any("vlan" in str(p) for p in schema_problems_in_text(text))


def test_secrets_are_never_written() -> None:
    files = render_import(parsed_estate("single-node"))
    assert not any("$5$examplesalt" in text for text in files.values())
    assert "`cipassword`: a secret" in files["IMPORT_REPORT.md"]


def test_output_is_deterministic_and_order_independent() -> None:
    guests = parsed_estate("homelab")
    assert render_import(guests) == render_import(list(reversed(guests)))


def test_report_lists_unmapped_settings_and_failures() -> None:
    failure = ReadFailure("pve3", "qemu", 104, "broken", "GET /nodes/pve3/qemu/104/config: HTTP 500")
    report = render_import(parsed_estate("homelab"), [failure])["IMPORT_REPORT.md"]
    assert "- `hostpci0` (`0000:01:00,pcie=1,x-vga=1`): PCI passthrough" in report
    assert "## Could not be read" in report
    assert "pve3/104 broken (qemu): GET /nodes/pve3/qemu/104/config" in report
    assert "container_template_file_id" in report


def test_hcl_quoting() -> None:
    assert quote('a"b\\c\n${x}%{y}') == '"a\\"b\\\\c\\n$${x}%%{y}"'
    text = render([Block("b", ("l",), [Attr("x", 1), Attr("long_name", Expr("var.y")), Block("c")])])
    assert text == 'b "l" {\n  x         = 1\n  long_name = var.y\n\n  c {\n  }\n}\n'


@pytest.mark.integration
@pytest.mark.parametrize("name", estate_names())
def test_terraform_fmt_accepts_generated_files(name: str, tmp_path: Path) -> None:
    terraform = need_binary("terraform", "install Terraform >= 1.5 from releases.hashicorp.com")
    for rel, text in render_import(parsed_estate(name)).items():
        (tmp_path / rel).write_text(text)
    result = subprocess.run(
        [terraform, "fmt", "-check", "-diff", "-recursive", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
