"""`homelab secrets init|unseal|status|seed|rotate` (and the disaster-recovery commands of secrets_dr):
Vault for the homelab, every command idempotent.

Output names paths, policies and roles — never a secret value, key or token.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from homelabeazy.cli import console
from homelabeazy.cli.common import ConfigArg, ConfigFileOption, load_homelab, pick_config
from homelabeazy.cli.vault_options import (
    DEFAULT_CONFIG,
    BootstrapOption,
    CaCertOption,
    ConfigOption,
    KubeCaOption,
    KubeHostOption,
    VaultAddrOption,
    bootstrap_path,
    has_token,
    kubernetes_auth,
    vault_adapter,
)
from homelabeazy.errors import ExitCode

if TYPE_CHECKING:
    from homelabeazy.lifecycle.secrets import Report, VaultStatus

app = typer.Typer(
    name="secrets",
    help="Initialise, unseal and fill Vault with every secret the homelab needs.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help, as the root app (fast start)
)


def _print(report: Report) -> None:
    for line in report.done:
        console.success(line)
    for line in report.unchanged:
        console.info(f"  unchanged: {line}")
    for line in report.notes:
        console.info(f"note: {line}")
    for line in report.missing:
        console.err.print(f"[yellow]missing[/]: {console.escape(line)}")


@app.command()
def init(  # noqa: PLR0917 - every Typer option is a parameter
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    vault_addr: VaultAddrOption = None,
    ca_cert: CaCertOption = None,
    bootstrap_file: BootstrapOption = None,
    kubernetes_host: KubeHostOption = None,
    kubernetes_ca_cert: KubeCaOption = None,
) -> int:
    """Initialise Vault once, keep its keys in a 0600 file outside the repo, unseal, configure."""
    config = pick_config(config, config_file)
    from homelabeazy.lifecycle import secrets

    _, homelab = load_homelab(config)
    vault = vault_adapter(homelab, vault_addr, ca_cert, None, need_token=False)
    path = bootstrap_path(homelab, bootstrap_file)
    report = secrets.initialize(
        vault, homelab, path, config.resolve().parent, kubernetes_auth(kubernetes_host, kubernetes_ca_cert)
    )
    _print(report)
    console.info("next: `homelab secrets seed`")
    return ExitCode.OK


@app.command()
def unseal(
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    vault_addr: VaultAddrOption = None,
    ca_cert: CaCertOption = None,
    bootstrap_file: BootstrapOption = None,
) -> int:
    """Unseal Vault with the keys of the bootstrap file (after every Vault restart)."""
    config = pick_config(config, config_file)
    from homelabeazy.lifecycle import secrets

    _, homelab = load_homelab(config)
    vault = vault_adapter(homelab, vault_addr, ca_cert, None, need_token=False)
    _print(secrets.unseal(vault, bootstrap_path(homelab, bootstrap_file)))
    return ExitCode.OK


@app.command()
def seed(  # noqa: PLR0917 - every Typer option is a parameter
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    vault_addr: VaultAddrOption = None,
    ca_cert: CaCertOption = None,
    bootstrap_file: BootstrapOption = None,
    kubernetes_host: KubeHostOption = None,
    kubernetes_ca_cert: KubeCaOption = None,
) -> int:
    """Generate every missing secret, write policies and auth roles; never overwrite a secret."""
    config = pick_config(config, config_file)
    from homelabeazy.lifecycle import secrets

    _, homelab = load_homelab(config)
    vault = vault_adapter(homelab, vault_addr, ca_cert, bootstrap_file)
    report = secrets.seed(vault, homelab, kubernetes_auth(kubernetes_host, kubernetes_ca_cert))
    _print(report)
    if report.missing:
        console.failure(f"{len(report.missing)} external secret(s) still missing")
        return ExitCode.FAILED
    return ExitCode.OK


@app.command()
def rotate(
    path: Annotated[str, typer.Argument(help="Secret path under the KV mount, e.g. authelia/keys.")],
    config: ConfigOption = DEFAULT_CONFIG,
    vault_addr: VaultAddrOption = None,
    ca_cert: CaCertOption = None,
    bootstrap_file: BootstrapOption = None,
) -> int:
    """Replace the generated secret at PATH with fresh values (the only command that overwrites)."""
    from homelabeazy.lifecycle import secrets

    _, homelab = load_homelab(config)
    vault = vault_adapter(homelab, vault_addr, ca_cert, bootstrap_file)
    _print(secrets.rotate(vault, homelab, path))
    return ExitCode.OK


@app.command()
def status(  # noqa: PLR0917 - every Typer option is a parameter
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    vault_addr: VaultAddrOption = None,
    ca_cert: CaCertOption = None,
    bootstrap_file: BootstrapOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON on stdout.")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for each Vault answer.", min=0.1)
    ] = 5.0,
) -> int:
    """Show whether Vault is initialised and unsealed, and which secrets and policies exist."""
    config = pick_config(config, config_file)
    from homelabeazy.lifecycle import secrets

    _, homelab = load_homelab(config)
    with_token = has_token(homelab, bootstrap_file)
    vault = vault_adapter(homelab, vault_addr, ca_cert, bootstrap_file, need_token=False, timeout=timeout)
    state = secrets.status(vault, homelab, with_token)
    if as_json:
        console.out.out(
            json.dumps(
                {
                    "address": state.address,
                    "initialized": state.initialized,
                    "sealed": state.sealed,
                    "version": state.version,
                    "mount_ready": state.mount_ready,
                    "secrets": dict(state.secrets),
                    "policies_missing": list(state.policies_missing),
                    "healthy": state.healthy,
                },
                indent=2,
                sort_keys=True,
            )
        )
    else:
        _show(state, with_token, homelab.vault_kv_mount)
    return ExitCode.OK if state.healthy else ExitCode.FAILED


def _show(state: VaultStatus, with_token: bool, mount: str) -> None:
    seal = "sealed" if state.sealed else "unsealed"
    init = "initialised" if state.initialized else "not initialised"
    console.info(f"Vault {state.address} ({state.version}): {init}, {seal}")
    if not state.initialized:
        console.info("next: `homelab secrets init`")
        return
    if state.sealed:
        console.info("next: `homelab secrets unseal`")
        return
    if not with_token:
        console.info("no token (VAULT_TOKEN or bootstrap file): secrets not checked")
        return
    console.info(f"KV v2 mount {mount}/: {'present' if state.mount_ready else 'missing'}")
    for path, where in state.secrets:
        console.info(f"  {mount}/{path}: {where}")
    for name in state.policies_missing:
        console.info(f"  policy {name}: missing")
    states = {where for _, where in state.secrets}
    if "missing" in states or state.policies_missing or not state.mount_ready:
        console.info("next: `homelab secrets seed`")
    if "missing-external" in states:
        console.info(
            f"next: write the external secrets yourself (`vault kv put -mount={mount} <path> key=...`)"
        )


def _register_disaster_recovery() -> None:
    from homelabeazy.cli import secrets_dr

    secrets_dr.register(app)


_register_disaster_recovery()
