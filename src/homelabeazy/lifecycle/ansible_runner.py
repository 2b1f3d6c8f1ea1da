"""The configure stage's Ansible: ops/ansible.py (ansible-runner) behind `AnsibleRunner`.

ops/ansible.py is imported when a playbook runs, not when this module loads: ansible-runner is
heavy, and `homelab up --dry-run` or `status` never need it. The playbook writes the cluster's
kubeconfig to `homelab_kubeconfig_path`, which we point at the lifecycle's private location
(outside the repo) so the configure stage finds it.

The K3s join token must exist before the cluster does, so before Vault does: it is
$HOMELAB_K3S_TOKEN when set, else one generated once into a 0600 file of the state folder (outside
the repo), which the secrets stage later stores in Vault at the model's path. It reaches Ansible
only through its environment, never on the command line, and is never printed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from homelabeazy.atomic_file import create_new
from homelabeazy.lifecycle.runners import Progress, quiet
from homelabeazy.render.ansible import ETCD_S3_ENV, TOKEN_ENV

if TYPE_CHECKING:
    from homelabeazy.ops.ansible import PlaybookResult, TaskResult


def summary_text(result: PlaybookResult) -> str:
    """`site.yml: 3 host(s), 12 changed` or `... no changes`."""
    what = "no changes" if result.changed == 0 else f"{result.changed} changed"
    return f"{result.playbook}: {len(result.recap)} host(s), {what}"


def read_or_create_token(path: Path) -> str:
    """The token in `path`, or a fresh one written there first (0600, parents 0700)."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_hex(32)
    create_new(path, (token + "\n").encode("utf-8"), "the K3s token")
    return token


@dataclass
class AnsibleAdapter:
    """`AnsibleRunner` over ops.ansible.run_playbook."""

    kubeconfig: Path
    token_file: Path
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    run_playbook: Callable[..., PlaybookResult] | None = None
    """The playbook runner (ops.ansible.run_playbook unless a test gives another)."""

    def etcd_s3_keys(self) -> dict[str, str]:
        """The etcd snapshots' S3 keys (Vault's velero/s3) when the environment holds them.

        They go to the k3s_server role like the token, through the environment; without them the
        role keeps the key file an earlier run wrote and says the S3 copy needs them.
        """
        return {name: self.environ[name] for name in ETCD_S3_ENV if self.environ.get(name)}

    def run(self, playbook: Path, inventory: Path, progress: Progress = quiet) -> str:
        """Run `playbook` from its folder against `inventory`; progress is `host: task (status)`."""
        run = self.run_playbook
        if run is None:
            from homelabeazy.ops.ansible import run_playbook  # noqa: PLC0415 - heavy, see module doc

            run = run_playbook

        def show(task: TaskResult) -> None:
            progress(f"{task.host}: {task.task} ({task.status})")

        self.kubeconfig.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        token = self.environ.get(TOKEN_ENV) or read_or_create_token(self.token_file)
        result = run(
            playbook.parent.resolve(),
            playbook.name,
            inventory=inventory.resolve(),
            extravars={"homelab_kubeconfig_path": str(self.kubeconfig)},
            secret_env={TOKEN_ENV: token, **self.etcd_s3_keys()},
            progress=show,
            scratch=self.token_file.parent / "ansible-runs",
        )
        if not result.recap:  # a run that touched no host configured nothing: never "ok"
            from homelabeazy.errors import ExternalSystemError  # noqa: PLC0415

            raise ExternalSystemError(
                "ansible", f"running {playbook.name}", "no host ran a task", f"check {inventory}"
            )
        return summary_text(result)
