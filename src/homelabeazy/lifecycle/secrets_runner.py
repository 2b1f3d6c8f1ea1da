"""The secrets stage's Vault bootstrap: lifecycle/secrets.py behind `SecretsRunner`.

Once the Vault pod answers, the stage does what `homelab secrets init` then `seed` do: initialise
once (unseal keys and root token only into the 0600 bootstrap file outside the repo), unseal,
configure policies and auth roles, and generate every missing secret. Every step is a no-op when
already done, so a re-run changes nothing. External secrets (cloud credentials) cannot be
generated: while any is missing the stage fails and says exactly what to write, because the
services reading them would otherwise never become healthy and `sync` would time out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from homelabeazy.errors import ExternalSystemError
from homelabeazy.lifecycle import secrets
from homelabeazy.lifecycle.runners import Progress, quiet
from homelabeazy.model import Homelab, repo_credentials
from homelabeazy.ops.vault import VaultAdapter
from homelabeazy.render.ansible import k3s_token_secret
from homelabeazy.render.k8s.application import IN_CLUSTER

IN_CLUSTER_KUBERNETES = secrets.KubernetesAuth(IN_CLUSTER)
"""Vault runs in the cluster, so it reviews service-account tokens at the in-cluster API with the
CA of its own pod: nothing to pass from outside."""


def stage_summary(init: secrets.Report, seed: secrets.Report) -> str:
    """One line from the two reports: what happened to Vault, the secrets and its configuration."""
    done = [*init.done, *seed.done]
    initialised = next((line for line in done if line.startswith("initialised Vault")), None)
    generated = [line for line in done if line.startswith("generated ")]
    present = [line for line in seed.unchanged if line.startswith("secret ")]
    changes = [
        line
        for line in done
        if line is not initialised and line not in generated and line != "unsealed Vault"
    ]
    if initialised is not None:
        state = initialised
    elif "unsealed Vault" in done:
        state = "Vault unsealed"
    else:
        state = "Vault already initialised and unsealed"
    return (
        f"{state}; {len(generated)} secret(s) generated, {len(present)} already present; "
        f"{len(changes)} configuration change(s)"
    )


@dataclass
class VaultSecretsRunner:
    """`SecretsRunner` for the Vault at `address` (the model's route, or --vault-addr / VAULT_ADDR)."""

    homelab: Homelab
    repo: Path
    address: str
    bootstrap_file: Path
    ca_cert: str | None = None
    token: str | None = None
    kubernetes: secrets.KubernetesAuth | None = IN_CLUSTER_KUBERNETES
    k3s_token_file: Path | None = None
    """The join token `configure` generated (when no $HOMELAB_K3S_TOKEN was given): Vault must hold
    that value, not a new random one, or nodes added later could not join."""
    repo_credentials: Callable[[], dict[str, str] | None] | None = None
    """ArgoCD's repository credentials (lifecycle/repo_access): Vault keeps a copy, so the deploy
    key outlives the workstation it was made on."""
    wait_timeout: float = 600.0
    interval: float = 5.0
    sleep: Callable[[float], None] = field(default=time.sleep)
    clock: Callable[[], float] = field(default=time.monotonic)

    def bootstrap(self, progress: Progress = quiet) -> str:
        """Wait for Vault, init/unseal it, configure it, seed it; fail naming missing external secrets."""
        vault = VaultAdapter(self.address, token=self.token, ca_cert=self.ca_cert)
        self._wait(vault, progress)
        progress("initialising / unsealing Vault")
        init = secrets.initialize(vault, self.homelab, self.bootstrap_file, self.repo, self.kubernetes)
        if vault.seal_status().sealed:
            raise ExternalSystemError(
                "Vault",
                f"unsealing {vault.address}",
                "Vault was initialised elsewhere and is sealed; "
                f"there is no bootstrap file at {self.bootstrap_file}",
                "unseal it with the keys you hold (`homelab secrets unseal --bootstrap-file FILE`), "
                "then run `homelab up` again",
            )
        progress("seeding the secrets")
        adopted = self._adopt_k3s_token(vault) + self._adopt_repo_credentials(vault)
        seeded = secrets.seed(vault, self.homelab, self.kubernetes)
        seeded.done[:0] = adopted
        if seeded.missing:
            raise ExternalSystemError(
                "Vault",
                "seeding the homelab's secrets",
                f"{len(seeded.missing)} external secret(s) missing: " + "; ".join(seeded.missing),
                "write them, then run `homelab up` again (everything else is already in place)",
            )
        return stage_summary(init, seeded)

    def _adopt_k3s_token(self, vault: VaultAdapter) -> list[str]:
        """Store the cluster's existing join token in Vault unless Vault already holds one."""
        if self.k3s_token_file is None or not self.k3s_token_file.exists():
            return []
        spec = k3s_token_secret(self.homelab)
        mount = self.homelab.vault_kv_mount
        secrets.require_unsealed(vault)
        if mount not in vault.secret_mounts():
            return []  # seed enables the mount; the next run adopts the token
        stored = vault.read_secret(mount, spec.path)
        if stored is not None and stored.data.get(spec.keys[0]):
            return []
        data = {**(stored.data if stored else {}), spec.keys[0]: self.k3s_token_file.read_text().strip()}
        vault.write_secret(mount, spec.path, data, cas=stored.version if stored else 0)
        return [f"stored the cluster's K3s join token at {mount}/{spec.path}"]

    def _adopt_repo_credentials(self, vault: VaultAdapter) -> list[str]:
        """Keep ArgoCD's repository credentials at argocd/repository unless Vault holds some.

        Never replaced silently: different credentials already in Vault are left as they are and
        reported, since one of the two keys may be the one registered at the forge.
        """
        data = self.repo_credentials() if self.repo_credentials is not None else None
        if not data:
            return []
        mount = self.homelab.vault_kv_mount
        secrets.require_unsealed(vault)
        if mount not in vault.secret_mounts():
            return []  # seed enables the mount; the next run keeps the credentials
        stored = vault.read_secret(mount, repo_credentials.VAULT_PATH)
        if stored is not None and stored.data:
            if stored.data == data:
                return []
            return [
                f"left {mount}/{repo_credentials.VAULT_PATH} as it is: Vault holds other repository "
                "credentials than the state folder (not replaced)"
            ]
        vault.write_secret(mount, repo_credentials.VAULT_PATH, data, cas=stored.version if stored else 0)
        return [f"stored ArgoCD's repository credentials at {mount}/{repo_credentials.VAULT_PATH}"]

    def _wait(self, vault: VaultAdapter, progress: Progress) -> None:
        """Poll the seal status (no token needed) until Vault answers or the deadline passes."""
        deadline = self.clock() + self.wait_timeout
        while True:
            progress(f"waiting for Vault at {vault.address}")
            try:
                vault.seal_status()
                return
            except ExternalSystemError:
                if self.clock() >= deadline:
                    raise
            self.sleep(self.interval)
