"""`homelab secrets snapshot|restore|backup|restore-bootstrap`: Vault's disaster recovery.

Output names files, keys and addresses — never a secret, key or token.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    VaultAddrOption,
    bootstrap_path,
    vault_adapter,
)
from homelabeazy.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from homelabeazy.lifecycle.dr.vault_snapshots import Snapshot
    from homelabeazy.model import Homelab
    from homelabeazy.ops.objectstore import ObjectStore
    from homelabeazy.ops.vault import VaultAdapter


def _bucket(homelab: Homelab, vault: VaultAdapter | None) -> ObjectStore:
    from homelabeazy.lifecycle.dr.store import open_store

    return open_store(homelab.config, vault, homelab.vault_kv_mount)


def snapshot(  # noqa: PLR0917 - every Typer option is a parameter
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    to: Annotated[
        Path | None, typer.Option("--to", help="Write the snapshot to FILE (and FILE.sha256) instead of S3.")
    ] = None,
    vault_addr: VaultAddrOption = None,
    ca_cert: CaCertOption = None,
    bootstrap_file: BootstrapOption = None,
) -> int:
    """Take a raft snapshot of Vault and store it in the backup bucket (or a file), with its checksum."""
    config = pick_config(config, config_file)
    from homelabeazy.lifecycle.dr import vault_snapshots
    from homelabeazy.lifecycle.dr.store import require_safe_bucket
    from homelabeazy.secret_files import ensure_outside_repo

    _, homelab = load_homelab(config)
    if to is None:
        require_safe_bucket(homelab.config, "the raft snapshot")
    else:  # refused before Vault is asked for anything
        ensure_outside_repo(to, config.resolve().parent, vault_snapshots.WHAT)
    vault = vault_adapter(homelab, vault_addr, ca_cert, bootstrap_file)
    taken = vault_snapshots.take(vault)
    where: str
    if to is not None:
        vault_snapshots.save_file(taken, to, config.resolve().parent)
        where = str(to)
    else:
        bucket = _bucket(homelab, vault)
        where = f"{bucket.target.where}: {vault_snapshots.upload(taken, bucket)}"
    console.success(f"raft snapshot (index {taken.info.index}, {len(taken.data)} bytes) -> {where}")
    return ExitCode.OK


def _load(homelab: Homelab, source: Path | None, latest: bool, before: str | None) -> Snapshot:
    from homelabeazy.lifecycle.dr import vault_snapshots

    if (source is None) == (not latest):
        raise UsageError("say where the snapshot comes from: --from FILE or --latest (the newest in S3)")
    moment = before_moment(before, latest)
    if source is not None:
        return vault_snapshots.load_file(source)
    # Vault may be gone: the bucket's keys come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY then.
    return vault_snapshots.load_latest(_bucket(homelab, None), moment)


def restore(  # noqa: PLR0917 - every Typer option is a parameter
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    source: Annotated[
        Path | None, typer.Option("--from", help="A snapshot file (with FILE.sha256 beside it).")
    ] = None,
    latest: Annotated[
        bool, typer.Option("--latest", help="The newest snapshot in the backup bucket.")
    ] = False,
    before: BeforeOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before replacing Vault's data.")] = False,
    vault_addr: VaultAddrOption = None,
    ca_cert: CaCertOption = None,
    bootstrap_file: BootstrapOption = None,
) -> int:
    """Replace every secret in Vault with a verified raft snapshot (snapshot-force: fresh Vaults too).

    A damaged or mismatched snapshot is refused before Vault is touched (exit 2); when the newest
    one in the bucket is damaged, `--latest --before STAMP` takes the newest one older than it."""
    config = pick_config(config, config_file)
    from homelabeazy.lifecycle.dr import vault_snapshots

    _, homelab = load_homelab(config)
    chosen = _load(homelab, source, latest, before)
    console.success(f"{chosen.name}: checksum and snapshot format verified (raft index {chosen.info.index})")
    vault = vault_adapter(homelab, vault_addr, ca_cert, bootstrap_file)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(f"would replace every secret in Vault at {vault.address}: pass --yes")
        if not typer.confirm(f"replace every secret in Vault at {vault.address} with {chosen.name}?"):
            raise UsageError("cancelled; Vault was not touched")
    with console.err.status("snapshot-force, then waiting for Vault to settle (reseal when the keys differ)"):
        result = vault_snapshots.restore(vault, chosen)
    console.success(f"restored {chosen.name} into {vault.address}")
    if result.sealed:
        console.info(
            "Vault sealed itself: the snapshot carries the unseal keys of the Vault it came from. next: "
            "`homelab secrets restore-bootstrap --from FILE.age --identity KEYFILE --force`, then "
            "`homelab secrets unseal`"
        )
    return ExitCode.OK


def backup(
    to: Annotated[Path, typer.Option("--to", help="The encrypted backup to write (FILE.age).")],
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    bootstrap_file: BootstrapOption = None,
) -> int:
    """Encrypt the bootstrap file (unseal keys, root token) to services.vault.age_recipients."""
    config = pick_config(config, config_file)
    from homelabeazy.lifecycle.dr import bootstrap_backup

    _, homelab = load_homelab(config)
    recipients = list(homelab.config.services.vault.age_recipients)
    ciphertext = bootstrap_backup.encrypt(bootstrap_path(homelab, bootstrap_file), recipients)
    bootstrap_backup.write_ciphertext(to, ciphertext)
    console.success(f"bootstrap file encrypted to {len(recipients)} age recipient(s) -> {to}")
    return ExitCode.OK


def restore_bootstrap(  # noqa: PLR0917 - every Typer option is a parameter
    source: Annotated[Path, typer.Option("--from", help="The encrypted backup (FILE.age).")],
    identity: Annotated[Path, typer.Option("--identity", help="age identity file (AGE-SECRET-KEY-1…).")],
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    bootstrap_file: BootstrapOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a different bootstrap file already at its home.")
    ] = False,
) -> int:
    """Decrypt a bootstrap backup into the bootstrap file's 0600 home (nothing else is written)."""
    config = pick_config(config, config_file)
    from homelabeazy.lifecycle.dr import bootstrap_backup

    _, homelab = load_homelab(config)
    home = bootstrap_path(homelab, bootstrap_file)
    done = bootstrap_backup.restore(source, identity, home, config.resolve().parent, force=force)
    if done.written:
        console.success(f"bootstrap file for {done.address} restored to {done.path} (0600)")
    else:
        console.info(f"  unchanged: {done.path} already holds this backup")
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    """Add the disaster-recovery commands to `homelab secrets`."""
    app.command()(snapshot)
    app.command()(restore)
    app.command()(backup)
    app.command("restore-bootstrap")(restore_bootstrap)
