"""The schema checker: unknown, misused and missing arguments are found; valid files pass."""

from __future__ import annotations

import pytest

from homelabeazy.converge.files.bpg_schema import RESOURCES, schema_problems_in_text

VALID_VM = """
resource "proxmox_virtual_environment_vm" "node" {
  for_each  = var.nodes
  name      = each.key
  node_name = each.value.host
  tags      = ["homelab", each.value.role]
  cpu {
    cores = each.value.cores
  }
  dynamic "clone" {
    for_each = var.template == null ? [] : [var.template]
    content {
      vm_id = clone.value.vm_id
    }
  }
  initialization {
    ip_config {
      ipv4 {
        address = each.value.cidr
        gateway = each.value.gateway
      }
    }
  }
  lifecycle {
    ignore_changes = [tags]
  }
}
"""


def test_valid_vm_has_no_problems() -> None:
    assert schema_problems_in_text(VALID_VM) == []


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("vlan = 3", "vm.a.vlan: unknown argument"),
        ("network_device {\n vlan = 2\n}", "vm.a.network_device.vlan: unknown argument"),
        ("cpu = { cores = 2 }", "vm.a.cpu: is a block"),
        ("tags {\n x = 1\n}", "vm.a.tags: is an argument"),
        ("gpu {\n x = 1\n}", "vm.a.gpu: unknown block"),
        ("disk {\n size = 3\n}", "vm.a.disk: required argument `interface` is missing"),
        ('dynamic "disc" {\n for_each = []\n content {\n size = 3\n }\n}', "vm.a.disc: unknown block in"),
        (
            'dynamic "disk" {\n for_each = []\n content {\n size = 3\n }\n}',
            "vm.a.disk: required argument `interface`",
        ),
        ("initialization {\n ip_config {\n ipv4 {\n adress = 1\n }\n }\n}", "ipv4.adress: unknown argument"),
    ],
    ids=["top-arg", "nested-arg", "block-as-arg", "arg-as-block", "unknown-block", "required", "dyn-unknown",
         "dyn-required", "deep"],
)  # fmt: skip
def test_vm_problem_is_found(snippet: str, expected: str) -> None:
    text = f'resource "proxmox_virtual_environment_vm" "a" {{\n  node_name = "pve1"\n  {snippet}\n}}\n'
    problems = [str(p) for p in schema_problems_in_text(text)]
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_missing_required_top_level_and_block() -> None:
    text = 'resource "proxmox_virtual_environment_container" "c" {\n  description = "x"\n}\n'
    problems = {str(p) for p in schema_problems_in_text(text)}
    assert problems == {
        "proxmox_virtual_environment_container.c: required argument `node_name` is missing",
        "proxmox_virtual_environment_container.c: required block `operating_system` is missing",
    }


def test_container_documented_blocks_pass() -> None:
    text = """
resource "proxmox_virtual_environment_container" "c" {
  node_name     = "pve1"
  vm_id         = 300
  description   = "x"
  unprivileged  = true
  start_on_boot = true
  started       = true
  tags          = ["a"]
  initialization {
    hostname = "ct"
    ip_config {
      ipv4 {
        address = "10.0.0.2/24"
        gateway = "10.0.0.1"
      }
    }
  }
  cpu {
    cores = 1
  }
  memory {
    dedicated = 512
  }
  disk {
    datastore_id = "local-lvm"
    size         = 4
  }
  network_interface {
    name    = "eth0"
    vlan_id = 10
  }
  operating_system {
    template_file_id = "local:vztmpl/debian.tar.zst"
    type             = "debian"
  }
  features {
    nesting = true
  }
}
"""
    assert schema_problems_in_text(text) == []


def test_unknown_provider_resource_type_is_reported_others_ignored() -> None:
    text = 'resource "proxmox_virtual_environment_foo" "f" {}\nresource "null_resource" "n" {\n  x = 1\n}\n'
    problems = [str(p) for p in schema_problems_in_text(text)]
    assert problems == [
        "proxmox_virtual_environment_foo.f: resource type proxmox_virtual_environment_foo"
        " is not in bpg_schema"
    ]


def test_every_resource_requires_node_name() -> None:
    for name, block in RESOURCES.items():
        assert "node_name" in block.required, name
