"""`homelab destroy`: what would be deleted, the typed-name confirmation rule, and the teardown."""

from __future__ import annotations

from pathlib import Path

from homelabeazy.lifecycle.journal import JOURNAL_PATH
from homelabeazy.lifecycle.runners import Progress, TerraformRunner, quiet
from homelabeazy.model import Homelab


def destroy_plan(homelab: Homelab, repo: Path, kubeconfig: Path) -> list[str]:
    """One line per thing destroy deletes, so the user sees all of it before confirming."""
    lines = [
        f"VM {n.name} (vmid {n.vmid} on {n.host}, {n.ip}) and its {n.disk_gb} GiB disk" for n in homelab.nodes
    ]
    workloads = f"{len(homelab.services)} services, {len(homelab.apps)} apps"
    lines.append(f"everything running in the cluster and the data in its volumes ({workloads})")
    lines.append(f"terraform state of {repo / 'terraform'} (resources destroyed)")
    lines.append(f"the `homelab up` journal {repo / JOURNAL_PATH}")
    if kubeconfig.exists():
        lines.append(f"the kubeconfig {kubeconfig}")
    lines.append("kept: the repo, homelab.yaml, Velero backups in the bucket, secrets' bootstrap file")
    return lines


def confirmed(homelab: Homelab, typed: str) -> bool:
    """The user must type the homelab's exact name: a yes-reflex is not enough to delete VMs."""
    return typed.strip() == homelab.name


def destroy(repo: Path, kubeconfig: Path, terraform: TerraformRunner, progress: Progress = quiet) -> str:
    """terraform destroy, then forget the journal and the kubeconfig (the cluster is gone)."""
    summary = terraform.destroy(repo / "terraform", progress)
    (repo / JOURNAL_PATH).unlink(missing_ok=True)
    kubeconfig.unlink(missing_ok=True)
    return summary
