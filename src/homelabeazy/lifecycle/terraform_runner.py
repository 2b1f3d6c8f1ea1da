"""The provision stage's and `homelab destroy`'s Terraform: ops/terraform.py behind `TerraformRunner`.

The Proxmox endpoint, TLS setting and API token reach terraform only through its environment
(`provider_environment`, from homelab.yaml and the token variable it names); what terraform prints
is redacted by ops/terraform.py before it becomes progress or an error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from homelabeazy.config.schema import ProxmoxConfig
from homelabeazy.errors import UsageError
from homelabeazy.lifecycle.runners import Progress, quiet
from homelabeazy.ops.terraform import ChangeSummary, Terraform, TerraformEvent, provider_environment

# Terraform's UI events worth showing as live progress (resource by resource).
_SHOWN = frozenset(
    {"planned_change", "apply_start", "apply_progress", "apply_complete", "apply_errored", "change_summary"}
)


def summary_text(verb: str, changes: ChangeSummary) -> str:
    """`terraform apply: 5 added, 0 changed, 0 destroyed` or `... no changes`."""
    if changes.empty:
        return f"terraform {verb}: no changes"
    return f"terraform {verb}: {changes.add} added, {changes.change} changed, {changes.remove} destroyed"


@dataclass
class TerraformAdapter:
    """`TerraformRunner` over ops.terraform.Terraform for homelab.yaml's Proxmox."""

    proxmox: ProxmoxConfig
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    binary: str = "terraform"

    def _terraform(self, directory: Path, progress: Progress) -> Terraform:
        if not directory.is_dir():
            raise UsageError(f"{directory}: no such folder (run `homelab render` first)")
        env = provider_environment(self.proxmox, self.environ)

        def show(event: TerraformEvent) -> None:
            if event.kind in _SHOWN and event.message:
                progress(event.message)

        return Terraform(directory, env=env, binary=self.binary, on_event=show)

    def apply(self, directory: Path, progress: Progress = quiet) -> str:
        """`terraform init`, then `terraform apply -auto-approve`; a no-change apply is the no-op."""
        terraform = self._terraform(directory, progress)
        progress("terraform init")
        terraform.init()
        progress("terraform apply")
        return summary_text("apply", terraform.apply())

    def destroy(self, directory: Path, progress: Progress = quiet) -> str:
        """`terraform init` (a fresh checkout has no providers yet), then `terraform destroy`."""
        terraform = self._terraform(directory, progress)
        progress("terraform init")
        terraform.init()
        progress("terraform destroy")
        return summary_text("destroy", terraform.destroy())
