"""`homelab users bootstrap|list|add|remove|passwd|groups`: the OpenLDAP directory of the homelab.

The bind password comes from LDAP_BIND_PASSWORD or Vault (openldap/admin), never from the command
line, and is never printed; generated passwords go to Vault at users/<username>.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from homelabeazy.cli import console
from homelabeazy.cli.common import load_homelab
from homelabeazy.cli.vault_options import (
    DEFAULT_CONFIG,
    BootstrapOption,
    CaCertOption,
    ConfigOption,
    VaultAddrOption,
    vault_adapter,
)
from homelabeazy.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from homelabeazy.lifecycle.directory import DirectoryReport
    from homelabeazy.ops.ldap import LdapAdapter
    from homelabeazy.ops.objectstore import ObjectStore
    from homelabeazy.ops.vault import VaultAdapter

app = typer.Typer(
    name="users",
    help="Manage the people and groups of the LDAP directory.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

LdapUrlOption = Annotated[
    str | None,
    typer.Option(
        "--ldap-url",
        envvar="LDAP_URL",
        help="Directory URL: ldap://127.0.0.1:PORT through a kubectl port-forward, else ldaps:// or "
        "ldap:// (upgraded with StartTLS; never a bind in clear across a network).",
    ),
]
BindDnOption = Annotated[
    str | None,
    typer.Option("--bind-dn", envvar="LDAP_BIND_DN", help="DN to bind as; defaults to the directory admin."),
]
LdapCaOption = Annotated[
    Path | None,
    typer.Option(
        "--ldap-ca-cert",
        envvar="LDAP_CA_CERT",
        help="CA bundle verifying the directory's TLS certificate (ldaps:// and StartTLS).",
    ),
]
UsernameArg = Annotated[str, typer.Argument(help="Login name (uid).")]


class Connection:
    """Everything a users command needs to reach LDAP and, when needed, Vault."""

    def __init__(  # noqa: PLR0917 - mirrors the shared options
        self,
        config: Path,
        ldap_url: str | None,
        bind_dn: str | None,
        ldap_ca_cert: Path | None,
        vault_addr: str | None,
        ca_cert: Path | None,
        bootstrap_file: Path | None,
    ) -> None:
        _, self.homelab = load_homelab(config)
        if not ldap_url:
            raise UsageError("no LDAP URL: pass --ldap-url or set LDAP_URL")
        self.ldap_url = ldap_url
        self.bind_dn = bind_dn or self.homelab.ldap.admin_dn
        self.ldap_ca_cert = str(ldap_ca_cert) if ldap_ca_cert else None
        self._vault_args = (vault_addr, ca_cert, bootstrap_file)

    def vault(self) -> VaultAdapter:
        """The Vault adapter (only built when a command needs Vault)."""
        return vault_adapter(self.homelab, *self._vault_args)

    def ldap(self) -> LdapAdapter:
        """An LDAP adapter bound with LDAP_BIND_PASSWORD, else Vault's openldap/admin password."""
        from homelabeazy.lifecycle.directory import ADMIN_SECRET, vault_password
        from homelabeazy.ops.ldap import LdapAdapter

        password = os.environ.get("LDAP_BIND_PASSWORD")
        if not password:
            password = vault_password(self.vault(), self.homelab, ADMIN_SECRET)
        return LdapAdapter(self.ldap_url, self.bind_dn, password, self.ldap_ca_cert)


def _connection(  # noqa: PLR0917 - mirrors the shared options
    config: Path,
    ldap_url: str | None,
    bind_dn: str | None,
    ldap_ca_cert: Path | None,
    vault_addr: str | None,
    ca_cert: Path | None,
    bootstrap_file: Path | None,
) -> Connection:
    return Connection(config, ldap_url, bind_dn, ldap_ca_cert, vault_addr, ca_cert, bootstrap_file)


def _print(report: DirectoryReport) -> None:
    for line in report.done:
        console.success(line)
    for line in report.unchanged:
        console.info(f"  unchanged: {line}")


@app.command()
def bootstrap(  # noqa: PLR0917 - every Typer option is a parameter
    config: ConfigOption = DEFAULT_CONFIG,
    ldap_url: LdapUrlOption = None,
    bind_dn: BindDnOption = None,
    ldap_ca_cert: LdapCaOption = None,
    vault_addr: VaultAddrOption = None,
    ca_cert: CaCertOption = None,
    bootstrap_file: BootstrapOption = None,
    print_ldif: Annotated[
        bool, typer.Option("--print-ldif", help="Print the directory's LDIF (no passwords) and stop.")
    ] = False,
) -> int:
    """Create the OUs, groups, users and Authelia's account from the config (initial passwords from Vault)."""
    from homelabeazy.lifecycle import directory

    if print_ldif:
        _, homelab = load_homelab(config)
        console.out.out(directory.render_ldif(directory.directory_entries(homelab)), end="")
        return ExitCode.OK
    conn = _connection(config, ldap_url, bind_dn, ldap_ca_cert, vault_addr, ca_cert, bootstrap_file)
    vault = conn.vault()
    passwords = directory.passwords_from_vault(vault, conn.homelab)
    with conn.ldap() as ldap:
        _print(directory.bootstrap(ldap, conn.homelab, passwords))
    return ExitCode.OK


@app.command("list")
def list_users(  # noqa: PLR0917 - every Typer option is a parameter
    config: ConfigOption = DEFAULT_CONFIG,
    ldap_url: LdapUrlOption = None,
    bind_dn: BindDnOption = None,
    ldap_ca_cert: LdapCaOption = None,
    vault_addr: VaultAddrOption = None,
    ca_cert: CaCertOption = None,
    bootstrap_file: BootstrapOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print users as JSON on stdout.")] = False,
) -> int:
    """List people with their name, e-mail and groups."""
    from rich.table import Table

    from homelabeazy.lifecycle import directory

    conn = _connection(config, ldap_url, bind_dn, ldap_ca_cert, vault_addr, ca_cert, bootstrap_file)
    with conn.ldap() as ldap:
        rows = directory.list_users(ldap, conn.homelab.ldap)
    if as_json:
        console.out.out(json.dumps([r.__dict__ | {"groups": list(r.groups)} for r in rows], indent=2))
        return ExitCode.OK
    table = Table("username", "name", "e-mail", "groups")
    for row in rows:
        table.add_row(row.username, row.name, row.email, ", ".join(row.groups))
    console.out.print(table)
    return ExitCode.OK


@app.command()
def add(  # noqa: PLR0917 - every Typer option is a parameter
    username: UsernameArg,
    name: Annotated[str, typer.Option("--name", help="Full name (cn).")],
    email: Annotated[str, typer.Option("--email", help="E-mail address.")],
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="A group to join (repeatable).")
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    ldap_url: LdapUrlOption = None,
    bind_dn: BindDnOption = None,
    ldap_ca_cert: LdapCaOption = None,
    vault_addr: VaultAddrOption = None,
    ca_cert: CaCertOption = None,
    bootstrap_file: BootstrapOption = None,
) -> int:
    """Add a person; the initial password is generated and kept in Vault at users/<username>."""
    from homelabeazy.config.schema import UserConfig
    from homelabeazy.lifecycle import directory

    try:
        UserConfig(username=username, display_name=name, email=email, groups=list(group or []))
    except ValueError as exc:
        raise UsageError(f"invalid user: {exc}") from None
    conn = _connection(config, ldap_url, bind_dn, ldap_ca_cert, vault_addr, ca_cert, bootstrap_file)
    layout = conn.homelab.ldap
    vault = conn.vault()
    with conn.ldap() as ldap:
        entry = directory.user_entry(layout, username, name, email)
        directory.check_new_user(ldap, layout, entry, tuple(group or ()))
        password, created = directory.initial_password(vault, conn.homelab, username)
        _print(directory.add_user(ldap, layout, entry, password, tuple(group or ())))
    where = f"{conn.homelab.vault_kv_mount}/users/{username}"
    console.info(f"initial password {'generated into' if created else 'taken from'} Vault at {where}")
    return ExitCode.OK


@app.command()
def remove(  # noqa: PLR0917 - every Typer option is a parameter
    username: UsernameArg,
    config: ConfigOption = DEFAULT_CONFIG,
    ldap_url: LdapUrlOption = None,
    bind_dn: BindDnOption = None,
    ldap_ca_cert: LdapCaOption = None,
    vault_addr: VaultAddrOption = None,
    ca_cert: CaCertOption = None,
    bootstrap_file: BootstrapOption = None,
) -> int:
    """Remove a person from every group and delete them."""
    from homelabeazy.lifecycle import directory

    conn = _connection(config, ldap_url, bind_dn, ldap_ca_cert, vault_addr, ca_cert, bootstrap_file)
    with conn.ldap() as ldap:
        _print(directory.remove_user(ldap, conn.homelab.ldap, username))
    return ExitCode.OK


@app.command()
def passwd(  # noqa: PLR0917 - every Typer option is a parameter
    username: UsernameArg,
    generate: Annotated[
        bool, typer.Option("--generate", help="Generate a new password and keep it in Vault (users/<name>).")
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input.")
    ] = False,
    config: ConfigOption = DEFAULT_CONFIG,
    ldap_url: LdapUrlOption = None,
    bind_dn: BindDnOption = None,
    ldap_ca_cert: LdapCaOption = None,
    vault_addr: VaultAddrOption = None,
    ca_cert: CaCertOption = None,
    bootstrap_file: BootstrapOption = None,
) -> int:
    """Change a person's password (typed twice, from stdin, or generated into Vault)."""
    from homelabeazy.lifecycle import directory

    if generate and password_stdin:
        raise UsageError("choose one of --generate and --password-stdin")
    conn = _connection(config, ldap_url, bind_dn, ldap_ca_cert, vault_addr, ca_cert, bootstrap_file)
    layout = conn.homelab.ldap
    with conn.ldap() as ldap:
        directory.require_user(ldap, layout, username)
        if generate:
            password = directory.regenerate_password(conn.vault(), conn.homelab, username)
        elif password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
        if len(password) < 8:
            raise UsageError("the new password must have at least 8 characters")
        _print(directory.change_password(ldap, layout, username, password))
    if generate:
        console.info(f"new password kept in Vault at {conn.homelab.vault_kv_mount}/users/{username}")
    return ExitCode.OK


@app.command()
def groups(  # noqa: PLR0917 - every Typer option is a parameter
    username: UsernameArg,
    add: Annotated[list[str] | None, typer.Option("--add", help="Group to join (repeatable).")] = None,
    remove: Annotated[list[str] | None, typer.Option("--remove", help="Group to leave (repeatable).")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    ldap_url: LdapUrlOption = None,
    bind_dn: BindDnOption = None,
    ldap_ca_cert: LdapCaOption = None,
    vault_addr: VaultAddrOption = None,
    ca_cert: CaCertOption = None,
    bootstrap_file: BootstrapOption = None,
) -> int:
    """Show a person's groups, or change them with --add / --remove."""
    from homelabeazy.lifecycle import directory

    conn = _connection(config, ldap_url, bind_dn, ldap_ca_cert, vault_addr, ca_cert, bootstrap_file)
    layout = conn.homelab.ldap
    with conn.ldap() as ldap:
        if add or remove:
            _print(directory.change_groups(ldap, layout, username, tuple(add or ()), tuple(remove or ())))
        directory.require_user(ldap, layout, username)
        rows = [r for r in directory.list_users(ldap, layout) if r.username == username]
    console.out.out("\n".join(rows[0].groups) if rows and rows[0].groups else "")
    return ExitCode.OK


def _backup_store(conn: Connection) -> ObjectStore:
    """The homelab's backup bucket; Vault is asked for its keys only when the environment lacks them."""
    from homelabeazy.lifecycle.dr import store
    from homelabeazy.ops.objectstore import credentials_from_env

    vault = None if credentials_from_env() else conn.vault()
    return store.open_store(conn.homelab.config, vault, conn.homelab.vault_kv_mount)


@app.command("export")
def export_directory(  # noqa: PLR0917 - every Typer option is a parameter
    to: Annotated[
        Path | None,
        typer.Option("--to", help="Write the LDIF (0600) and FILE.sha256 here instead of the backup bucket."),
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    ldap_url: LdapUrlOption = None,
    bind_dn: BindDnOption = None,
    ldap_ca_cert: LdapCaOption = None,
    vault_addr: VaultAddrOption = None,
    ca_cert: CaCertOption = None,
    bootstrap_file: BootstrapOption = None,
) -> int:
    """Export every entry under the base DN, password hashes included, as LDIF (to the backup bucket
    under homelab-dr/ldap-ldif/ beside Velero's folder, keeping services.openldap.exports.keep of
    them, or to --to FILE)."""
    from homelabeazy.lifecycle.dr import directory_backup
    from homelabeazy.model import dr_artifacts

    conn = _connection(config, ldap_url, bind_dn, ldap_ca_cert, vault_addr, ca_cert, bootstrap_file)
    base = conn.homelab.ldap.base_dn
    if to is not None:
        directory_backup.ensure_outside_repo(to, config.parent)
    else:
        from homelabeazy.lifecycle.dr.store import require_safe_bucket

        require_safe_bucket(conn.homelab.config, "the LDIF export")
    bucket = None if to else _backup_store(conn)
    with conn.ldap() as ldap:
        data, count = directory_backup.export_directory(ldap, base)
    if to is not None:
        directory_backup.save_backup(to, data)
        where = f"{to} (checksum in {dr_artifacts.sidecar_file(to).name})"
    else:
        assert bucket is not None
        keep = conn.homelab.config.services.openldap.exports.keep
        key, expired = directory_backup.upload_backup(bucket, data, keep)
        where = f"{key} in {bucket.target.where}" + (f", {len(expired)} older removed" if expired else "")
    console.success(f"exported {count} entries under {base} ({len(data)} bytes) to {where}")
    return ExitCode.OK


@app.command("import")
def import_directory(  # noqa: PLR0917 - every Typer option is a parameter
    source: Annotated[
        Path | None, typer.Option("--from", help="A backup file (FILE.sha256 must be beside it).")
    ] = None,
    latest: Annotated[bool, typer.Option("--latest", help="The newest export in the backup bucket.")] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Also delete entries that are not in the backup.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask before changing the directory.")
    ] = False,
    config: ConfigOption = DEFAULT_CONFIG,
    ldap_url: LdapUrlOption = None,
    bind_dn: BindDnOption = None,
    ldap_ca_cert: LdapCaOption = None,
    vault_addr: VaultAddrOption = None,
    ca_cert: CaCertOption = None,
    bootstrap_file: BootstrapOption = None,
) -> int:
    """Restore users, groups and password hashes from a backup: add what is missing, replace what
    differs (and with --prune delete what the backup lacks). The backup's checksum and every entry
    are checked before the directory is touched."""
    from homelabeazy.lifecycle import directory_ldif
    from homelabeazy.lifecycle.dr import directory_backup

    if (source is None) == (not latest):
        raise UsageError("pass exactly one of --from FILE and --latest")
    conn = _connection(config, ldap_url, bind_dn, ldap_ca_cert, vault_addr, ca_cert, bootstrap_file)
    base = conn.homelab.ldap.base_dn
    if source is not None:
        data, name = directory_backup.load_backup(source), str(source)
    else:
        data, name = directory_backup.download_latest(_backup_store(conn))
    backup = directory_ldif.parse_ldif(data, base, name)
    with conn.ldap() as ldap:
        plan = directory_backup.plan_restore(ldap, base, backup, prune)
        if plan.empty:
            console.success(f"nothing to do: all {len(plan.unchanged)} entries are as in {name}")
            return ExitCode.OK
        for line in directory_ldif.describe(plan):
            console.info(f"  {line}")
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError("would change the directory: pass --yes to import without a terminal")
            if not typer.confirm(f"apply these changes to {base}?", default=False):
                return ExitCode.FAILED
        directory_backup.apply_restore(ldap, plan)
    console.success(
        f"imported {len(backup)} entries from {name}: {len(plan.add)} added, {len(plan.change)} changed, "
        f"{len(plan.delete)} deleted, {len(plan.unchanged)} unchanged"
    )
    return ExitCode.OK
