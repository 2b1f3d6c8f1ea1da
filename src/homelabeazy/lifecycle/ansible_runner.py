"""The configure stage's Ansible: ops/ansible.py (ansible-runner) behind `AnsibleRunner`.

ops/ansible.py is imported when a playbook runs, not when this module loads: ansible-runner is
heavy, and `homelab up --dry-run` or `status` never need it. The playbook writes the cluster's
kubeconfig to `homelab_kubeconfig_path`, which we point at the lifecycle's private location
(outside the repo) so the configure stage finds it; the K3s join token reaches Ansible only through
its environment, never on the command line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from homelabeazy.lifecycle.runners import Progress, quiet

if TYPE_CHECKING:
    from homelabeazy.ops.ansible import PlaybookResult, TaskResult

K3S_TOKEN_ENV = "HOMELAB_K3S_TOKEN"  # noqa: S105 - a variable name
"""Where the rendered group_vars read the K3s join token from (passed through, never printed)."""


def summary_text(result: PlaybookResult) -> str:
    """`site.yml: 3 host(s), 12 changed` or `... no changes`."""
    hosts = len(result.recap)
    changed = result.changed
    what = "no changes" if changed == 0 else f"{changed} changed"
    return f"{result.playbook}: {hosts} host(s), {what}"


@dataclass
class AnsibleAdapter:
    """`AnsibleRunner` over ops.ansible.run_playbook."""

    kubeconfig: Path
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    run_playbook: Callable[..., PlaybookResult] | None = None
    """The playbook runner (ops.ansible.run_playbook unless a test gives another)."""

    def run(self, playbook: Path, inventory: Path, progress: Progress = quiet) -> str:
        """Run `playbook` from its folder against `inventory`; progress is `host: task (status)`."""
        run = self.run_playbook
        if run is None:
            from homelabeazy.ops.ansible import run_playbook  # noqa: PLC0415 - heavy, see module doc

            run = run_playbook

        def show(task: TaskResult) -> None:
            progress(f"{task.host}: {task.task} ({task.status})")

        self.kubeconfig.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        token = self.environ.get(K3S_TOKEN_ENV)
        result = run(
            playbook.parent,
            playbook.name,
            inventory=inventory,
            extravars={"homelab_kubeconfig_path": str(self.kubeconfig)},
            secret_env={K3S_TOKEN_ENV: token} if token else None,
            progress=show,
        )
        return summary_text(result)
