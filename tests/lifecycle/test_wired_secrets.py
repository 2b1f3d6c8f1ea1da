"""`homelab up --only secrets` against a real OpenBao (raft storage, uninitialised) on loopback:
the secrets stage initialises, unseals and seeds Vault through lifecycle/secrets.py, keeps the keys
in the bootstrap file outside the repo, is a no-op when run again, and never prints a secret."""

from __future__ import annotations

import json
import logging
import stat
from dataclasses import replace
from pathlib import Path

import hvac
import pytest

from homelabeazy.config.starter import example_text
from homelabeazy.lifecycle.journal import load_journal
from homelabeazy.model import Homelab
from homelabeazy.render.ansible import k3s_token_secret
from tests.secrets.servers import BaoServer, self_signed_cert
from tests.secrets.test_vault_integration import all_values, versions

pytestmark = pytest.mark.integration


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("VAULT_ADDR", "VAULT_TOKEN", "VAULT_CACERT", "HOMELAB_VAULT_BOOTSTRAP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOMELAB_STATE_HOME", str(tmp_path / "state"))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "homelab.yaml").write_text(example_text())
    return repo / "homelab.yaml"


def bootstrap(tmp_path: Path) -> Path:
    return tmp_path / "xdg" / "homelabeazy" / "homelab" / "vault-bootstrap.json"


def values(client: hvac.Client, homelab: Homelab) -> dict[str, tuple[int, dict[str, str]]]:
    """Every secret of the model Vault holds, with its current version."""
    data = all_values(client, homelab)
    held = replace(homelab, secrets=tuple(s for s in homelab.secrets if s.path in data))
    return {path: (version, data[path]) for path, version in versions(client, held).items()}


def test_up_only_secrets_initialises_unseals_seeds_and_then_changes_nothing(
    cli, bao: BaoServer, config: Path, tmp_path: Path, example_homelab, caplog, monkeypatch
) -> None:
    caplog.set_level(logging.DEBUG)
    outputs: list[str] = []
    # Vault runs outside a cluster here, so it needs the API's address and CA given (in a real
    # homelab it runs in the cluster and reviews tokens at the in-cluster API by default).
    api_ca, _ = self_signed_cert(tmp_path, "kube-api")
    kubernetes = ("--kubernetes-host", "https://127.0.0.1:6443", "--kubernetes-ca-cert", str(api_ca))

    def up(*extra: str) -> tuple[int, str]:
        result = cli("up", "--only", "secrets", "--yes", str(config), *kubernetes, *extra)
        outputs.extend((result.out, result.err))
        return result.code, result.err

    # `configure` made the cluster's join token before Vault existed: Vault must adopt that value.
    join = tmp_path / "state" / "homelab" / "k3s-token"
    join.parent.mkdir(parents=True)
    join.write_text("a1" * 32 + "\n")

    # 1. Vault is initialised, unsealed and seeded; the example's S3 credentials cannot be generated.
    code, err = up("--vault-addr", bao.address)
    assert code == 1
    assert "stage secrets failed" in err
    assert "1 external secret(s) missing" in err
    assert "velero/s3" in err
    keys = json.loads(bootstrap(tmp_path).read_text())
    assert stat.S_IMODE(bootstrap(tmp_path).stat().st_mode) == 0o600
    assert not list(config.parent.rglob("*bootstrap*")), "nothing of the bootstrap may land in the repo"
    client = hvac.Client(url=bao.address, token=keys["root_token"])
    assert not client.sys.read_seal_status()["sealed"]
    generated = values(client, example_homelab)
    k3s = k3s_token_secret(example_homelab)
    assert generated[k3s.path][1] == {k3s.keys[0]: "a1" * 32}
    assert sorted(generated) == sorted(s.path for s in example_homelab.secrets if s.generate == "random")
    role = client.read("auth/kubernetes/role/external-secrets")["data"]
    assert role["bound_service_account_names"] == ["external-secrets"]
    assert role["bound_service_account_namespaces"] == ["external-secrets"]
    assert client.read("auth/kubernetes/config")["data"]["kubernetes_host"] == "https://127.0.0.1:6443"

    # 2. The user writes the external secret; the stage completes (VAULT_ADDR instead of the option).
    for spec in example_homelab.secrets:
        if spec.generate == "external":
            client.secrets.kv.v2.create_or_update_secret(
                spec.path,
                {k: f"user-{k}-value" for k in spec.keys},
                mount_point=example_homelab.vault_kv_mount,
            )
    monkeypatch.setenv("VAULT_ADDR", bao.address)
    code, err = up()
    assert code == 0, err
    present = len(example_homelab.secrets)
    assert f"Vault already initialised and unsealed; 0 secret(s) generated, {present} already present" in err
    assert "0 configuration change(s)" in err
    before = values(client, example_homelab)
    assert {p: v for p, v in before.items() if p in generated} == generated

    # 3. Again: a no-op, nothing rewritten, the bootstrap file untouched.
    boot_text = bootstrap(tmp_path).read_text()
    code, err = up()
    assert code == 0, err
    assert values(client, example_homelab) == before
    assert bootstrap(tmp_path).read_text() == boot_text
    record = load_journal(config.parent).get("secrets")
    assert record is not None
    assert record.result == "ok"

    # 4. After a restart Vault is sealed: the stage unseals it from the bootstrap file.
    bao.restart()
    code, err = up()
    assert code == 0, err
    assert "Vault unsealed; 0 secret(s) generated" in err
    assert values(client, example_homelab) == before

    secrets = {keys["root_token"], *keys["unseal_keys"], "a1" * 32}
    secrets |= {v for _, data in before.values() for v in data.values()}
    everything = "\n".join([*outputs, caplog.text])
    assert not [s for s in secrets if s in everything], "a secret value appeared in the output or logs"


def test_the_stage_waits_for_vault_then_fails_naming_it(
    example_homelab, config: Path, tmp_path: Path
) -> None:
    from homelabeazy.errors import ExternalSystemError
    from homelabeazy.lifecycle.secrets_runner import VaultSecretsRunner
    from tests.secrets.servers import free_port

    now = [0.0]
    progress: list[str] = []
    runner = VaultSecretsRunner(
        example_homelab,
        config.parent,
        f"http://127.0.0.1:{free_port()}",
        bootstrap_file=bootstrap(tmp_path),
        wait_timeout=30,
        interval=10,
        sleep=lambda seconds: now.__setitem__(0, now[0] + seconds),
        clock=lambda: now[0],
    )
    with pytest.raises(ExternalSystemError, match=r"unreachable \(connection refused\)"):
        runner.bootstrap(progress.append)
    assert now[0] == 30
    assert len(progress) == 4
    assert progress[0].startswith("waiting for Vault at http://127.0.0.1:")
    assert not bootstrap(tmp_path).exists()
