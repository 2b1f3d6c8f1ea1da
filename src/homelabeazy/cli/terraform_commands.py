"""tf-inventory: the Ansible inventory from what terraform actually created."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from homelabeazy.cli import console
from homelabeazy.cli.common import DEFAULT_CONFIG, ConfigFileOption, load_homelab, pick_config
from homelabeazy.errors import ExitCode, UsageError

INVENTORY_FILE = "inventory.yml"


def tf_inventory(
    config: Annotated[
        Path, typer.Argument(help="The homelab.yaml whose terraform/ folder to read.")
    ] = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help=f"Write DIR/{INVENTORY_FILE} instead of printing it.")
    ] = None,
    from_json: Annotated[
        Path | None,
        typer.Option(
            "--from-json", help="Read a saved `terraform output -json` instead of running terraform."
        ),
    ] = None,
) -> int:
    """Build the Ansible inventory from `terraform output -json` (name, ip, role, vmid, host per node)."""
    config = pick_config(config, config_file)
    from homelabeazy.render.serialize import to_ansible_yaml
    from homelabeazy.render.terraform_inventory import inventory_from_outputs

    outputs = _read_json(from_json) if from_json is not None else _run_output(config.parent / "terraform")
    inventory = inventory_from_outputs(outputs)
    _compare_with_model(config, inventory)
    text = to_ansible_yaml(
        inventory, header="# Ansible inventory from `terraform output -json` (homelab tf-inventory)\n"
    )
    if out is None:
        console.out.out(text, end="")
        return ExitCode.OK
    out.mkdir(parents=True, exist_ok=True)
    target = out / INVENTORY_FILE
    from homelabeazy.atomic_file import write_atomic

    write_atomic(target, text.encode("utf-8"), "the inventory", mode=0o666)
    console.success(f"wrote {target}")
    return ExitCode.OK


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected the object `terraform output -json` prints")
    return data


def _run_output(workdir: Path) -> dict[str, Any]:
    from homelabeazy.ops.terraform import Terraform

    if not workdir.is_dir():
        raise UsageError(f"{workdir}: no such folder (run `homelab render` first)")
    return Terraform(workdir).output()


def _compare_with_model(config: Path, inventory: dict[str, Any]) -> None:
    """Warn when terraform's state and homelab.yaml disagree (drift, or an apply not yet run)."""
    if not config.is_file():
        return
    from homelabeazy.render.inventory import inventory_for

    _, homelab = load_homelab(config)
    if inventory_for(homelab) != inventory:
        console.info(
            f"warning: terraform's nodes differ from {config}; run `homelab render` and `terraform apply`"
        )
