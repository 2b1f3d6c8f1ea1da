"""Options shared by `homelab secrets` and `homelab users`: where Vault is and which token to use.

The token never comes from the command line (it would show in `ps` and shell history): it is
VAULT_TOKEN, or the root token of the bootstrap file `homelab secrets init` wrote.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from homelabeazy.cli.common import DEFAULT_CONFIG, ConfigOption

if TYPE_CHECKING:
    from homelabeazy.lifecycle.secrets import KubernetesAuth
    from homelabeazy.model import Homelab
    from homelabeazy.ops.vault import VaultAdapter

VaultAddrOption = Annotated[
    str | None,
    typer.Option(
        "--vault-addr",
        envvar="VAULT_ADDR",
        help="Vault address; defaults to https://<the vault route> of the config.",
    ),
]
CaCertOption = Annotated[
    Path | None,
    typer.Option("--ca-cert", envvar="VAULT_CACERT", help="CA bundle to verify Vault's TLS certificate."),
]
BootstrapOption = Annotated[
    Path | None,
    typer.Option(
        "--bootstrap-file",
        envvar="HOMELAB_VAULT_BOOTSTRAP",
        help="Unseal keys and root token file (default ~/.config/homelabeazy/<name>/vault-bootstrap.json).",
    ),
]

KubeHostOption = Annotated[
    str | None,
    typer.Option(
        "--kubernetes-host",
        envvar="HOMELAB_KUBERNETES_HOST",
        help="Kubernetes API URL for Vault's kubernetes auth (configured only when given).",
    ),
]
KubeCaOption = Annotated[
    Path | None,
    typer.Option(
        "--kubernetes-ca-cert",
        help="PEM CA of the Kubernetes API, needed when Vault runs outside the cluster.",
    ),
]


def kubernetes_auth(host: str | None, ca_cert: Path | None) -> KubernetesAuth | None:
    """Vault's Kubernetes auth target from --kubernetes-host / --kubernetes-ca-cert (None without a host)."""
    from homelabeazy.errors import UsageError
    from homelabeazy.lifecycle.secrets import KubernetesAuth

    if host is None:
        if ca_cert is not None:
            raise UsageError("--kubernetes-ca-cert needs --kubernetes-host")
        return None
    pem = None
    if ca_cert is not None:
        try:
            pem = ca_cert.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise UsageError(f"{ca_cert}: cannot read the Kubernetes CA certificate") from None
    return KubernetesAuth(host, pem)


__all__ = [
    "DEFAULT_CONFIG",
    "BootstrapOption",
    "CaCertOption",
    "ConfigOption",
    "KubeCaOption",
    "KubeHostOption",
    "VaultAddrOption",
    "bootstrap_path",
    "kubernetes_auth",
    "vault_adapter",
]


def bootstrap_path(homelab: Homelab, given: Path | None) -> Path:
    """The given bootstrap file or the default one for this homelab."""
    from homelabeazy.ops.vault_bootstrap import default_bootstrap_path

    return given.expanduser() if given else default_bootstrap_path(homelab.name)


def vault_adapter(
    homelab: Homelab,
    addr: str | None,
    ca_cert: Path | None,
    bootstrap: Path | None,
    need_token: bool = True,
    *,
    timeout: float = 30.0,
) -> VaultAdapter:
    """An adapter with VAULT_TOKEN, else the bootstrap file's root token (when one is needed)."""
    from homelabeazy.cli import console
    from homelabeazy.lifecycle.secrets import cleartext_warning, vault_address
    from homelabeazy.ops import vault_bootstrap
    from homelabeazy.ops.vault import VaultAdapter

    address = vault_address(homelab, addr)
    warning = cleartext_warning(address)
    if warning:
        console.err.print(f"[bold yellow]warning[/]: {console.escape(warning)}")
    vault = VaultAdapter(address, ca_cert=str(ca_cert) if ca_cert else None, timeout=timeout)
    token = os.environ.get("VAULT_TOKEN")
    if not token:
        path = bootstrap_path(homelab, bootstrap)
        if need_token or path.exists():
            token = vault_bootstrap.load(path).root_token
    if token:
        vault.set_token(token)
    return vault


def has_token(homelab: Homelab, bootstrap: Path | None) -> bool:
    """Whether a token is available without asking for one."""
    return bool(os.environ.get("VAULT_TOKEN")) or bootstrap_path(homelab, bootstrap).exists()
