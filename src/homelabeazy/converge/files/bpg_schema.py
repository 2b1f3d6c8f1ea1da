"""The documented schema of the bpg/proxmox resources we write, and a checker for parsed .tf files.

`terraform validate` needs the provider binary, which cannot be downloaded on every machine this
project is built on; so the provider's *documented* arguments and nested blocks are kept here as
data, and every .tf file we render (or generate on import) is checked against them. A typo such as
`vlan = 10` instead of `vlan_id = 10` then fails in our tests instead of at the user's first apply.

Public API (also used by the brownfield import, keep it small):

- `RESOURCES`: resource type -> `Block` (arguments, nested blocks, required arguments).
- `schema_problems(parsed)`: every argument/block in a python-hcl2-parsed file that the schema does
  not know, used the wrong way (block vs argument), or a required argument that is missing.
- `schema_problems_in_text(text)`: the same for HCL text (parses it with python-hcl2).

Source: the provider's documentation (Argument Reference of `proxmox_virtual_environment_vm` and
`proxmox_virtual_environment_container` as of the releases with `disk.import_from` (0.79+), the
schema of `proxmox_virtual_environment_download_file` with `url`/`file_name`/`overwrite`). Later
releases only add arguments: add one here before using it. Only resources listed here are
checked; other resource types pass untouched, except `proxmox_virtual_environment_*` types, which
are reported so a new one is added here first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

PROVIDER_PREFIX = "proxmox_virtual_environment_"


@dataclass(frozen=True)
class Block:
    """One block of a resource: its arguments, its nested blocks, and which arguments it requires."""

    arguments: frozenset[str] = frozenset()
    blocks: Mapping[str, Block] = field(default_factory=dict)
    required: frozenset[str] = frozenset()


def _block(
    arguments: Iterable[str] = (), blocks: Mapping[str, Block] | None = None, required: Iterable[str] = ()
) -> Block:
    required_set = frozenset(required)
    return Block(frozenset(arguments) | required_set, dict(blocks or {}), required_set)


# Terraform's own meta-arguments, valid in every resource.
_META_ARGUMENTS = frozenset({"count", "for_each", "depends_on", "provider"})
_LIFECYCLE = _block(
    ["create_before_destroy", "prevent_destroy", "ignore_changes", "replace_triggered_by"],
    {
        "precondition": _block(required=["condition", "error_message"]),
        "postcondition": _block(required=["condition", "error_message"]),
    },
)
_META_BLOCKS: Mapping[str, Block] = {"lifecycle": _LIFECYCLE}

_STARTUP = _block(["up_delay", "down_delay"], required=["order"])
_DNS = _block(["domain", "server", "servers"])
_IP_PAIR = _block(["address", "gateway"])
_IP_CONFIG = _block(blocks={"ipv4": _IP_PAIR, "ipv6": _IP_PAIR})

VM = _block(
    [
        "acpi", "bios", "boot_order", "description", "hook_script_file_id", "keyboard_layout",
        "kvm_arguments", "machine", "migrate", "name", "on_boot", "pool_id", "protection", "reboot",
        "reboot_after_update", "scsi_hardware", "started", "stop_on_destroy", "tablet_device", "tags",
        "template", "timeout_clone", "timeout_create", "timeout_migrate", "timeout_reboot",
        "timeout_shutdown_vm", "timeout_start_vm", "timeout_stop_vm", "vm_id",
    ],
    {
        "agent": _block(["enabled", "timeout", "trim", "type"]),
        "amd_sev": _block(["type", "allow_smt", "kernel_hashes", "no_debug", "no_key_sharing"]),
        "audio_device": _block(["device", "driver", "enabled"]),
        "cdrom": _block(["enabled", "file_id", "interface"]),
        "clone": _block(["datastore_id", "node_name", "retries", "full"], required=["vm_id"]),
        "cpu": _block(
            ["architecture", "cores", "flags", "hotplugged", "limit", "numa", "sockets", "type", "units",
             "affinity"]
        ),
        "disk": _block(
            [
                "aio", "backup", "cache", "datastore_id", "path_in_datastore", "discard", "file_format",
                "file_id", "import_from", "iothread", "replicate", "serial", "size", "ssd",
            ],
            {
                "speed": _block(
                    ["iops_read", "iops_read_burstable", "iops_write", "iops_write_burstable", "read",
                     "read_burstable", "write", "write_burstable"]
                )
            },
            required=["interface"],
        ),
        "efi_disk": _block(["datastore_id", "file_format", "type", "pre_enrolled_keys"]),
        "tpm_state": _block(["datastore_id", "version"]),
        "hostpci": _block(
            ["id", "mapping", "mdev", "pcie", "rombar", "rom_file", "xvga"], required=["device"]
        ),
        "usb": _block(["host", "mapping", "usb3"]),
        "initialization": _block(
            ["datastore_id", "interface", "user_data_file_id", "vendor_data_file_id",
             "network_data_file_id", "meta_data_file_id"],
            {
                "dns": _DNS,
                "ip_config": _IP_CONFIG,
                "user_account": _block(["keys", "password", "username"]),
            },
        ),
        "memory": _block(["dedicated", "floating", "shared", "hugepages", "keep_hugepages"]),
        "numa": _block(["hostnodes", "policy"], required=["device", "cpus", "memory"]),
        "network_device": _block(
            ["bridge", "disconnected", "enabled", "firewall", "mac_address", "model", "mtu", "queues",
             "rate_limit", "vlan_id", "trunks"]
        ),
        "operating_system": _block(["type"]),
        "rng": _block(["max_bytes", "period"], required=["source"]),
        "serial_device": _block(["device"]),
        "smbios": _block(["family", "manufacturer", "product", "serial", "sku", "uuid", "version"]),
        "startup": _STARTUP,
        "vga": _block(["memory", "type", "clipboard"]),
        "virtiofs": _block(["cache", "direct_io", "expose_acl", "expose_xattr"], required=["mapping"]),
        "watchdog": _block(["enabled", "model", "action"]),
    },
    required=["node_name"],
)  # fmt: skip
"""`proxmox_virtual_environment_vm`."""

CONTAINER = _block(
    [
        "description", "hook_script_file_id", "pool_id", "protection", "started", "start_on_boot",
        "tags", "template", "timeout_clone", "timeout_create", "timeout_delete", "timeout_update",
        "unprivileged", "vm_id",
    ],
    {
        "clone": _block(["datastore_id", "node_name"], required=["vm_id"]),
        "console": _block(["enabled", "type", "tty_count"]),
        "cpu": _block(["architecture", "cores", "units"]),
        "disk": _block(["datastore_id", "size"]),
        "initialization": _block(
            ["hostname"],
            {"dns": _DNS, "ip_config": _IP_CONFIG, "user_account": _block(["keys", "password"])},
        ),
        "memory": _block(["dedicated", "swap"]),
        "mount_point": _block(
            ["acl", "backup", "mount_options", "quota", "read_only", "replicate", "shared", "size"],
            required=["path", "volume"],
        ),
        "device_passthrough": _block(["deny_write", "gid", "mode", "uid"], required=["path"]),
        "network_interface": _block(
            ["bridge", "enabled", "firewall", "mac_address", "mtu", "rate_limit", "vlan_id"],
            required=["name"],
        ),
        "operating_system": _block(["type"], required=["template_file_id"]),
        "startup": _STARTUP,
        "features": _block(["nesting", "fuse", "keyctl", "mount"]),
    },
    required=["node_name"],
)  # fmt: skip
"""`proxmox_virtual_environment_container` (its `operating_system` block is required too)."""

DOWNLOAD_FILE = _block(
    [
        "checksum", "checksum_algorithm", "decompression_algorithm", "file_name", "overwrite",
        "overwrite_unmanaged", "upload_timeout", "verify",
    ],
    required=["content_type", "datastore_id", "node_name", "url"],
)  # fmt: skip
"""`proxmox_virtual_environment_download_file`."""

RESOURCES: Mapping[str, Block] = {
    "proxmox_virtual_environment_vm": VM,
    "proxmox_virtual_environment_container": CONTAINER,
    "proxmox_virtual_environment_download_file": DOWNLOAD_FILE,
}
"""Resource type -> its documented schema."""

REQUIRED_BLOCKS: Mapping[str, frozenset[str]] = {
    "proxmox_virtual_environment_container": frozenset({"operating_system"}),
}
"""Blocks a resource cannot do without (reported when absent and not generated by `dynamic`)."""


@dataclass(frozen=True)
class SchemaProblem:
    """One place where a .tf file disagrees with the documented provider schema."""

    where: str
    """Dotted path: `proxmox_virtual_environment_vm.node.initialization.ip_config.ipv4.adress`."""
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def schema_problems(parsed: Mapping[str, Any]) -> list[SchemaProblem]:
    """Every unknown or misused argument/block of the known provider resources in a parsed file.

    `parsed` is what `hcl2.load`/`hcl2.loads` returns (python-hcl2 7 or 8). Pure: no I/O.
    """
    problems: list[SchemaProblem] = []
    for resources in parsed.get("resource", []):
        for rtype_raw, by_name in resources.items():
            rtype = _label(rtype_raw)
            for name_raw, body in by_name.items():
                where = f"{rtype}.{_label(name_raw)}"
                schema = RESOURCES.get(rtype)
                if schema is None:
                    if rtype.startswith(PROVIDER_PREFIX):
                        problems.append(SchemaProblem(where, f"resource type {rtype} is not in bpg_schema"))
                    continue
                problems.extend(_check_block(body, schema, where, top_level=True))
                present = set(_block_names(body))
                for missing in sorted(REQUIRED_BLOCKS.get(rtype, frozenset()) - present):
                    problems.append(SchemaProblem(where, f"required block `{missing}` is missing"))
    return problems


def schema_problems_in_text(text: str) -> list[SchemaProblem]:
    """`schema_problems` of HCL text (raises the parser's error on invalid HCL)."""
    import hcl2  # noqa: PLC0415 - only the validators need the parser

    return schema_problems(hcl2.loads(text))


def _label(raw: str) -> str:
    """python-hcl2 8 keeps the quotes around block labels; 7 does not."""
    return raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw


def _is_block_value(value: Any) -> bool:
    """A nested block parses as a list of dicts (marked `__is_block__` by python-hcl2 8)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) for v in value)
        and all(v.get("__is_block__", True) for v in value)
    )


def _marked_block(value: Any) -> bool:
    """Certainly a block: python-hcl2 8 marks every parsed block."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and v.get("__is_block__") is True for v in value)
    )


def _block_names(body: Mapping[str, Any]) -> Iterable[str]:
    for key, value in body.items():
        if key == "dynamic" and _is_block_value(value):
            for dyn in value:
                yield from (_label(k) for k in dyn if k != "__is_block__")
        elif _is_block_value(value):
            yield key


def _check_block(
    body: Mapping[str, Any], schema: Block, where: str, *, top_level: bool
) -> list[SchemaProblem]:
    problems: list[SchemaProblem] = []
    arguments = schema.arguments | (_META_ARGUMENTS if top_level else frozenset())
    blocks = {**schema.blocks, **(_META_BLOCKS if top_level else {})}
    for key, value in body.items():
        if key.startswith("__"):
            continue
        here = f"{where}.{key}"
        if key == "dynamic" and _is_block_value(value):
            problems.extend(_check_dynamic(value, blocks, where))
        elif key in arguments:
            if _marked_block(value):
                problems.append(SchemaProblem(here, f"is an argument: write `{key} = ...`, not a block"))
        elif key in blocks:
            if not _is_block_value(value):
                problems.append(SchemaProblem(here, f"is a block: write `{key} {{ ... }}`, not `= ...`"))
                continue
            for item in value:
                problems.extend(_check_block(item, blocks[key], here, top_level=False))
        elif _is_block_value(value):
            problems.append(SchemaProblem(here, "unknown block (not in the provider's schema)"))
        else:
            problems.append(SchemaProblem(here, "unknown argument (not in the provider's schema)"))
    present = set(body)
    for missing in sorted(schema.required - present):
        problems.append(SchemaProblem(where, f"required argument `{missing}` is missing"))
    return problems


def _check_dynamic(
    value: list[dict[str, Any]], blocks: Mapping[str, Block], where: str
) -> list[SchemaProblem]:
    """`dynamic "disk" { for_each = ..., content { ... } }` is checked as a `disk` block."""
    problems: list[SchemaProblem] = []
    for dyn in value:
        for raw, spec in dyn.items():
            if raw == "__is_block__":
                continue
            name = _label(raw)
            here = f"{where}.{name}"
            if name not in blocks:
                problems.append(
                    SchemaProblem(here, "unknown block in `dynamic` (not in the provider's schema)")
                )
                continue
            for content in spec.get("content", []):
                if isinstance(content, dict):
                    problems.extend(_check_block(content, blocks[name], here, top_level=False))
    return problems
