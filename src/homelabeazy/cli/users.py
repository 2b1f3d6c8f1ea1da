"""`homelab users bootstrap|list|add|remove|passwd|groups`: the OpenLDAP directory of the homelab.

The bind password comes from LDAP_BIND_PASSWORD or Vault (openldap/admin), never from the command
line, and is never printed; generated passwords go to Vault at users/<username>.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_args, get_type_hints

import typer

from homelabeazy.cli import console
from homelabeazy.cli.common import (
    BeforeOption,
    ConfigArg,
    ConfigFileOption,
    before_moment,
    load_homelab,
    pick_config,
)
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


@dataclass(frozen=True)
class DirectoryOptions:
    """The options every users command shares: the config, the directory, and Vault.

    Declared once here; `_directory_command` turns these fields into each command's options.
    """

    config: ConfigOption = DEFAULT_CONFIG
    ldap_url: LdapUrlOption = None
    bind_dn: BindDnOption = None
    ldap_ca_cert: LdapCaOption = None
    vault_addr: VaultAddrOption = None
    ca_cert: CaCertOption = None
    bootstrap_file: BootstrapOption = None

    def connect(self) -> Connection:
        """Load the config and check the directory is named (before anything is asked of it)."""
        return Connection(self)


class Connection:
    """Everything a users command needs to reach LDAP and, when needed, Vault."""

    def __init__(self, options: DirectoryOptions) -> None:
        _, self.homelab = load_homelab(options.config)
        if not options.ldap_url:
            raise UsageError("no LDAP URL: pass --ldap-url or set LDAP_URL")
        self.ldap_url = options.ldap_url
        self.bind_dn = options.bind_dn or self.homelab.ldap.admin_dn
        self.ldap_ca_cert = str(options.ldap_ca_cert) if options.ldap_ca_cert else None
        self._vault_args = (options.vault_addr, options.ca_cert, options.bootstrap_file)

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


def _shared_parameters(config_argument: bool) -> list[inspect.Parameter]:
    """The shared options as parameters; with `config_argument`, the config is also taken as the
    command's argument (FILE), as by every command that has no argument of its own."""
    hints = get_type_hints(DirectoryOptions, include_extras=True)
    keyword = inspect.Parameter.KEYWORD_ONLY
    shared = [
        inspect.Parameter(f.name, keyword, annotation=hints[f.name], default=f.default)
        for f in fields(DirectoryOptions)
    ]
    if not config_argument:
        return shared
    config = [
        inspect.Parameter("config", keyword, annotation=ConfigArg, default=DEFAULT_CONFIG),
        inspect.Parameter("config_file", keyword, annotation=ConfigFileOption, default=None),
    ]
    return config + [p for p in shared if p.name != "config"]


def _is_argument(annotation: Any) -> bool:
    return any(isinstance(meta, typer.models.ArgumentInfo) for meta in get_args(annotation)[1:])


def _directory_command(name: str | None = None) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Register a users command whose `options: DirectoryOptions` parameter stands for the shared options.

    Typer reads options from the signature, so the command's signature is rewritten with the shared
    options in place of `options` (where they show in --help), and they are bundled again on the
    way in: every command keeps the same options without declaring them again.
    """

    def register(command: Callable[..., int]) -> Callable[..., int]:
        hints = get_type_hints(command, include_extras=True)
        config_argument = not any(_is_argument(hint) for name, hint in hints.items() if name != "return")
        shared = _shared_parameters(config_argument)
        parameters: list[inspect.Parameter] = []
        for parameter in inspect.signature(command).parameters.values():
            if parameter.name == "options":
                parameters.extend(shared)
            else:
                parameters.append(
                    parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints[parameter.name])
                )

        @functools.wraps(command)
        def with_options(**given: Any) -> int:
            values = {p.name: given.pop(p.name) for p in shared}
            if config_argument:
                values["config"] = pick_config(values["config"], values.pop("config_file"))
            options = DirectoryOptions(**values)
            return command(options=options, **given)

        with_options.__signature__ = inspect.Signature(parameters, return_annotation=int)  # type: ignore[attr-defined]
        with_options.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": int}
        app.command(name)(with_options)
        return command

    return register


def _print(report: DirectoryReport) -> None:
    for line in report.done:
        console.success(line)
    for line in report.unchanged:
        console.info(f"  unchanged: {line}")


@_directory_command()
def bootstrap(
    options: DirectoryOptions,
    print_ldif: Annotated[
        bool, typer.Option("--print-ldif", help="Print the directory's LDIF (no passwords) and stop.")
    ] = False,
) -> int:
    """Create the OUs, groups, users and Authelia's account from the config (initial passwords from Vault)."""
    from homelabeazy.lifecycle import directory

    if print_ldif:
        _, homelab = load_homelab(options.config)
        console.out.out(directory.render_ldif(directory.directory_entries(homelab)), end="")
        return ExitCode.OK
    conn = options.connect()
    vault = conn.vault()
    passwords = directory.passwords_from_vault(vault, conn.homelab)
    with conn.ldap() as ldap:
        _print(directory.bootstrap(ldap, conn.homelab, passwords))
    return ExitCode.OK


@_directory_command("list")
def list_users(
    options: DirectoryOptions,
    as_json: Annotated[bool, typer.Option("--json", help="Print users as JSON on stdout.")] = False,
) -> int:
    """List people with their name, e-mail and groups."""
    from rich.table import Table

    from homelabeazy.lifecycle import directory

    conn = options.connect()
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


@_directory_command()
def add(
    username: UsernameArg,
    name: Annotated[str, typer.Option("--name", help="Full name (cn).")],
    email: Annotated[str, typer.Option("--email", help="E-mail address.")],
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="A group to join (repeatable).")
    ] = None,
    *,
    options: DirectoryOptions,
) -> int:
    """Add a person; the initial password is generated and kept in Vault at users/<username>."""
    from homelabeazy.config.schema import UserConfig
    from homelabeazy.lifecycle import directory

    try:
        UserConfig(username=username, display_name=name, email=email, groups=list(group or []))
    except ValueError as exc:
        raise UsageError(f"invalid user: {exc}") from None
    conn = options.connect()
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


@_directory_command()
def remove(username: UsernameArg, options: DirectoryOptions) -> int:
    """Remove a person from every group and delete them."""
    from homelabeazy.lifecycle import directory

    conn = options.connect()
    with conn.ldap() as ldap:
        _print(directory.remove_user(ldap, conn.homelab.ldap, username))
    return ExitCode.OK


@_directory_command()
def passwd(
    username: UsernameArg,
    generate: Annotated[
        bool, typer.Option("--generate", help="Generate a new password and keep it in Vault (users/<name>).")
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input.")
    ] = False,
    *,
    options: DirectoryOptions,
) -> int:
    """Change a person's password (typed twice, from stdin, or generated into Vault)."""
    from homelabeazy.lifecycle import directory

    if generate and password_stdin:
        raise UsageError("choose one of --generate and --password-stdin")
    conn = options.connect()
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


@_directory_command()
def groups(
    username: UsernameArg,
    add: Annotated[list[str] | None, typer.Option("--add", help="Group to join (repeatable).")] = None,
    remove: Annotated[list[str] | None, typer.Option("--remove", help="Group to leave (repeatable).")] = None,
    *,
    options: DirectoryOptions,
) -> int:
    """Show a person's groups, or change them with --add / --remove."""
    from homelabeazy.lifecycle import directory

    conn = options.connect()
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


@_directory_command("export")
def export_directory(
    to: Annotated[
        Path | None,
        typer.Option("--to", help="Write the LDIF (0600) and FILE.sha256 here instead of the backup bucket."),
    ] = None,
    *,
    options: DirectoryOptions,
) -> int:
    """Export every entry under the base DN, password hashes included, as LDIF (to the backup bucket
    under homelab-dr/ldap-ldif/ beside Velero's folder, keeping services.openldap.exports.keep of
    them, or to --to FILE)."""
    from homelabeazy.lifecycle.dr import directory_backup
    from homelabeazy.model import dr_artifacts
    from homelabeazy.secret_files import ensure_outside_repo

    if to is not None:  # refused before any server is asked for anything
        ensure_outside_repo(to, options.config.resolve().parent, directory_backup.WHAT)
    conn = options.connect()
    base = conn.homelab.ldap.base_dn
    if to is None:
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


@_directory_command("import")
def import_directory(
    source: Annotated[
        Path | None, typer.Option("--from", help="A backup file (FILE.sha256 must be beside it).")
    ] = None,
    latest: Annotated[bool, typer.Option("--latest", help="The newest export in the backup bucket.")] = False,
    before: BeforeOption = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Also delete entries that are not in the backup.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask before changing the directory.")
    ] = False,
    *,
    options: DirectoryOptions,
) -> int:
    """Restore users, groups and password hashes from a backup: add what is missing, replace what
    differs (and with --prune delete what the backup lacks). The backup's checksum and every entry
    are checked before the directory is touched (a damaged backup: exit 2, nothing changed; when the
    newest export in the bucket is damaged, `--latest --before STAMP` takes the newest one older)."""
    from homelabeazy.lifecycle import directory_ldif
    from homelabeazy.lifecycle.dr import directory_backup

    if (source is None) == (not latest):
        raise UsageError("pass exactly one of --from FILE and --latest")
    moment = before_moment(before, latest)
    # A file is read (bounded, a regular file only) and verified before any server is asked anything.
    loaded = (directory_backup.load_backup(source), str(source)) if source is not None else None
    conn = options.connect()
    base = conn.homelab.ldap.base_dn
    data, name = loaded or directory_backup.download_latest(_backup_store(conn), moment)
    backup = directory_ldif.parse_ldif(data, base, name)
    with conn.ldap() as ldap:
        plan = directory_backup.plan_restore(ldap, base, backup, prune, name)
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
