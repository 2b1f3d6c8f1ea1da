"""The secrets stage keeps ArgoCD's repository credentials in a real OpenBao (loopback): stored
once, never replaced silently, never printed."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import hvac
import pytest

from homelabeazy.errors import ExternalSystemError
from homelabeazy.lifecycle import repo_access as ra
from homelabeazy.lifecycle.secrets import KubernetesAuth
from homelabeazy.lifecycle.secrets_runner import VaultSecretsRunner
from homelabeazy.model import Homelab, build, repo_credentials
from tests.secrets.servers import BaoServer, self_signed_cert

pytestmark = pytest.mark.integration


def test_the_deploy_key_is_kept_in_vault_once(
    bao: BaoServer, example_homelab: Homelab, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gitops = example_homelab.config.gitops.model_copy(
        update={"repo_url": "git@github.com:me/lab.git", "private": True}
    )
    homelab = build(example_homelab.config.model_copy(update={"gitops": gitops}))
    state = tmp_path / "state"
    original = ra.ensure_deploy_key(state, ra.comment_for(homelab)).private_text()
    api_ca, _ = self_signed_cert(tmp_path, "kube-api")
    keys_file = tmp_path / "xdg" / "vault-bootstrap.json"
    runner = VaultSecretsRunner(
        homelab,
        tmp_path / "repo",
        bao.address,
        bootstrap_file=keys_file,
        kubernetes=KubernetesAuth("https://127.0.0.1:6443", str(api_ca)),
        repo_credentials=lambda: ra.RepositorySecret(lambda _h: state).vault_data(homelab),
    )
    messages: list[str] = []

    def run() -> None:
        # The example's S3 credentials are external: every run ends asking for them, after the
        # repository credentials were handled.
        with pytest.raises(ExternalSystemError, match="external secret") as info:
            runner.bootstrap(messages.append)
        messages.append(str(info.value))

    run()  # initialises Vault and enables the KV mount
    run()  # now the mount exists: the credentials are stored
    client = hvac.Client(url=bao.address, token=json.loads(keys_file.read_text())["root_token"])
    mount = homelab.vault_kv_mount

    def held() -> tuple[int, dict[str, str]]:
        answer = client.secrets.kv.v2.read_secret_version(repo_credentials.VAULT_PATH, mount_point=mount)[
            "data"
        ]
        return answer["metadata"]["version"], answer["data"]

    assert held() == (
        1,
        {"type": "git", "url": "git@github.com:me/lab.git", "sshPrivateKey": original},
    )
    run()
    assert held()[0] == 1, "a re-run stores nothing again"

    # A different key in the state folder (made on another workstation) does not replace Vault's.
    (state / ra.KEY_FILE).unlink()
    ra.ensure_deploy_key(state, ra.comment_for(homelab))
    run()
    assert held() == (1, held()[1])
    assert held()[1]["sshPrivateKey"] == original
    marker = original.splitlines()[1]
    assert not [m for m in [*messages, caplog.text] if marker in m], "the private key was printed"
