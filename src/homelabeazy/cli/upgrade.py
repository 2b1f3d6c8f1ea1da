"""`homelab upgrade k3s`: thin; the checks and the rolling upgrade live in lifecycle/k3s_upgrade*."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from homelabeazy.cli import console
from homelabeazy.cli.common import DEFAULT_CONFIG, ConfigFileOption, load_homelab, pick_config
from homelabeazy.cli.vault_options import BootstrapOption, bootstrap_path
from homelabeazy.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from homelabeazy.ops.ansible import TaskResult

app = typer.Typer(help="Upgrade parts of a running homelab safely.", no_args_is_help=True)


@app.command("k3s")
def k3s(  # noqa: PLR0917 - every Typer option is a parameter
    to: Annotated[str, typer.Option("--to", help="The K3s release to upgrade to, e.g. v1.34.1+k3s1.")],
    config: Annotated[Path, typer.Argument(help="The homelab.yaml to read.")] = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    kubeconfig: Annotated[
        Path | None,
        typer.Option("--kubeconfig", help="Cluster kubeconfig (default: the one `homelab up` fetched)."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before upgrading.")] = False,
    bootstrap_file: BootstrapOption = None,
    accept_downtime: Annotated[
        bool,
        typer.Option(
            "--accept-downtime",
            help="Delete the pods whose PodDisruptionBudget never lets them go (e.g. a single Vault "
            "replica) before their node's drain, instead of refusing to start.",
        ),
    ] = False,
) -> int:
    """Rolling K3s upgrade: preflight, etcd snapshot, one node at a time (servers first).

    Refuses a downgrade, a skipped minor version, and a drain a PodDisruptionBudget would never
    allow (before the first node). Between nodes it unseals the Vault pods a drain restarted (with
    the bootstrap file's keys; without them it stops and says what to run) and waits until the next
    drain's budgets allow it. Stops at the first node that fails and says how to resume (re-run the
    same command) or roll back (the pre-upgrade etcd snapshot). On success writes the version into
    homelab.yaml: re-render and commit afterwards.
    """
    config = pick_config(config, config_file)
    from homelabeazy.lifecycle import runners
    from homelabeazy.lifecycle.k3s_upgrade import check_step, parse_version
    from homelabeazy.lifecycle.k3s_upgrade_runner import (
        ansible_playbook,
        join_token,
        kube_reader,
        upgrade_k3s,
        vault_unsealer,
    )
    from homelabeazy.ops import vault_bootstrap

    target = parse_version(to)  # a bad version is refused before the config is even read
    _, homelab = load_homelab(config)
    check_step(parse_version(homelab.cluster.k3s_version, "cluster.k3s_version"), target)
    repo = config.resolve().parent
    if not (repo / "ansible" / "upgrade.yml").is_file():
        raise UsageError(f"{repo / 'ansible' / 'upgrade.yml'} does not exist; run `homelab render` first")
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("pass --yes to upgrade without a terminal")
        if not typer.confirm(f"upgrade K3s on {homelab.name} to {to}, one node at a time?", default=False):
            return ExitCode.FAILED

    def show(task: TaskResult) -> None:
        if task.status in ("changed", "failed"):
            console.err.print(console.escape(f"{task.host}: {task.task} ({task.status})"))

    token = join_token(runners.k3s_token_path(homelab), os.environ)
    cluster = kubeconfig or runners.kubeconfig_path(homelab)
    keys = bootstrap_path(homelab, bootstrap_file)
    if not keys.exists():
        console.info(
            f"note: no Vault bootstrap file at {keys}: sealed Vault pods stop the upgrade between nodes"
        )
    outcome = upgrade_k3s(
        config,
        homelab,
        to,
        read_cluster=kube_reader(cluster),
        playbook=ansible_playbook(repo, token, runners.state_dir(homelab) / "ansible-runs", show),
        unseal=vault_unsealer(cluster, vault_bootstrap.load(keys)) if keys.exists() else None,
        accept_downtime=accept_downtime,
        say=console.info,
    )
    console.success(outcome.summary(config))
    return ExitCode.OK
