"""The rendered tree against the real `terraform` binary (providers cannot be downloaded here).

`terraform validate`/`plan` of the full tree need the bpg/proxmox plugin, so they cannot run
offline. What runs for real: `terraform fmt -check -recursive` on the whole tree, and a plan/apply
of a provider-free module made of the real variables.tf and the generated tfvars, which makes
Terraform itself type-check the data and run the variables' validation rules. The outputs.tf
expressions run too, with the VM resource replaced by the attributes the provider echoes back.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from homelabeazy.model import Homelab
from homelabeazy.render.inventory import inventory_for
from homelabeazy.render.terraform import TFVARS, render
from homelabeazy.render.terraform_inventory import inventory_from_outputs
from tests.support.integration import need_binary
from tests.terraform import fake_s3
from tests.terraform.conftest import homelab_from, two_hosts

pytestmark = pytest.mark.integration

HOW = "https://developer.hashicorp.com/terraform/install"


def _terraform(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = need_binary("terraform", HOW)
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    env.pop("TF_CLI_CONFIG_FILE", None)
    return subprocess.run(
        [binary, *args], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def _write(files: dict[str, str], root: Path) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def _s3(data: dict[str, Any]) -> None:
    data["proxmox"]["state_backend"] = {"bucket": "tfstate", "endpoint": "https://minio.example:9000"}


def _template(data: dict[str, Any]) -> None:
    del data["proxmox"]["image"]
    data["proxmox"]["template"] = {"vm_id": 9000, "node": "pve1"}


@pytest.mark.parametrize(
    "edit", [None, two_hosts, _s3, _template], ids=["example", "two-hosts", "s3", "template"]
)
def test_fmt_check_passes_on_rendered_tree(example_homelab: Homelab, edit: Any, tmp_path: Path) -> None:
    homelab = example_homelab if edit is None else homelab_from(edit)
    _write(render(homelab), tmp_path)
    result = _terraform(["fmt", "-check", "-recursive", "-diff"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fmt_check_fails_on_misformatted_file(example_homelab: Homelab, tmp_path: Path) -> None:
    files = render(example_homelab)
    files["terraform/main.tf"] = files["terraform/main.tf"].replace(
        "  for_each = var.nodes", "for_each=var.nodes"
    )
    _write(files, tmp_path)
    assert _terraform(["fmt", "-check", "-recursive"], tmp_path).returncode != 0


def _provider_free_module(files: dict[str, str], root: Path) -> None:
    """variables.tf + tfvars + outputs.tf, with the VM resource replaced by what the provider echoes."""
    outputs = files["terraform/outputs.tf"].replace(
        "proxmox_virtual_environment_vm.node", "local.vms_as_created"
    )
    echo = (
        "locals {\n"
        "  vms_as_created = {\n"
        "    for name, node in var.nodes : name => { vm_id = node.vm_id, node_name = node.host }\n"
        "  }\n"
        "}\n"
    )
    _write(
        {
            "variables.tf": files["terraform/variables.tf"],
            "outputs.tf": outputs,
            "echo.tf": echo,
            "homelab.auto.tfvars.json": files[TFVARS],
        },
        root,
    )


def _apply(root: Path) -> dict[str, Any]:
    init = _terraform(["init", "-input=false", "-no-color"], root)
    assert init.returncode == 0, init.stdout + init.stderr
    apply = _terraform(["apply", "-input=false", "-no-color", "-auto-approve"], root)
    assert apply.returncode == 0, apply.stdout + apply.stderr
    output = _terraform(["output", "-json"], root)
    assert output.returncode == 0, output.stderr
    data: dict[str, Any] = json.loads(output.stdout)
    return data


@pytest.mark.parametrize("edit", [None, two_hosts, _template], ids=["example", "two-hosts", "template"])
def test_terraform_accepts_tfvars_and_its_outputs_give_the_models_inventory(
    example_homelab: Homelab, edit: Any, tmp_path: Path
) -> None:
    homelab = example_homelab if edit is None else homelab_from(edit)
    _provider_free_module(render(homelab), tmp_path)
    outputs = _apply(tmp_path)
    assert inventory_from_outputs(outputs) == inventory_for(homelab)


def test_terraform_rejects_a_bad_vlan_with_our_message(example_homelab: Homelab, tmp_path: Path) -> None:
    files = render(example_homelab)
    data = json.loads(files[TFVARS])
    data["nodes"]["k3s-server-1"]["vlan_id"] = 5000
    files[TFVARS] = json.dumps(data)
    _provider_free_module(files, tmp_path)
    assert _terraform(["init", "-input=false"], tmp_path).returncode == 0
    plan = _terraform(["plan", "-input=false", "-no-color"], tmp_path)
    assert plan.returncode != 0
    assert "vlan_id must be between 1 and 4094" in plan.stdout + plan.stderr


def test_terraform_rejects_a_mistyped_tfvars(example_homelab: Homelab, tmp_path: Path) -> None:
    files = render(example_homelab)
    data = json.loads(files[TFVARS])
    data["nodes"]["k3s-server-1"]["cores"] = "two"
    files[TFVARS] = json.dumps(data)
    _provider_free_module(files, tmp_path)
    assert _terraform(["init", "-input=false"], tmp_path).returncode == 0
    plan = _terraform(["plan", "-input=false", "-no-color"], tmp_path)
    assert plan.returncode != 0
    assert "Invalid value for input variable" in plan.stdout + plan.stderr


def test_s3_backend_config_is_accepted_and_state_lands_in_the_bucket(
    example_homelab: Homelab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real terraform init/apply against a loopback S3: the backend arguments exist and work."""
    with fake_s3.serve() as s3:

        def s3_state(data: dict[str, Any]) -> None:
            data["proxmox"]["state_backend"] = {"bucket": "tfstate", "endpoint": s3.url}

        files = render(homelab_from(s3_state))
        _provider_free_module(files, tmp_path)
        (tmp_path / "backend.tf.json").write_text(files["terraform/backend.tf.json"], encoding="utf-8")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "homelabtest")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
        outputs = _apply(tmp_path)
    assert inventory_from_outputs(outputs) == inventory_for(homelab_from(lambda d: None))
    assert "/tfstate/homelab/terraform.tfstate" in s3.objects, s3.requests  # path style, configured key
    state = json.loads(s3.objects["/tfstate/homelab/terraform.tfstate"])
    assert state["outputs"]["ssh_user"]["value"] == "homelab"
    assert all("Credential=homelabtest/" in auth for _, _, auth in s3.requests)
    assert not (tmp_path / "terraform.tfstate").exists()
    assert "not-a-real-secret" not in files["terraform/backend.tf.json"]
