"""The terraform renderer: golden files, data from the model only, placement, overrides, secrets."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hcl2
import pytest

from homelabeazy.converge.deep import VALIDATORS, validate_rendered
from homelabeazy.converge.files.bpg_schema import schema_problems
from homelabeazy.converge.files.terraform import validate_terraform
from homelabeazy.model import Homelab
from homelabeazy.render import render_all
from homelabeazy.render.terraform import BACKEND, TFVARS, render
from tests.support.golden import assert_golden
from tests.terraform.conftest import two_hosts

Variant = Callable[[Callable[[dict[str, Any]], None]], Homelab]


def tfvars_of(homelab: Homelab) -> dict[str, Any]:
    return json.loads(render(homelab)[TFVARS])


def test_golden_example(example_homelab: Homelab) -> None:
    assert_golden(render(example_homelab), "terraform")


def test_render_is_deterministic(example_homelab: Homelab) -> None:
    assert render(example_homelab) == render(example_homelab)


def test_file_list(example_homelab: Homelab) -> None:
    assert sorted(render(example_homelab)) == [
        "terraform/.gitignore",
        "terraform/homelab.auto.tfvars.json",
        "terraform/main.tf",
        "terraform/outputs.tf",
        "terraform/variables.tf",
        "terraform/versions.tf",
    ]


def test_every_tf_file_parses_and_fits_the_provider_schema(example_homelab: Homelab) -> None:
    tf_files = {p: t for p, t in render(example_homelab).items() if p.endswith(".tf")}
    used = set()
    for path, text in tf_files.items():
        parsed = hcl2.loads(text)
        assert schema_problems(parsed) == [], path
        for block in parsed.get("resource", []):
            used.update(k.strip('"') for k in block)
    assert used == {"proxmox_virtual_environment_vm", "proxmox_virtual_environment_download_file"}


@pytest.mark.slow  # the whole deep validation
def test_deep_validator_is_registered_and_clean(example_homelab: Homelab) -> None:
    assert validate_terraform in VALIDATORS
    assert validate_rendered(example_homelab, None) == []


def test_deep_validator_catches_a_schema_typo_and_a_type_error(example_homelab: Homelab) -> None:
    files = render(example_homelab)
    files["terraform/main.tf"] = files["terraform/main.tf"].replace("vlan_id = each", "vlan = each")
    data = json.loads(files[TFVARS])
    data["nodes"]["k3s-server-1"]["vm_id"] = "200"
    del data["dns"]
    data["extra"] = 1
    files[TFVARS] = json.dumps(data)
    problems = validate_terraform(files)
    assert any("network_device.vlan: unknown argument" in p for p in problems), problems
    assert any("nodes.k3s-server-1.vm_id: expected a number, got a string" in p for p in problems)
    assert any("dns: required variable has no value" in p for p in problems)
    assert any("extra: no such variable" in p for p in problems)


def test_node_facts_equal_the_model(example_homelab: Homelab) -> None:
    nodes = tfvars_of(example_homelab)["nodes"]
    assert sorted(nodes) == sorted(n.name for n in example_homelab.nodes)
    for node in example_homelab.nodes:
        entry = nodes[node.name]
        assert entry["vlan_id"] == node.vlan_id == example_homelab.services_zone.vlan_id
        assert entry["ip"] == str(node.ip)
        assert entry["ipv4_address"] == f"{node.ip}/{example_homelab.services_zone.cidr.prefixlen}"
        assert entry["ipv4_gateway"] == str(example_homelab.services_zone.gateway)
        assert (entry["vm_id"], entry["host"], entry["role"]) == (node.vmid, node.host, node.role)
        assert (entry["cores"], entry["memory_mb"], entry["disk_gb"]) == (
            node.cores,
            node.memory_mb,
            node.disk_gb,
        )


def test_servers_start_before_agents(example_homelab: Homelab) -> None:
    nodes = tfvars_of(example_homelab)["nodes"]
    server_orders = {v["startup_order"] for v in nodes.values() if v["role"] == "server"}
    agent_orders = {v["startup_order"] for v in nodes.values() if v["role"] == "agent"}
    assert max(server_orders) < min(agent_orders)


def test_two_hosts_spread_servers(variant: Variant) -> None:
    nodes = tfvars_of(variant(two_hosts))["nodes"]
    server_hosts = [v["host"] for k, v in sorted(nodes.items()) if v["role"] == "server"]
    assert set(server_hosts) == {"pve1", "pve2"}
    assert max(server_hosts.count(h) for h in set(server_hosts)) == 2  # 3 servers over 2 hosts


def test_one_node_override_changes_only_that_node(example_homelab: Homelab, variant: Variant) -> None:
    def bigger(data: dict[str, Any]) -> None:
        data["cluster"]["node_overrides"] = {"k3s-agent-2": {"cores": 8, "memory_mb": 16384, "disk_gb": 128}}

    before = tfvars_of(example_homelab)
    after = tfvars_of(variant(bigger))
    changed = {k for k in before["nodes"] if before["nodes"][k] != after["nodes"][k]}
    assert changed == {"k3s-agent-2"}
    assert (
        after["nodes"]["k3s-agent-2"] | {"cores": 4, "memory_mb": 8192, "disk_gb": 64}
        == before["nodes"]["k3s-agent-2"]
    )
    assert {k: v for k, v in before.items() if k != "nodes"} == {
        k: v for k, v in after.items() if k != "nodes"
    }


def test_adding_an_agent_renumbers_nothing(example_homelab: Homelab, variant: Variant) -> None:
    def more(data: dict[str, Any]) -> None:
        data["cluster"]["agents"]["count"] = 3

    before, after = tfvars_of(example_homelab)["nodes"], tfvars_of(variant(more))["nodes"]
    assert set(after) - set(before) == {"k3s-agent-3"}
    assert all(after[k] == v for k, v in before.items())


def test_template_mode_clones_instead_of_downloading(variant: Variant) -> None:
    def template(data: dict[str, Any]) -> None:
        del data["proxmox"]["image"]
        data["proxmox"]["template"] = {"vm_id": 9000, "node": "pve1", "full_clone": False}

    homelab = variant(template)
    tfvars = tfvars_of(homelab)
    assert tfvars["image"] is None
    assert tfvars["template"] == {"vm_id": 9000, "node": "pve1", "full": False}
    assert validate_terraform(render(homelab)) == []


def test_checksum_is_passed_when_given(variant: Variant) -> None:
    digest = "ab" * 64

    def checksum(data: dict[str, Any]) -> None:
        data["proxmox"]["image"]["checksum"] = digest
        data["proxmox"]["image"]["file_name"] = "debian-12.qcow2"

    image = tfvars_of(variant(checksum))["image"]
    assert (image["checksum"], image["checksum_algorithm"], image["file_name"]) == (
        digest,
        "sha512",
        "debian-12.qcow2",
    )


def test_backend_only_when_configured(example_homelab: Homelab, variant: Variant) -> None:
    assert BACKEND not in render(example_homelab)

    def s3(data: dict[str, Any]) -> None:
        data["proxmox"]["state_backend"] = {"bucket": "tfstate", "endpoint": "https://minio.example:9000"}

    files = render(variant(s3))
    backend = json.loads(files[BACKEND])["terraform"]["backend"]["s3"]
    assert backend["bucket"] == "tfstate"
    assert backend["key"] == "homelab/terraform.tfstate"
    assert backend["endpoints"] == {"s3": "https://minio.example:9000"}
    assert not {k for k in backend if "key_id" in k or "secret" in k or "token" in k}


def test_provider_block_is_configured_from_the_environment_only(example_homelab: Homelab) -> None:
    versions = hcl2.loads(render(example_homelab)["terraform/versions.tf"])
    provider = versions["provider"][0]
    body = next(iter(provider.values()))
    assert {k for k in body if not k.startswith("__")} == set()
    required = versions["terraform"][0]["required_providers"][0]["proxmox"]
    assert required["source"].strip('"') == "bpg/proxmox"
    assert re.fullmatch(r"\d+\.\d+\.\d+", required["version"].strip('"')), (
        "the provider must be pinned exactly"
    )
    assert versions["terraform"][0]["required_version"].strip('"') == ">= 1.6"


TOKEN_SECRET = "0b7e1a52-9f3c-4c4e-8d2a-5f1e2d3c4b5a"


def test_no_secret_in_any_rendered_file(
    example_homelab: Homelab, variant: Variant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROXMOX_VE_API_TOKEN", f"terraform@pve!homelab={TOKEN_SECRET}")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", TOKEN_SECRET)

    def s3(data: dict[str, Any]) -> None:
        data["proxmox"]["state_backend"] = {"bucket": "tfstate", "endpoint": "https://minio.example:9000"}

    for homelab in (example_homelab, variant(s3)):
        for path, text in render(homelab).items():
            assert TOKEN_SECRET not in text, path
            assert not re.search(r"![A-Za-z0-9._-]+=[^<\s]", text), path  # `=<secret>` placeholder only
            assert not re.search(r"(?i)\b(api_token|password|secret_key|access_key)\s*[=:]", text), path


def test_detect_secrets_finds_nothing(example_homelab: Homelab, tmp_path: Path) -> None:
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    files = render_all(example_homelab, ["terraform"])
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    secrets = SecretsCollection()
    with default_settings():
        for rel in files:
            secrets.scan_file(str(tmp_path / rel))
    found = [(Path(name).name, s.type, s.line_number) for name, s in secrets]
    # The one published SSH *public* key is the only high-entropy string allowed.
    keys_line = [i + 1 for i, line in enumerate(files[TFVARS].splitlines()) if "ssh-ed25519" in line]
    assert [f for f in found if not (f[0] == "homelab.auto.tfvars.json" and f[2] in keys_line)] == []


def test_two_hosts_download_the_image_on_each(variant: Variant) -> None:
    text = render(variant(two_hosts))["terraform/main.tf"]
    assert "for node in values(var.nodes) : node.host" in text
    hosts = {v["host"] for v in tfvars_of(variant(two_hosts))["nodes"].values()}
    assert hosts == {"pve1", "pve2"}


class _Recorder:
    """Wraps the model and records which attributes the renderer reads."""

    def __init__(self, target: object, prefix: str, seen: set[str]) -> None:
        self._target, self._prefix, self._seen = target, prefix, seen

    def __getattr__(self, name: str) -> Any:
        path = f"{self._prefix}.{name}"
        self._seen.add(path)
        value = getattr(self._target, name)
        return (
            _Recorder(value, path, self._seen)
            if path in {"homelab.config", "homelab.config.network"}
            else value
        )


def test_renderer_reads_only_the_documented_parts_of_the_model(example_homelab: Homelab) -> None:
    seen: set[str] = set()
    render(_Recorder(example_homelab, "homelab", seen))  # type: ignore[arg-type]
    assert seen <= {
        "homelab.nodes",
        "homelab.cluster",
        "homelab.domain",
        "homelab.config",
        "homelab.config.proxmox",
        "homelab.config.network",
        "homelab.config.network.dns_servers",
    }, seen
    assert {"homelab.nodes", "homelab.config.proxmox"} <= seen
