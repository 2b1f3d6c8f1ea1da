"""`homelab dr drill`: restore the newest backups into scratch servers, compare with live, report.

Exit 0 when the backups hold everything live holds, 1 when anything differs or a system fails,
2 for bad input. Output names paths, versions, DNs and attribute names — never a value.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from homelabeazy.cli import console
from homelabeazy.cli.common import ConfigArg, ConfigFileOption, load_homelab, pick_config
from homelabeazy.cli.users import BindDnOption, LdapCaOption, LdapUrlOption
from homelabeazy.cli.vault_options import (
    DEFAULT_CONFIG,
    BootstrapOption,
    CaCertOption,
    VaultAddrOption,
    bootstrap_path,
    vault_adapter,
)
from homelabeazy.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from homelabeazy.lifecycle.dr.drill import DrillReport
    from homelabeazy.model import Homelab
    from homelabeazy.ops.vault_bootstrap import VaultBootstrap

app = typer.Typer(
    name="dr",
    help="Disaster recovery: prove the backups restore everything.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

AgeBackupOption = Annotated[
    Path | None,
    typer.Option(
        "--bootstrap-backup",
        help="The age-encrypted bootstrap backup to take the original unseal keys from "
        "(default: the local bootstrap file).",
    ),
]
IdentityOption = Annotated[
    Path | None,
    typer.Option("--identity", "-i", help="age identity file that decrypts --bootstrap-backup."),
]


@app.command()
def drill(  # noqa: PLR0917 - every Typer option is a parameter
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    vault_addr: VaultAddrOption = None,
    ca_cert: CaCertOption = None,
    bootstrap_file: BootstrapOption = None,
    bootstrap_backup: AgeBackupOption = None,
    identity: IdentityOption = None,
    ldap_url: LdapUrlOption = None,
    bind_dn: BindDnOption = None,
    ldap_ca_cert: LdapCaOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
) -> int:
    """Restore the newest Vault and LDAP backups into scratch servers and compare them with live."""
    config = pick_config(config, config_file)
    from homelabeazy.lifecycle.directory import ADMIN_SECRET, vault_password
    from homelabeazy.lifecycle.dr import store
    from homelabeazy.lifecycle.dr.drill import DrillInputs, run_drill
    from homelabeazy.ops.ldap import LdapAdapter

    loaded, homelab = load_homelab(config)
    if not ldap_url:
        raise UsageError("no LDAP URL: pass --ldap-url or set LDAP_URL (e.g. a port-forward)")
    keys = _original_keys(homelab, bootstrap_file, bootstrap_backup, identity)
    live_vault = vault_adapter(homelab, vault_addr, ca_cert, bootstrap_file)
    password = os.environ.get("LDAP_BIND_PASSWORD") or vault_password(live_vault, homelab, ADMIN_SECRET)
    layout = homelab.ldap
    live_ldap = LdapAdapter(
        ldap_url, bind_dn or layout.admin_dn, password, str(ldap_ca_cert) if ldap_ca_cert else None
    )
    inputs = DrillInputs(
        bucket=store.open_store(loaded.config, live_vault, homelab.vault_kv_mount),
        live_vault=live_vault,
        live_ldap=live_ldap,
        bootstrap=keys,
        base_dn=layout.base_dn,
        admin_dn=layout.admin_dn,
    )
    with console.err.status("drill: starting") as spinner:
        report = run_drill(inputs, lambda text: spinner.update(f"drill: {console.escape(text)}"))
    if as_json:
        console.out.out(json.dumps(report.as_dict(), indent=2, sort_keys=True))
    else:
        _show(report)
    return ExitCode.OK if report.nothing_lost else ExitCode.FAILED


def _original_keys(
    homelab: Homelab, bootstrap_file: Path | None, backup: Path | None, identity: Path | None
) -> VaultBootstrap:
    """The unseal keys of the Vault the snapshot came from: the age backup, else the local file."""
    from homelabeazy.ops import vault_bootstrap

    if backup is None:
        if identity is not None:
            raise UsageError("--identity needs --bootstrap-backup")
        return vault_bootstrap.load(bootstrap_path(homelab, bootstrap_file))
    if identity is None:
        raise UsageError("--bootstrap-backup needs --identity (the age identity file that decrypts it)")
    from homelabeazy.lifecycle.dr.bootstrap_backup import decrypt

    where = f"{backup} (decrypted)"
    try:
        text = decrypt(backup, identity).decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{where}: not a Vault bootstrap file") from None
    return vault_bootstrap.parse(text, where)


def _show(report: DrillReport) -> None:
    for used in report.backups:
        console.info(
            f"{used.kind}: {used.key} ({used.size} bytes), RPO {_duration(used.age.total_seconds())}"
        )
    for timing in report.restores:
        console.info(
            f"{timing.kind}: restored in {timing.rto:.1f}s "
            f"(download {timing.download:.1f}s, restore {timing.restore:.1f}s) — RTO"
        )
    counts = report.counts
    console.info(
        f"Vault: {counts.get('live_secrets', 0)} live secrets ({counts.get('live_versions', 0)} versions), "
        f"{counts.get('backup_secrets', 0)} restored ({counts.get('backup_versions', 0)} versions); "
        f"LDAP: {counts.get('live_entries', 0)} live entries, {counts.get('backup_entries', 0)} restored"
    )
    for diff in report.differences:
        detail = f" ({diff.detail})" if diff.detail else ""
        console.err.print(
            f"[yellow]{diff.kind}[/] {diff.system}: {console.escape(diff.subject)}{console.escape(detail)}"
        )
    if report.nothing_lost:
        console.success(
            f"nothing lost: the backups restore everything live holds ({report.wall_seconds:.1f}s)"
        )
    else:
        console.failure(
            f"{len(report.differences)} difference(s) between live and the restored backups "
            "(missing = a restore would lose it, extra = only in the backup)"
        )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
