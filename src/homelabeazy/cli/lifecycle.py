"""up, status, destroy, backup, drift: the lifecycle commands (thin: parse, call lifecycle/, print)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from homelabeazy.cli import console
from homelabeazy.cli.common import (
    DEFAULT_CONFIG,
    ConfigArg,
    ConfigFileOption,
    ConfigOption,
    load_homelab,
    pick_config,
)
from homelabeazy.cli.vault_options import (
    BootstrapOption,
    CaCertOption,
    KubeCaOption,
    KubeHostOption,
    VaultAddrOption,
    kubernetes_auth,
)
from homelabeazy.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from rich.status import Status
    from rich.table import Table

    from homelabeazy.lifecycle.journal import StageRecord
    from homelabeazy.lifecycle.stages import PlannedStage, StageSpec
    from homelabeazy.lifecycle.status import StatusTargets
    from homelabeazy.model import Homelab
    from homelabeazy.ops.probes import Row

KubeconfigOpt = Annotated[
    Path | None,
    typer.Option("--kubeconfig", help="Cluster kubeconfig (default: the one `homelab up` fetched)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]

_HEALTH_STYLE = {"ok": "green", "degraded": "yellow", "down": "bold red", "skipped": "dim"}
_RESULT_MARK = {"ok": "[green]✓[/]", "failed": "[bold red]✗[/]", "interrupted": "[yellow]⏸[/]"}


class RichReporter:
    """Live progress for `homelab up`: a spinner while a stage runs, one summary line when it ends."""

    def __init__(self) -> None:
        self._status: Status | None = None

    def skipped(self, spec: StageSpec, reason: str) -> None:
        """`- provision  skipped (done, inputs unchanged)`."""
        console.err.print(f"[dim]- {spec.name:<10} skipped ({console.escape(reason)})[/]")

    def started(self, spec: StageSpec, reason: str) -> None:
        """Start the spinner."""
        self._status = console.err.status(
            f"{spec.name}: {console.escape(spec.purpose)} ({console.escape(reason)})"
        )
        self._status.start()

    def progress(self, spec: StageSpec, text: str) -> None:
        """Update the spinner's text."""
        if self._status is not None:
            self._status.update(f"{spec.name}: {console.escape(text)}")

    def finished(self, spec: StageSpec, record: StageRecord, seconds: float) -> None:
        """Stop the spinner; print the stage's one-line summary."""
        if self._status is not None:
            self._status.stop()
            self._status = None
        mark = _RESULT_MARK.get(record.result, "?")
        console.err.print(f"{mark} {spec.name:<10} {seconds:6.1f}s  {console.escape(record.summary)}")


def _targets(
    *,
    kubeconfig: Path | None,
    traefik: str | None,
    vault_url: str | None,
    dns: str | None = None,
    ldap_url: str | None,
    ca_file: Path | None,
    insecure: bool,
    timeout: float,
    proxmox_insecure: bool = False,
) -> StatusTargets:
    from homelabeazy.lifecycle.status import StatusTargets

    address: tuple[str, int] | None = None
    if traefik:
        host, _, port = traefik.rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(f"--traefik {traefik}: expected HOST:PORT, e.g. 10.10.10.200:443")
        address = (host, int(port))
    verify: bool | str = False if insecure else (str(ca_file) if ca_file else True)
    if insecure:
        console.err.print(
            "[bold yellow]warning[/]: --insecure: TLS certificates of the routes (Traefik, Vault, LDAP) "
            "are NOT verified; Proxmox still is (--proxmox-insecure turns that off)"
        )
    if proxmox_insecure:
        console.err.print(
            "[bold yellow]warning[/]: --proxmox-insecure: Proxmox's TLS certificate is NOT verified and the "
            "API token is sent anyway; anyone on the path can take it"
        )
    return StatusTargets(
        # --ca-file only adds trust (a lab CA signing both); --insecure never reaches Proxmox.
        proxmox_verify=False if proxmox_insecure else (str(ca_file) if ca_file else None),
        traefik=address,
        dns=_dns_target(dns),
        vault_url=vault_url,
        ldap_url=ldap_url,
        kubeconfig=kubeconfig,
        verify=verify,
        timeout=timeout,
    )


def _dns_target(text: str | None) -> tuple[str, int] | None:
    """`--dns HOST[:PORT]` (port 53 when omitted)."""
    if not text:
        return None
    host, colon, port = text.rpartition(":")
    if not colon:
        return text, 53
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError(f"--dns {text}: expected HOST or HOST:PORT, e.g. 10.10.10.1:53")
    return host, int(port)


def up(  # noqa: PLR0917 - Typer maps parameters to options
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    only: Annotated[str | None, typer.Option("--only", help="Run just this stage.")] = None,
    start_from: Annotated[
        str | None, typer.Option("--from", help="Run this stage and every one after it.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what each stage would do; run nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before changing anything.")] = False,
    kubeconfig: KubeconfigOpt = None,
    vault_addr: VaultAddrOption = None,
    vault_ca_cert: CaCertOption = None,
    bootstrap_file: BootstrapOption = None,
    kubernetes_host: KubeHostOption = None,
    kubernetes_ca_cert: KubeCaOption = None,
) -> int:
    """Bring the homelab up: preflight, provision, wait, configure, bootstrap, secrets, sync, verify.

    Resumable: a re-run skips stages already done whose inputs did not change. The Proxmox token
    comes from the variable homelab.yaml names; Vault's keys go to the bootstrap file, outside the repo.
    """
    config = pick_config(config, config_file)
    from homelabeazy.lifecycle.stages import StageContext, run_up
    from homelabeazy.lifecycle.stages import dry_run as plan_dry_run
    from homelabeazy.lifecycle.wiring import VaultTarget, real_adapters, stage_runners

    _, homelab = load_homelab(config)
    repo = config.resolve().parent
    # The deploy key, the K3s token and the kubeconfig go there: the rule of every secret-bearing file.
    from homelabeazy.lifecycle.runners import state_dir
    from homelabeazy.secret_files import ensure_outside_repo

    ensure_outside_repo(
        state_dir(homelab), repo, "the state folder (deploy key, K3s token, kubeconfig; $HOMELAB_STATE_HOME)"
    )
    targets = _targets(
        kubeconfig=kubeconfig,
        traefik=None,
        vault_url=None,
        ldap_url=None,
        ca_file=None,
        insecure=False,
        timeout=5.0,
    )
    adapters = real_adapters(
        homelab,
        repo,
        kubeconfig,
        VaultTarget(
            vault_addr,
            vault_ca_cert,
            bootstrap_file,
            kubernetes_auth(kubernetes_host, kubernetes_ca_cert),
        ),
    )
    if vault_addr:
        from homelabeazy.lifecycle.secrets import cleartext_warning

        warning = cleartext_warning(vault_addr)
        if warning:
            console.err.print(f"[bold yellow]warning[/]: {console.escape(warning)}")
    runners = stage_runners(homelab, adapters, targets, kubeconfig)
    ctx = StageContext(repo=repo, homelab=homelab)
    if dry_run:
        for line in plan_dry_run(ctx, runners, only=only, start_from=start_from):
            console.out.print(console.escape(line))
        return ExitCode.OK

    def confirm(planned: list[PlannedStage]) -> bool:
        changing = [p.spec.name for p in planned if p.decision == "run" and not p.spec.check]
        if yes or not changing:
            return True
        if not sys.stdin.isatty():
            raise UsageError(f"would run {', '.join(changing)}: pass --yes to run without a terminal")
        return typer.confirm(f"run {', '.join(changing)} against {homelab.name}?", default=False)

    try:
        result = run_up(ctx, runners, RichReporter(), only=only, start_from=start_from, confirm=confirm)
    except KeyboardInterrupt:
        console.failure("interrupted: the journal records where; run `homelab up` again to resume")
        return 130
    # --only / --from skip stages because they were not asked for, not because they are done.
    skipped = "not selected" if only or start_from else "already done"
    console.success(f"{homelab.name} is up: {len(result.ran)} stage(s) run, {len(result.skipped)} {skipped}")
    return ExitCode.OK


def _status_table(rows: list[Row], title: str) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("layer", "name", "health", "detail"):
        table.add_column(column)
    for row in rows:
        style = _HEALTH_STYLE.get(row.health, "")
        table.add_row(
            row.layer, console.escape(row.name), f"[{style}]{row.health}[/]", console.escape(row.detail)
        )
    return table


def status(  # noqa: PLR0917 - Typer maps parameters to options
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    as_json: JsonOpt = False,
    watch: Annotated[
        float | None, typer.Option("--watch", help="Re-probe every N seconds until Ctrl-C.", min=1.0)
    ] = None,
    kubeconfig: KubeconfigOpt = None,
    traefik: Annotated[
        str | None, typer.Option("--traefik", help="Reach Traefik at HOST:PORT instead.")
    ] = None,
    vault_url: Annotated[
        str | None, typer.Option("--vault-url", help="Reach Vault here, not via its route.")
    ] = None,
    dns: Annotated[
        str | None,
        typer.Option(
            "--dns", help="Ask this resolver (HOST[:PORT]) for every name, not network.dns_servers."
        ),
    ] = None,
    ldap_url: Annotated[
        str | None,
        typer.Option("--ldap-url", help="LDAP URL (a port-forward); password in HOMELAB_LDAP_PASSWORD."),
    ] = None,
    ca_file: Annotated[
        Path | None, typer.Option("--ca-file", help="CA bundle that signed the routes.")
    ] = None,
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure",
            help="Do not verify the routes' TLS certificates (Traefik, Vault, LDAP); not Proxmox's.",
        ),
    ] = False,
    proxmox_insecure: Annotated[
        bool,
        typer.Option(
            "--proxmox-insecure",
            help="Do not verify Proxmox's TLS certificate (the API token is sent anyway); prefer verify_tls "
            "with a CA in homelab.yaml.",
        ),
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per probe.", min=0.1)] = 5.0,
) -> int:
    """Probe every layer at once: Proxmox, VMs, K3s, ArgoCD, Vault, LDAP, routes, DNS, Velero, EFK, Consul.

    Exit 0 when healthy, 1 when anything is degraded or down.
    """
    config = pick_config(config, config_file)
    from homelabeazy.lifecycle.status import exit_code
    from homelabeazy.lifecycle.wiring import status_rows

    _, homelab = load_homelab(config)
    targets = _targets(
        kubeconfig=kubeconfig,
        traefik=traefik,
        vault_url=vault_url,
        dns=dns,
        ldap_url=ldap_url,
        ca_file=ca_file,
        insecure=insecure,
        timeout=timeout,
        proxmox_insecure=proxmox_insecure,
    )

    def probe() -> list[Row]:
        return status_rows(homelab, targets)

    if watch is None:
        rows = probe()
        _show_status(homelab, rows, as_json)
        return exit_code(rows)
    return _watch(homelab, probe, watch)


def _show_status(homelab: Homelab, rows: list[Row], as_json: bool) -> None:
    from homelabeazy.lifecycle.status import exit_code

    healthy = exit_code(rows) == ExitCode.OK
    if as_json:
        console.out.out(
            json.dumps({"homelab": homelab.name, "healthy": healthy, "rows": [r.as_dict() for r in rows]})
        )
        return
    console.err.print(_status_table(rows, f"{homelab.name}: {'healthy' if healthy else 'DEGRADED'}"))


def _watch(homelab: Homelab, probe: Any, every: float) -> int:
    from rich.live import Live

    from homelabeazy.lifecycle.status import exit_code

    code = ExitCode.OK
    try:
        with Live(console=console.err, auto_refresh=False) as live:
            while True:
                rows = probe()
                code = exit_code(rows)
                stamp = time.strftime("%H:%M:%S")
                state = "healthy" if code == ExitCode.OK else "DEGRADED"
                live.update(_status_table(rows, f"{homelab.name}: {state} at {stamp}"), refresh=True)
                time.sleep(every)
    except KeyboardInterrupt:
        return code


def destroy(
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask for the homelab's name (automation).")
    ] = False,
    kubeconfig: KubeconfigOpt = None,
) -> int:
    """Delete every VM of the homelab (terraform destroy) after you type its name back."""
    config = pick_config(config, config_file)
    from homelabeazy.lifecycle.destroy import confirmed, destroy_plan
    from homelabeazy.lifecycle.destroy import destroy as run_destroy
    from homelabeazy.lifecycle.runners import kubeconfig_path
    from homelabeazy.lifecycle.terraform_runner import TerraformAdapter

    _, homelab = load_homelab(config)
    repo = config.resolve().parent
    kube_file = kubeconfig or kubeconfig_path(homelab)
    console.err.print(f"[bold]homelab destroy deletes, for {console.escape(homelab.name)}:[/]")
    for line in destroy_plan(homelab, repo, kube_file):
        console.err.print(f"  - {console.escape(line)}")
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("refusing to destroy without a terminal to confirm on: pass --yes")
        typed = typer.prompt(
            f"type the homelab's name ({homelab.name}) to destroy it", default="", show_default=False
        )
        if not confirmed(homelab, typed):
            raise UsageError(f"cancelled: {typed!r} is not {homelab.name!r}; nothing was deleted")
    with console.err.status("destroy: terraform") as spinner:
        summary = run_destroy(
            repo,
            kube_file,
            TerraformAdapter(homelab.config.proxmox),
            lambda text: spinner.update(console.escape(text)),
        )
    console.success(f"destroyed {homelab.name}: {summary}")
    return ExitCode.OK


backup_app = typer.Typer(
    help="Velero backups: take one now, list them, restore one.", no_args_is_help=True, rich_markup_mode=None
)


def _velero(config: Path, kubeconfig: Path | None) -> tuple[Homelab, Any]:
    from homelabeazy.lifecycle.runners import kubeconfig_path
    from homelabeazy.ops.kube import KubeAdapter

    _, homelab = load_homelab(config)
    path = kubeconfig or kubeconfig_path(homelab)
    if not path.exists():
        raise UsageError(f"no kubeconfig at {path}: run `homelab up` first, or pass --kubeconfig")
    return homelab, KubeAdapter(path)


@backup_app.command("now")
def backup_now(
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    kubeconfig: KubeconfigOpt = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for completion.")] = 3600.0,
) -> int:
    """Back up every namespace now and wait until Velero completes it."""
    config = pick_config(config, config_file)
    from homelabeazy.lifecycle.backup import Waiter
    from homelabeazy.lifecycle.backup import backup_now as take

    homelab, kube = _velero(config, kubeconfig)
    with console.err.status("backup: starting") as spinner:
        info = take(kube, homelab, Waiter(timeout=timeout), lambda text: spinner.update(console.escape(text)))
    console.success(f"backup {info.name} completed")
    return ExitCode.OK


@backup_app.command("list")
def backup_list(
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    kubeconfig: KubeconfigOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """List Velero backups, newest first."""
    config = pick_config(config, config_file)
    from homelabeazy.lifecycle.backup import list_backups

    _, kube = _velero(config, kubeconfig)
    backups = list_backups(kube)
    if as_json:
        console.out.out(json.dumps([b.as_dict() for b in backups]))
        return ExitCode.OK
    from rich.table import Table

    table = Table()
    for column in ("name", "phase", "schedule", "started", "completed", "expires", "errors"):
        table.add_column(column)
    for b in backups:
        table.add_row(b.name, b.phase, b.schedule, b.started, b.completed, b.expires, str(b.errors))
    console.out.print(table)
    return ExitCode.OK


@backup_app.command("restore")
def backup_restore(
    name: Annotated[str, typer.Argument(help="The backup to restore (see `homelab backup list`).")],
    config: ConfigOption = DEFAULT_CONFIG,
    kubeconfig: KubeconfigOpt = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for completion.")] = 3600.0,
) -> int:
    """Restore everything in backup NAME and wait until Velero completes it."""
    from homelabeazy.lifecycle.backup import Waiter, restore

    _, kube = _velero(config, kubeconfig)
    with console.err.status("restore: starting") as spinner:
        restored = restore(
            kube, name, Waiter(timeout=timeout), lambda text: spinner.update(console.escape(text))
        )
    console.success(f"restore {restored} from {name} completed")
    return ExitCode.OK


def drift(
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    as_json: JsonOpt = False,
    kubeconfig: KubeconfigOpt = None,
    ca_file: Annotated[
        Path | None, typer.Option("--ca-file", help="CA bundle that signed the Proxmox API.")
    ] = None,
) -> int:
    """Show where Proxmox (live VMs), the cluster (live Applications) and homelab.yaml disagree.

    Exit 0 when they agree, 1 when anything drifted.
    """
    config = pick_config(config, config_file)
    from homelabeazy.lifecycle.drift import compute_drift
    from homelabeazy.lifecycle.runners import kubeconfig_path
    from homelabeazy.lifecycle.status import ARGOCD_NAMESPACE
    from homelabeazy.lifecycle.wiring import proxmox_client
    from homelabeazy.ops.kube import KubeAdapter

    _, homelab = load_homelab(config)
    with proxmox_client(homelab, str(ca_file) if ca_file else None) as proxmox:
        vms = proxmox.vms()
    path = kubeconfig or kubeconfig_path(homelab)
    applications = None
    if path.exists():
        applications = KubeAdapter(path).list_items(
            f"/apis/argoproj.io/v1alpha1/namespaces/{ARGOCD_NAMESPACE}/applications"
        )
    else:
        console.info(f"no kubeconfig at {path}: comparing VMs only")
    items = compute_drift(homelab, vms, applications)
    if as_json:
        console.out.out(json.dumps([i.as_dict() for i in items]))
    elif not items:
        console.success("no drift: the live homelab matches homelab.yaml")
    else:
        from rich.table import Table

        table = Table(title=f"{homelab.name}: {len(items)} difference(s)", title_justify="left")
        for column in ("layer", "name", "drift", "model", "live"):
            table.add_column(column)
        for i in items:
            table.add_row(
                i.layer, console.escape(i.name), i.kind, console.escape(i.model), console.escape(i.live)
            )
        console.err.print(table)
    return ExitCode.FAILED if items else ExitCode.OK
