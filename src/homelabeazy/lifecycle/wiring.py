"""Composing the real adapters into runners and clients: the one place they are plugged together.

When the Terraform, Ansible and secrets adapters land, they replace the `UnwiredAdapter`s in
`Adapters` below; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from homelabeazy.lifecycle import runners
from homelabeazy.lifecycle.stages import StageRunner
from homelabeazy.lifecycle.status import StatusClients, StatusTargets, collect_status
from homelabeazy.model import Homelab
from homelabeazy.ops import ssh, tools
from homelabeazy.ops.kube import KubeAdapter
from homelabeazy.ops.probes import Row
from homelabeazy.ops.proxmox_facts import ProxmoxHttpReader


@dataclass
class Adapters:
    """The outside-system adapters `up`, `destroy` and `status` use."""

    terraform: runners.TerraformRunner = field(default_factory=lambda: runners.UnwiredAdapter("terraform"))
    ansible: runners.AnsibleRunner = field(default_factory=lambda: runners.UnwiredAdapter("ansible"))
    secrets: runners.SecretsRunner = field(default_factory=lambda: runners.UnwiredAdapter("secrets"))


def proxmox_reader(
    homelab: Homelab, verify: bool | str | None = None, timeout: float = 5.0
) -> ProxmoxHttpReader:
    """The Proxmox reader for the model's endpoint and token (the secret comes from the environment)."""
    cfg = homelab.config.proxmox
    return ProxmoxHttpReader(
        cfg.endpoint,
        cfg.token_id,
        cfg.token_secret_env,
        verify=cfg.verify_tls if verify is None else verify,
        timeout=timeout,
    )


def status_clients(homelab: Homelab, targets: StatusTargets) -> tuple[StatusClients, list[Row]]:
    """Clients for status, plus rows for the layers that cannot be probed from here (and why)."""
    kubeconfig = targets.kubeconfig or runners.kubeconfig_path(homelab)
    notes: list[Row] = []
    kube: KubeAdapter | None = None
    if kubeconfig.exists():
        kube = KubeAdapter(kubeconfig, timeout=targets.timeout)
    else:
        notes.append(
            Row(
                "k3s",
                "cluster",
                "skipped",
                f"no kubeconfig at {kubeconfig} (`homelab up` fetches it; or --kubeconfig)",
            )
        )
    verify = targets.verify if targets.verify is not True else None
    return StatusClients(proxmox=proxmox_reader(homelab, verify, targets.timeout), kube=kube), notes


def stage_runners(
    homelab: Homelab, adapters: Adapters, targets: StatusTargets, kubeconfig: Path | None = None
) -> dict[str, StageRunner]:
    """The runner of every stage of `homelab up`."""
    kubeconfig_file = kubeconfig or runners.kubeconfig_path(homelab)

    def kube() -> KubeAdapter:
        return KubeAdapter(kubeconfig_file)

    def verify(h: Homelab) -> list[Row]:
        clients, notes = status_clients(h, targets)
        return notes + collect_status(h, targets, clients)

    return {
        "preflight": runners.PreflightStage(
            tool_version=tools.tool_version,
            proxmox=proxmox_reader(homelab),
            ls_remote=tools.git_ls_remote,
            render_current=runners.render_current,
        ),
        "provision": runners.ProvisionStage(adapters.terraform),
        "wait": runners.WaitStage(
            ssh_up=lambda host, port: ssh.ssh_banner_ok(host, port, 5),
            booted=lambda user, host, port: ssh.cloud_init_finished(user, host, port, 10),
        ),
        "configure": runners.ConfigureStage(adapters.ansible, kubeconfig=lambda _homelab: kubeconfig_file),
        "bootstrap": runners.BootstrapStage(kube),
        "secrets": runners.SecretsStage(adapters.secrets),
        "sync": runners.SyncStage(kube),
        "verify": runners.VerifyStage(verify),
    }
