"""`homelab upgrade k3s --to VERSION`: check, preflight, run upgrade.yml, record the version.

The order is what makes it safe to re-run at any point:
1. the version step is checked before anything is read or run (a bad, older or minor-skipping
   version is a usage error, exit 2);
2. the preflight reads the cluster through the Kubernetes API (every node Ready, etcd healthy, no
   node ahead of the target, none more than one minor behind it) and refuses with every problem;
3. the rendered upgrade.yml snapshots etcd, then upgrades one node at a time and stops at the
   first node that fails; the failure names the node and says how to resume or roll back;
4. only after the whole run succeeded is `cluster.k3s_version` written into homelab.yaml.
Idempotent: nodes already at the version are skipped by the playbook, no snapshot is taken when
none is behind, and homelab.yaml is not rewritten when it already says the version.

The cluster and Ansible are reached through callables (`ClusterReader`, `PlaybookCall`), so the
chroot tests drive the very same code with the real playbook and a stand-in cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homelabeazy.atomic_file import write_atomic
from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.lifecycle.journal import exclusive_run
from homelabeazy.lifecycle.k3s_upgrade import (
    ClusterFacts,
    K3sVersion,
    check_step,
    failure_text,
    node_facts,
    oldest_version,
    parse_version,
    preflight_problems,
    set_k3s_version,
)
from homelabeazy.model import Homelab
from homelabeazy.render.ansible import TOKEN_ENV

if TYPE_CHECKING:
    from homelabeazy.ops.ansible import PlaybookResult, TaskResult

ClusterReader = Callable[[], ClusterFacts]
PlaybookCall = Callable[[Mapping[str, Any]], "PlaybookResult"]
"""Runs the rendered upgrade.yml with these extra vars; raises ops.ansible.PlaybookFailed."""


class UpgradeFailed(ExternalSystemError):
    """upgrade.yml stopped at a node; the message says which, and how to resume or roll back."""

    def __init__(self, target: K3sVersion, text: str, node: str) -> None:
        super().__init__("ansible", f"upgrading K3s to {target.text}", text)
        self.node = node


@dataclass(frozen=True)
class UpgradeOutcome:
    """What a successful run did."""

    target: K3sVersion
    previous: K3sVersion
    changed_tasks: int
    config_updated: bool

    def summary(self, config: Path) -> str:
        """One line for the user, with what to do next."""
        if self.changed_tasks == 0 and not self.config_updated:
            return f"every node already runs {self.target.text}; nothing changed"
        nodes = "every node runs" if self.changed_tasks else "the nodes already ran"
        recorded = f"{config} now says {self.target.text}" if self.config_updated else f"{config} unchanged"
        return (
            f"{nodes} {self.target.text} ({self.changed_tasks} changed task(s)); {recorded}: run "
            "`homelab render` and commit homelab.yaml with the re-rendered repo"
        )


def upgrade_k3s(
    config: Path,
    homelab: Homelab,
    target_text: str,
    *,
    read_cluster: ClusterReader,
    playbook: PlaybookCall,
) -> UpgradeOutcome:
    """Check, preflight, run upgrade.yml, then record the version in `config` (see module doc)."""
    target = parse_version(target_text)
    previous = parse_version(homelab.cluster.k3s_version, "cluster.k3s_version")
    check_step(previous, target)
    facts = read_cluster()
    oldest = oldest_version(facts, homelab)
    if oldest is not None:
        check_step(oldest, target)
    problems = preflight_problems(homelab, facts, target)
    if problems:
        raise ExternalSystemError(
            "kubernetes",
            f"the preflight for K3s {target.text}",
            "; ".join(problems),
            "nothing was changed: fix the above, then re-run",
        )
    repo = config.resolve().parent
    with exclusive_run(repo):
        result = _run(playbook, homelab, config, target, previous)
        updated = _record_version(config, target)
    return UpgradeOutcome(target, previous, result.changed, updated)


def _run(
    playbook: PlaybookCall, homelab: Homelab, config: Path, target: K3sVersion, previous: K3sVersion
) -> PlaybookResult:
    from homelabeazy.ops.ansible import PlaybookFailed  # noqa: PLC0415 - heavy, only when running

    try:
        return playbook({"k3s_version": target.text})
    except PlaybookFailed as exc:
        if not exc.failures:
            raise
        first = exc.failures[0]
        text = failure_text(
            homelab,
            str(config),
            failed_node=first.host,
            task=first.task,
            answer=first.message,
            target=target,
            previous=previous,
        )
        raise UpgradeFailed(target, text, first.host) from None


def _record_version(config: Path, target: K3sVersion) -> bool:
    """Write the version into homelab.yaml atomically (same mode); False when it already said so."""
    from homelabeazy.checks import load_config  # noqa: PLC0415 - pydantic, only at the end

    text = config.read_text(encoding="utf-8")
    new = set_k3s_version(text, target)
    if new == text:
        return False
    load_config(new, file=str(config))  # the edit must leave a valid file, or nothing is written
    write_atomic(config, new.encode("utf-8"), "the new K3s version", mode=0o666)  # keeps the file's mode
    return True


def kube_reader(kubeconfig: Path) -> ClusterReader:
    """The preflight's facts from the cluster at `kubeconfig` (nodes, and the etcd readiness check)."""

    def read() -> ClusterFacts:
        from homelabeazy.ops.kube import KubeAdapter  # noqa: PLC0415 - the client is heavy

        if not kubeconfig.exists():
            raise UsageError(f"no kubeconfig at {kubeconfig} (`homelab up` fetches it; or pass --kubeconfig)")
        kube = KubeAdapter(kubeconfig)
        return ClusterFacts(node_facts(kube.list_items("/api/v1/nodes")), kube.health_check("etcd"))

    return read


def join_token(token_file: Path, environ: Mapping[str, str]) -> str:
    """The cluster's existing join token: never a new one (K3s would refuse the restarted nodes)."""
    token = environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    if token_file.exists():
        return token_file.read_text(encoding="utf-8").strip()
    raise UsageError(
        f"the K3s join token is needed to upgrade: export {TOKEN_ENV} (it is in Vault, see "
        f"ansible/group_vars/k3s_cluster.yml: k3s_token_vault_path) or keep {token_file}"
    )


def ansible_playbook(
    repo: Path,
    token: str,
    scratch: Path,
    progress: Callable[[TaskResult], None] | None = None,
) -> PlaybookCall:
    """upgrade.yml of the rendered repo through ops.ansible, the join token in its environment."""

    def run(extravars: Mapping[str, Any]) -> PlaybookResult:
        from homelabeazy.ops.ansible import run_playbook  # noqa: PLC0415 - ansible-runner is heavy

        return run_playbook(
            repo / "ansible",
            "upgrade.yml",
            extravars=extravars,
            secret_env={TOKEN_ENV: token},
            progress=progress,
            scratch=scratch,
        )

    return run
