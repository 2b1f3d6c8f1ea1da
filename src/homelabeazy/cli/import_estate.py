"""`homelab import`: adopt an existing Proxmox estate into Terraform (and optionally homelab.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from homelabeazy.cli import console
from homelabeazy.errors import ExitCode, RenderConflictError, UsageError
from homelabeazy.lifecycle.import_limits import DEFAULT_CONCURRENCY, DEFAULT_TOKEN_ENV, MAX_CONCURRENCY

if TYPE_CHECKING:
    from homelabeazy.config.load import LoadedConfig
    from homelabeazy.lifecycle.importer import Discovery
    from homelabeazy.ops.proxmox import ProxmoxClient


def import_estate(  # noqa: PLR0917 - Typer maps each option to a parameter
    endpoint: Annotated[
        str, typer.Option("--endpoint", help="Proxmox API URL, e.g. https://10.10.30.2:8006.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the Terraform and report into.")],
    token_env: Annotated[
        str, typer.Option("--token-env", help="Environment variable holding user@realm!tokenid=secret.")
    ] = DEFAULT_TOKEN_ENV,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Do not verify the TLS certificate (throwaway labs only).")
    ] = False,
    ca_cert: Annotated[
        Path | None, typer.Option("--ca-cert", help="PEM CA that signed the Proxmox certificate.")
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency", min=1, max=MAX_CONCURRENCY, help="Guest configs read at once (bounded)."
        ),
    ] = DEFAULT_CONCURRENCY,
    record: Annotated[
        Path | None,
        typer.Option(
            "--record", help="Also record the guests in this homelab.yaml as `unmanaged:` inventory."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite generated files you edited.")] = False,
) -> int:
    """Discover every Proxmox host, VM and container and write Terraform that adopts them unchanged."""
    from homelabeazy.importer import render_import
    from homelabeazy.ops.proxmox import ApiToken, ProxmoxClient
    from homelabeazy.render import writer

    if insecure and ca_cert is not None:
        raise UsageError("--insecure and --ca-cert exclude each other")
    token = ApiToken.from_env(token_env)
    loaded = _read_record_target(record) if record is not None else None
    if endpoint.strip().lower().startswith("http://"):
        console.err.print("[yellow]warning[/]: plain http:// endpoint; the API token travels unencrypted")
    if insecure:
        console.err.print(
            "[yellow]warning[/]: TLS verification is off (--insecure); the token could be intercepted"
        )
    with ProxmoxClient(
        endpoint, token, verify=not insecure, ca_cert=ca_cert, max_connections=concurrency
    ) as client:
        found = _discover_with_progress(client, concurrency)
    for warning in found.warnings:
        console.err.print(f"[yellow]warning[/]: {console.escape(warning)}")
    files = render_import(
        found.guests, found.failures, endpoint=client.endpoint, release=found.release, warnings=found.warnings
    )
    with writer.exclusive(out):
        writer.recover(out)
        plan = writer.plan(out, files)
        if plan.conflicts and not force:
            raise RenderConflictError(list(plan.conflicts))
        writer.apply(out, plan, force=force)
    console.success(
        f"imported {len(found.guests)} guests from {len(found.nodes)} nodes into {out} "
        f"({len(plan.create)} created, {len(plan.update)} updated, {len(plan.unchanged)} unchanged)"
    )
    if record is not None and loaded is not None:
        _record(record, loaded, found)
    for failure in found.failures:
        console.failure(f"{failure.node}/{failure.vmid} {failure.name}: {failure.error}")
    if found.failures:
        console.failure(f"{len(found.failures)} guest(s) could not be read; see {out / 'IMPORT_REPORT.md'}")
        return ExitCode.FAILED
    console.info(f"next: review {out / 'IMPORT_REPORT.md'}, then `terraform init && terraform plan` in {out}")
    return ExitCode.OK


def _discover_with_progress(client: ProxmoxClient, concurrency: int) -> Discovery:
    """Run discovery with a progress bar on stderr (stdout stays clean)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from homelabeazy.lifecycle.importer import GuestRef, discover

    columns = (TextColumn("reading guest configs"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # The bar appears once the guest list is known, so a failing /version or /nodes prints no bar.
    progress = Progress(*columns, console=console.err, transient=False)
    task = progress.add_task("guests", total=None, start=False)

    def started(total: int) -> None:
        progress.update(task, total=total)
        progress.start_task(task)
        progress.start()

    def advanced(done: int, total: int, ref: GuestRef) -> None:  # noqa: ARG001 - Progress signature
        progress.update(task, completed=done)

    try:
        return discover(client, concurrency=concurrency, on_start=started, on_progress=advanced)
    finally:
        progress.stop()


def _read_record_target(path: Path) -> LoadedConfig:
    """Validate the homelab.yaml to record into before touching the network (fail early)."""
    from homelabeazy.cli.common import read_config

    return read_config(path)


def _record(path: Path, loaded: LoadedConfig, found: Discovery) -> None:
    from homelabeazy.checks import load_config
    from homelabeazy.importer.record import is_managed, record_unmanaged, vmid_clashes
    from homelabeazy.model import build

    managed = {node.vmid: node.name for node in build(loaded.config).nodes}
    for clash in vmid_clashes(found.guests, managed):
        console.err.print(f"[yellow]warning[/]: {console.escape(clash)}")
    text = path.read_text(encoding="utf-8")
    unreadable = {failure.vmid for failure in found.failures}
    updated = record_unmanaged(text, found.guests, managed, keep=unreadable)
    if updated == text:
        console.success(f"{path}: unmanaged inventory already up to date")
        return
    recorded_config = load_config(updated, file=str(path))  # never write a file that would not validate
    from homelabeazy.atomic_file import write_atomic

    write_atomic(path, updated.encode("utf-8"), "the unmanaged inventory", mode=0o666)  # keeps its mode
    recorded = sum(1 for g in found.guests if not is_managed(g, managed))
    console.success(f"{path}: recorded {recorded} unmanaged guests")
    for problem in recorded_config.warnings:
        if problem.path.startswith("unmanaged"):
            console.problem(problem)
