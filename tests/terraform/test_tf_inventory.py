"""tf-inventory: terraform's `nodes` output becomes the same inventory the model renders."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from homelabeazy.config.starter import example_text
from homelabeazy.errors import ExternalSystemError
from homelabeazy.model import Homelab
from homelabeazy.render.inventory import inventory_for
from homelabeazy.render.terraform import TFVARS, render
from homelabeazy.render.terraform_inventory import inventory_from_outputs
from tests.terraform.conftest import homelab_from, two_hosts
from tests.terraform.fake_terraform import install


def outputs_as_terraform_prints(homelab: Homelab) -> dict[str, Any]:
    """What `terraform output -json` prints after applying this tfvars (see outputs.tf)."""
    tfvars = json.loads(render(homelab)[TFVARS])
    nodes = {
        name: {"host": n["host"], "ip": n["ip"], "role": n["role"], "vmid": n["vm_id"]}
        for name, n in tfvars["nodes"].items()
    }
    node_type = ["object", {"host": "string", "ip": "string", "role": "string", "vmid": "number"}]
    return {
        "nodes": {"sensitive": False, "type": ["object", dict.fromkeys(nodes, node_type)], "value": nodes},
        "proxmox_hosts": {"sensitive": False, "type": ["map", "string"], "value": tfvars["proxmox_hosts"]},
        "ssh_user": {"sensitive": False, "type": "string", "value": tfvars["ssh"]["username"]},
    }


@pytest.mark.parametrize("edit", [None, two_hosts], ids=["example", "two-hosts"])
def test_inventory_from_outputs_equals_the_models(example_homelab: Homelab, edit: Any) -> None:
    homelab = example_homelab if edit is None else homelab_from(edit)
    assert inventory_from_outputs(outputs_as_terraform_prints(homelab)) == inventory_for(homelab)


def test_a_drifted_node_shows(example_homelab: Homelab) -> None:
    outputs = outputs_as_terraform_prints(example_homelab)
    outputs["nodes"]["value"]["k3s-agent-1"]["host"] = "pve9"
    assert inventory_from_outputs(outputs) != inventory_for(example_homelab)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda o: o.pop("nodes"), "there is no output `nodes`"),
        (lambda o: o["nodes"]["value"]["k3s-server-1"].pop("ip"), "k3s-server-1: missing `ip`"),
        (lambda o: o["nodes"]["value"]["k3s-server-1"].update(vmid="200"), "`vmid` has the wrong type"),
        (lambda o: o["ssh_user"].update(value=3), "`ssh_user` is not a string"),
        (lambda o: o["proxmox_hosts"].update(value=["pve1"]), "`proxmox_hosts` is not a map"),
    ],
    ids=["no-nodes", "no-ip", "vmid-type", "user-type", "hosts-type"],
)
def test_malformed_outputs_are_named(
    example_homelab: Homelab, mutate: Callable[[dict[str, Any]], Any], message: str
) -> None:
    outputs = outputs_as_terraform_prints(example_homelab)
    mutate(outputs)
    with pytest.raises(ExternalSystemError, match=message) as info:
        inventory_from_outputs(outputs)
    assert "terraform apply" in info.value.fix


@pytest.fixture
def repo(tmp_path: Path, example_homelab: Homelab) -> Path:
    """A folder with the example homelab.yaml, its terraform/ tree and a saved output JSON."""
    (tmp_path / "homelab.yaml").write_text(example_text(), encoding="utf-8")
    for rel, text in render(example_homelab).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    (tmp_path / "output.json").write_text(json.dumps(outputs_as_terraform_prints(example_homelab)))
    return tmp_path


def _yaml(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def test_cli_from_json_writes_the_inventory(
    repo: Path, example_homelab: Homelab, cli: Callable[..., Any]
) -> None:
    config, saved, out = repo / "homelab.yaml", repo / "output.json", repo / "inv"
    result = cli("tf-inventory", str(config), "--from-json", str(saved), "--out", str(out))
    assert result.code == 0, result.err
    assert _yaml((repo / "inv" / "inventory.yml").read_text()) == inventory_for(example_homelab)
    assert "differ" not in result.err


def test_cli_warns_when_terraform_and_config_differ(repo: Path, cli: Callable[..., Any]) -> None:
    data = json.loads((repo / "output.json").read_text())
    data["nodes"]["value"].pop("k3s-agent-2")
    (repo / "output.json").write_text(json.dumps(data))
    result = cli("tf-inventory", str(repo / "homelab.yaml"), "--from-json", str(repo / "output.json"))
    assert result.code == 0
    assert "k3s-agent-2" not in result.out
    assert "terraform's nodes differ" in result.err


def test_cli_bad_json_is_a_usage_error(repo: Path, cli: Callable[..., Any]) -> None:
    (repo / "bad.json").write_text("{nope")
    result = cli("tf-inventory", str(repo / "homelab.yaml"), "--from-json", str(repo / "bad.json"))
    assert result.code == 2
    assert "bad.json:1:2: not JSON" in result.err


def test_cli_runs_terraform_output(
    repo: Path, example_homelab: Homelab, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = install(repo / "bin")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_TF_LOG", str(folder / "calls.log"))
    monkeypatch.setenv("FAKE_TF_OUTPUT", str(repo / "output.json"))
    result = cli("tf-inventory", str(repo / "homelab.yaml"))
    assert result.code == 0, result.err
    assert _yaml(result.out) == inventory_for(example_homelab)
    assert [json.loads(line) for line in (folder / "calls.log").read_text().splitlines()] == [
        ["output", "-no-color", "-json"]
    ]
    monkeypatch.setenv("FAKE_TF_SCENARIO", "no-state")
    result = cli("tf-inventory", str(repo / "homelab.yaml"))
    assert result.code == 1
    assert "there is no output `nodes`" in result.err
    assert "terraform apply" in result.err
