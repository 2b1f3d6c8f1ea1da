"""Composing the real adapters into runners and clients: the one place they are plugged together.

`up`, `destroy`, `status` and `drift` get their outside-system adapters from here: Terraform
(ops/terraform.py), Vault (lifecycle/secrets.py over ops/vault.py), Ansible (ops/ansible.py) and
the one Proxmox client (ops/proxmox.py). Tests swap any of them through `Adapters`.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from homelabeazy.errors import HomelabError
from homelabeazy.lifecycle import doctor, repo_access, runners
from homelabeazy.lifecycle.ansible_runner import AnsibleAdapter
from homelabeazy.lifecycle.dr.ages import LAYER as BACKUP_LAYER
from homelabeazy.lifecycle.secrets import CleartextVaultError, KubernetesAuth, vault_address
from homelabeazy.lifecycle.secrets_runner import IN_CLUSTER_KUBERNETES, VaultSecretsRunner
from homelabeazy.lifecycle.stages import StageRunner
from homelabeazy.lifecycle.status import StatusClients, StatusTargets, collect_status
from homelabeazy.lifecycle.terraform_runner import TerraformAdapter
from homelabeazy.model import Homelab
from homelabeazy.ops import doctor_facts, ssh, tools
from homelabeazy.ops.kube import KubeAdapter
from homelabeazy.ops.probes import Row
from homelabeazy.ops.proxmox import ProxmoxClient, ProxmoxReader, client_for
from homelabeazy.ops.vault_bootstrap import default_bootstrap_path

if TYPE_CHECKING:
    from homelabeazy.ops.objectstore import ObjectStore


@dataclass
class Adapters:
    """The outside-system adapters `up` and `destroy` use."""

    terraform: runners.TerraformRunner
    ansible: runners.AnsibleRunner
    secrets: runners.SecretsRunner


@dataclass(frozen=True)
class VaultTarget:
    """Where `up` reaches Vault (--vault-addr / VAULT_ADDR or the model's route) and how; and where
    Vault reviews service-account tokens (--kubernetes-host: default the in-cluster API)."""

    address: str | None = None
    ca_cert: Path | None = None
    bootstrap_file: Path | None = None
    kubernetes: KubernetesAuth | None = None


def real_adapters(
    homelab: Homelab, repo: Path, kubeconfig: Path | None = None, vault: VaultTarget | None = None
) -> Adapters:
    """The adapters of a real run, configured from the model and the environment.

    The Vault address is resolved when the secrets stage runs, so a homelab without a Vault route
    can still be provisioned and configured.
    """
    target = vault or VaultTarget()
    kubeconfig_file = kubeconfig or runners.kubeconfig_path(homelab)
    try:
        address = vault_address(homelab, target.address)
    except CleartextVaultError:
        raise
    except HomelabError:
        secrets: runners.SecretsRunner = runners.UnwiredAdapter("secrets")
    else:
        secrets = VaultSecretsRunner(
            homelab,
            repo.resolve(),
            address,
            bootstrap_file=target.bootstrap_file or default_bootstrap_path(homelab.name),
            ca_cert=str(target.ca_cert) if target.ca_cert else None,
            token=os.environ.get("VAULT_TOKEN") or None,
            kubernetes=target.kubernetes or IN_CLUSTER_KUBERNETES,
            k3s_token_file=runners.k3s_token_path(homelab),
            repo_credentials=lambda: repo_access.RepositorySecret(runners.state_dir).vault_data(homelab),
        )
    return Adapters(
        terraform=TerraformAdapter(homelab.config.proxmox),
        ansible=AnsibleAdapter(kubeconfig_file, runners.k3s_token_path(homelab)),
        secrets=secrets,
    )


def proxmox_client(homelab: Homelab, verify: bool | str | None = None, timeout: float = 5.0) -> ProxmoxClient:
    """The Proxmox client for the model's endpoint and token (the secret comes from the environment)."""
    return client_for(homelab.config.proxmox, verify=verify, timeout=timeout)


def _status_verify(targets: StatusTargets) -> bool | str | None:
    """Status's TLS choice for Proxmox: its own flags, else homelab.yaml's verify_tls (never --insecure)."""
    return targets.proxmox_verify


def status_rows(homelab: Homelab, targets: StatusTargets) -> list[Row]:
    """Every row of `homelab status` (and of `up`'s verify stage), clients closed afterwards.

    A layer that cannot be probed from here (no kubeconfig, no Proxmox token) gets a row saying why.
    """
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
    proxmox: ProxmoxClient | None = None
    try:
        proxmox = proxmox_client(homelab, _status_verify(targets), targets.timeout)
    except HomelabError as exc:
        notes.append(Row("proxmox", "api", "down", str(exc)))
    backups, note = backup_bucket(homelab, targets.timeout)
    notes += [note] if note else []
    clients = StatusClients(proxmox=proxmox, kube=kube, backups=backups)
    try:
        return notes + collect_status(homelab, targets, clients)
    finally:
        if proxmox is not None:
            proxmox.close()


def backup_bucket(homelab: Homelab, timeout: float) -> tuple[ObjectStore | None, Row | None]:
    """The backup bucket for the backup-age rows, or the row saying why they are missing.

    Keys come from the environment only: `status` must not depend on Vault to report on the
    backups that exist for the day Vault is gone.
    """
    if not homelab.enabled("velero") or homelab.config.services.velero.target is None:
        return None, None
    # boto3 is imported only when there is a bucket to read (it costs `status` a noticeable start).
    from homelabeazy.lifecycle.dr.store import target_from_config  # noqa: PLC0415
    from homelabeazy.ops.objectstore import ObjectStore, credentials_from_env  # noqa: PLC0415

    credentials = credentials_from_env()
    if credentials is None:
        return None, Row(
            "backup",
            "bucket",
            "skipped",
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to see backup ages",
        )
    return ObjectStore(target_from_config(homelab.config), credentials, timeout=timeout), None


def stage_runners(
    homelab: Homelab, adapters: Adapters, targets: StatusTargets, kubeconfig: Path | None = None
) -> dict[str, StageRunner]:
    """The runner of every stage of `homelab up`."""
    kubeconfig_file = kubeconfig or runners.kubeconfig_path(homelab)

    def kube() -> KubeAdapter:
        return KubeAdapter(kubeconfig_file)

    def proxmox() -> AbstractContextManager[ProxmoxReader]:
        return proxmox_client(homelab)

    return {
        "preflight": runners.PreflightStage(
            tools=lambda: doctor.decide(
                doctor_facts.gather(doctor.up_tool_names(), proxmox=False), for_up=True
            ),
            proxmox=proxmox,
            ls_remote=tools.git_ls_remote,
            render_current=runners.render_current,
            argocd_remote=repo_access.ArgocdRemoteCheck(runners.state_dir),
        ),
        "provision": runners.ProvisionStage(adapters.terraform),
        "wait": runners.WaitStage(
            ssh_up=lambda host, port: ssh.ssh_banner_ok(host, port, 5),
            booted=lambda user, host, port: ssh.cloud_init_finished(user, host, port, 10),
        ),
        "configure": runners.ConfigureStage(adapters.ansible, kubeconfig=lambda _homelab: kubeconfig_file),
        "bootstrap": runners.BootstrapStage(
            kube, repo_secret=repo_access.RepositorySecret(runners.state_dir)
        ),
        "secrets": runners.SecretsStage(adapters.secrets),
        "sync": runners.SyncStage(kube),
        "verify": runners.VerifyStage(lambda h: status_rows(h, targets), later=frozenset({BACKUP_LAYER})),
    }


__all__ = [
    "Adapters",
    "VaultTarget",
    "proxmox_client",
    "real_adapters",
    "stage_runners",
    "status_rows",
]
