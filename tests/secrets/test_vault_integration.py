"""`homelab secrets` against a real OpenBao server on loopback (started and killed per test)."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Callable
from pathlib import Path

import hvac
import hvac.exceptions
import pytest

from homelabeazy.checks import load_config
from homelabeazy.model import Homelab, build
from tests.conftest import CliResult
from tests.secrets.conftest import Transcript
from tests.secrets.servers import BaoServer, free_port, self_signed_cert

pytestmark = pytest.mark.integration

Cli = Callable[..., CliResult]


def model(repo: Path) -> Homelab:
    return build(load_config((repo / "homelab.yaml").read_text()).config)


def bootstrap_file(xdg: Path) -> Path:
    return xdg / "homelabeazy" / "homelab" / "vault-bootstrap.json"


def root_client(bao: BaoServer, xdg: Path) -> hvac.Client:
    token = json.loads(bootstrap_file(xdg).read_text())["root_token"]
    return hvac.Client(url=bao.address, token=token)


def all_values(client: hvac.Client, homelab: Homelab) -> dict[str, dict[str, str]]:
    values = {}
    for spec in homelab.secrets:
        try:
            raw = client.secrets.kv.v2.read_secret_version(
                spec.path, mount_point=homelab.vault_kv_mount, raise_on_deleted_version=True
            )
        except hvac.exceptions.InvalidPath:
            continue
        values[spec.path] = dict(raw["data"]["data"])
    return values


def versions(client: hvac.Client, homelab: Homelab) -> dict[str, int]:
    out = {}
    for spec in homelab.secrets:
        meta = client.secrets.kv.v2.read_secret_metadata(spec.path, mount_point=homelab.vault_kv_mount)
        out[spec.path] = int(meta["data"]["current_version"])
    return out


def known_secrets(bao: BaoServer, xdg: Path, homelab: Homelab) -> set[str]:
    """Every value that must never be printed: stored secrets, unseal keys, the root token."""
    boot = json.loads(bootstrap_file(xdg).read_text())
    found = {boot["root_token"], *boot["unseal_keys"]}
    for data in all_values(root_client(bao, xdg), homelab).values():
        found.update(data.values())
    return found


def put_external(client: hvac.Client, homelab: Homelab) -> None:
    for spec in homelab.secrets:
        if spec.generate == "external":
            client.secrets.kv.v2.create_or_update_secret(
                spec.path, {k: f"user-provided-{k}" for k in spec.keys}, mount_point=homelab.vault_kv_mount
            )


def test_init_unseal_seed_status_flow(
    bao: BaoServer, repo: Path, isolated: Path, homelab_cli: Cli, transcript: Transcript
) -> None:
    config = str(repo / "homelab.yaml")
    homelab = model(repo)
    addr = ("--vault-addr", bao.address)

    before = homelab_cli("secrets", "status", "-c", config, *addr)
    assert before.code == 1
    assert "not initialised" in before.err

    init = homelab_cli("secrets", "init", "-c", config, *addr)
    assert init.code == 0, init.err
    path = bootstrap_file(isolated)
    assert str(path) in init.err.replace("\n", "")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    boot = json.loads(path.read_text())
    assert len(boot["unseal_keys"]) == 5
    assert boot["threshold"] == 3
    assert not list(repo.rglob("*bootstrap*")), "nothing of the bootstrap may land in the repo"

    seeded = homelab_cli("secrets", "seed", "-c", config, *addr)
    # The example backs up to S3: its bucket credentials are external and reported as missing.
    assert seeded.code == 1
    assert "velero/s3" in seeded.err
    assert "external" in seeded.err
    client = root_client(bao, isolated)
    values = all_values(client, homelab)
    generated = [s for s in homelab.secrets if s.generate == "random"]
    assert sorted(values) == sorted(s.path for s in generated)
    for spec in generated:
        assert sorted(values[spec.path]) == sorted(spec.keys)
    gossip = base64.b64decode(values["consul/gossip"]["key"], validate=True)
    assert len(gossip) == 32
    assert len(values["authelia/keys"]["storage_encryption_key"]) >= 20
    flat = [v for data in values.values() for v in data.values()]
    assert len(set(flat)) == len(flat), "every generated value is distinct"

    unhealthy = homelab_cli("secrets", "status", "-c", config, *addr, "--json")
    assert unhealthy.code == 1
    state = json.loads(unhealthy.out)
    assert state["secrets"]["velero/s3"] == "missing-external"
    assert state["secrets"]["authelia/keys"] == "present"

    put_external(client, homelab)
    healthy = homelab_cli("secrets", "status", "-c", config, *addr, "--json")
    assert healthy.code == 0, healthy.err
    assert json.loads(healthy.out)["healthy"] is True
    transcript.assert_clean(known_secrets(bao, isolated, homelab))


def test_restart_then_unseal_keeps_every_secret(
    bao: BaoServer, repo: Path, isolated: Path, homelab_cli: Cli, transcript: Transcript
) -> None:
    config = str(repo / "homelab.yaml")
    homelab = model(repo)
    addr = ("--vault-addr", bao.address)
    assert homelab_cli("secrets", "init", "-c", config, *addr).code == 0
    homelab_cli("secrets", "seed", "-c", config, *addr)
    before = all_values(root_client(bao, isolated), homelab)

    bao.restart()
    sealed = homelab_cli("secrets", "status", "-c", config, *addr)
    assert sealed.code == 1
    assert "sealed" in sealed.err
    assert "homelab secrets unseal" in sealed.err
    unsealed = homelab_cli("secrets", "unseal", "-c", config, *addr)
    assert unsealed.code == 0, unsealed.err
    assert "unsealed Vault" in unsealed.err
    again = homelab_cli("secrets", "unseal", "-c", config, *addr)
    assert again.code == 0
    assert "unchanged: Vault is unsealed" in again.err
    assert all_values(root_client(bao, isolated), homelab) == before
    transcript.assert_clean(known_secrets(bao, isolated, homelab))


def test_every_command_is_idempotent(
    bao: BaoServer, repo: Path, isolated: Path, homelab_cli: Cli, transcript: Transcript
) -> None:
    config = str(repo / "homelab.yaml")
    homelab = model(repo)
    addr = ("--vault-addr", bao.address)
    assert homelab_cli("secrets", "init", "-c", config, *addr).code == 0
    boot_text = bootstrap_file(isolated).read_text()
    homelab_cli("secrets", "seed", "-c", config, *addr)
    client = root_client(bao, isolated)
    first, first_versions = all_values(client, homelab), versions(client, homelab_without_external(homelab))

    again = homelab_cli("secrets", "init", "-c", config, *addr)
    assert again.code == 0
    assert "already initialised (not re-initialised)" in again.err
    assert bootstrap_file(isolated).read_text() == boot_text
    second = homelab_cli("secrets", "seed", "-c", config, *addr)
    assert "generated" not in second.err
    assert "wrote policy" not in second.err
    assert "unchanged: secret authelia/keys" in second.err
    assert all_values(client, homelab) == first
    assert versions(client, homelab_without_external(homelab)) == first_versions
    transcript.assert_clean(known_secrets(bao, isolated, homelab))


def homelab_without_external(homelab: Homelab) -> Homelab:
    from dataclasses import replace

    return replace(homelab, secrets=tuple(s for s in homelab.secrets if s.generate == "random"))


def test_seed_fills_only_missing_keys_of_a_partial_secret(
    bao: BaoServer, repo: Path, isolated: Path, homelab_cli: Cli, transcript: Transcript
) -> None:
    config = str(repo / "homelab.yaml")
    homelab = model(repo)
    addr = ("--vault-addr", bao.address)
    assert homelab_cli("secrets", "init", "-c", config, *addr).code == 0
    client = root_client(bao, isolated)
    client.secrets.kv.v2.create_or_update_secret(
        "authelia/keys", {"jwt_secret": "chosen-by-the-user-123"}, mount_point="homelab"
    )
    homelab_cli("secrets", "seed", "-c", config, *addr)
    keys = all_values(client, homelab)["authelia/keys"]
    assert keys["jwt_secret"] == "chosen-by-the-user-123"
    assert sorted(keys) == ["jwt_secret", "session_secret", "storage_encryption_key"]
    transcript.assert_clean(known_secrets(bao, isolated, homelab) - {"chosen-by-the-user-123"})


def test_rotate_changes_exactly_one_path(
    bao: BaoServer, repo: Path, isolated: Path, homelab_cli: Cli, transcript: Transcript
) -> None:
    config = str(repo / "homelab.yaml")
    homelab = model(repo)
    addr = ("--vault-addr", bao.address)
    assert homelab_cli("secrets", "init", "-c", config, *addr).code == 0
    homelab_cli("secrets", "seed", "-c", config, *addr)
    client = root_client(bao, isolated)
    before = all_values(client, homelab)
    old_secrets = known_secrets(bao, isolated, homelab)

    rotated = homelab_cli("secrets", "rotate", "authelia/keys", "-c", config, *addr)
    assert rotated.code == 0, rotated.err
    after = all_values(client, homelab)
    changed = {p for p in before if before[p] != after[p]}
    assert changed == {"authelia/keys"}
    assert all(before["authelia/keys"][k] != after["authelia/keys"][k] for k in after["authelia/keys"])

    unknown = homelab_cli("secrets", "rotate", "nope/missing", "-c", config, *addr)
    assert unknown.code == 2
    assert "known paths" in unknown.err
    external = homelab_cli("secrets", "rotate", "velero/s3", "-c", config, *addr)
    assert external.code == 2
    assert "external" in external.err
    assert all_values(client, homelab) == after
    transcript.assert_clean(old_secrets | known_secrets(bao, isolated, homelab))


def test_policies_let_a_consumer_read_only_its_own_paths(
    bao: BaoServer, repo: Path, isolated: Path, homelab_cli: Cli, transcript: Transcript
) -> None:
    config = str(repo / "homelab.yaml")
    homelab = model(repo)
    addr = ("--vault-addr", bao.address)
    assert homelab_cli("secrets", "init", "-c", config, *addr).code == 0
    seeded = homelab_cli("secrets", "seed", "-c", config, *addr)
    assert "kubernetes auth is enabled but not configured" in seeded.err
    root = root_client(bao, isolated)

    token = root.auth.token.create(policies=["homelab-authelia"], no_default_policy=True)["auth"]
    authelia = hvac.Client(url=bao.address, token=token["client_token"])
    readable = authelia.secrets.kv.v2.read_secret_version(
        "authelia/keys", mount_point="homelab", raise_on_deleted_version=True
    )
    assert sorted(readable["data"]["data"]) == ["jwt_secret", "session_secret", "storage_encryption_key"]
    for other in ("consul/gossip", "openldap/admin", "cluster/k3s", "users/alice"):
        with pytest.raises(hvac.exceptions.Forbidden):
            authelia.secrets.kv.v2.read_secret_version(
                other, mount_point="homelab", raise_on_deleted_version=True
            )
    with pytest.raises(hvac.exceptions.Forbidden):
        authelia.secrets.kv.v2.create_or_update_secret("authelia/keys", {"x": "y"}, mount_point="homelab")

    role = root.read("auth/kubernetes/role/external-secrets")["data"]
    assert role["bound_service_account_namespaces"] == ["external-secrets"]
    assert "homelab-authelia" in role["token_policies"]
    assert "homelab-k3s" not in role["token_policies"]
    approle = root.read("auth/approle/role/automation")["data"]
    assert approle["token_policies"] == ["homelab-k3s"]

    # The AppRole logs in for real and reads the K3s token, and nothing else.
    role_id = root.auth.approle.read_role_id("automation")["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id("automation")["data"]["secret_id"]
    automation = hvac.Client(url=bao.address)
    automation.auth.approle.login(role_id=role_id, secret_id=secret_id)
    automation.secrets.kv.v2.read_secret_version(
        "cluster/k3s", mount_point="homelab", raise_on_deleted_version=True
    )
    with pytest.raises(hvac.exceptions.Forbidden):
        automation.secrets.kv.v2.read_secret_version(
            "authelia/keys", mount_point="homelab", raise_on_deleted_version=True
        )

    ca, _ = self_signed_cert(repo.parent, "k3s-ca")
    kube = ("--kubernetes-host", "https://10.10.10.10:6443", "--kubernetes-ca-cert", str(ca))
    configured = homelab_cli("secrets", "seed", "-c", config, *addr, *kube)
    assert "configured kubernetes auth for https://10.10.10.10:6443" in configured.err
    assert root.read("auth/kubernetes/config")["data"]["kubernetes_host"] == "https://10.10.10.10:6443"
    assert (
        "unchanged: kubernetes auth config" in homelab_cli("secrets", "seed", "-c", config, *addr, *kube).err
    )
    transcript.assert_clean(known_secrets(bao, isolated, homelab) | {token["client_token"], secret_id})


# ----------------------------------------------------------------------------- failures


def test_unreachable_vault_fails_clearly(repo: Path, homelab_cli: Cli) -> None:
    config = str(repo / "homelab.yaml")
    addr = ("--vault-addr", f"http://127.0.0.1:{free_port()}")
    for command in ("init", "unseal", "status"):
        result = homelab_cli("secrets", command, "-c", config, *addr)
        if command == "unseal":
            assert result.code == 2
            assert "no Vault bootstrap file" in result.err
            continue
        assert result.code == 1, command
        assert "Vault:" in result.err
        assert "unreachable" in result.err
        assert "VAULT_ADDR" in result.err
        assert "Traceback" not in result.err
    assert not list((repo.parent / "xdg").rglob("*.json")), "a failed init leaves no bootstrap file"


def test_sealed_vault_refuses_seed_and_writes_nothing(
    bao: BaoServer, repo: Path, isolated: Path, homelab_cli: Cli, transcript: Transcript
) -> None:
    config = str(repo / "homelab.yaml")
    homelab = model(repo)
    addr = ("--vault-addr", bao.address)
    assert homelab_cli("secrets", "init", "-c", config, *addr).code == 0
    bao.restart()
    for command in (("seed",), ("rotate", "authelia/keys")):
        result = homelab_cli("secrets", *command, "-c", config, *addr)
        assert result.code == 1
        assert "Vault:" in result.err
        assert "sealed" in result.err
        assert "homelab secrets unseal" in result.err
    assert homelab_cli("secrets", "unseal", "-c", config, *addr).code == 0
    assert all_values(root_client(bao, isolated), homelab) == {}
    transcript.assert_clean(known_secrets(bao, isolated, homelab))


def test_wrong_token_is_refused_and_nothing_is_written(
    bao: BaoServer,
    repo: Path,
    isolated: Path,
    homelab_cli: Cli,
    transcript: Transcript,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = str(repo / "homelab.yaml")
    homelab = model(repo)
    addr = ("--vault-addr", bao.address)
    assert homelab_cli("secrets", "init", "-c", config, *addr).code == 0
    monkeypatch.setenv("VAULT_TOKEN", "s.not-a-real-token")
    for command in (("seed",), ("rotate", "consul/gossip"), ("status",)):
        result = homelab_cli("secrets", *command, "-c", config, *addr)
        assert result.code == 1, command
        assert "Vault:" in result.err
        assert "permission denied" in result.err
        assert "token" in result.err
    monkeypatch.delenv("VAULT_TOKEN")
    assert all_values(root_client(bao, isolated), homelab) == {}
    transcript.assert_clean(known_secrets(bao, isolated, homelab) | {"s.not-a-real-token"})


def test_bootstrap_file_inside_the_repo_is_refused_before_init(
    bao: BaoServer, repo: Path, homelab_cli: Cli
) -> None:
    config = str(repo / "homelab.yaml")
    inside = repo / "secrets" / "vault.json"
    result = homelab_cli(
        "secrets", "init", "-c", config, "--vault-addr", bao.address, "--bootstrap-file", str(inside)
    )
    assert result.code == 2
    assert "outside the homelab repository" in result.err
    assert not inside.exists()
    assert hvac.Client(url=bao.address).sys.is_initialized() is False


def test_tls_is_verified_by_default_and_trusts_the_given_ca(
    tmp_path: Path, repo: Path, isolated: Path, homelab_cli: Cli, transcript: Transcript
) -> None:
    cert, key = self_signed_cert(tmp_path)
    server = BaoServer(tmp_path / "tls-bao", tls=(cert, key))
    server.workdir.mkdir()
    config = str(repo / "homelab.yaml")
    try:
        server.start()
        assert server.address.startswith("https://")
        untrusted = homelab_cli("secrets", "init", "-c", config, "--vault-addr", server.address)
        assert untrusted.code == 1
        assert "TLS certificate verification failed" in untrusted.err
        assert "--ca-cert" in untrusted.err
        assert not bootstrap_file(isolated).exists(), "a failed init leaves no bootstrap file"
        trusted = homelab_cli(
            "secrets", "init", "-c", config, "--vault-addr", server.address, "--ca-cert", str(cert)
        )
        assert trusted.code == 0, trusted.err
        status = homelab_cli(
            "secrets", "status", "-c", config, "--vault-addr", server.address, "--ca-cert", str(cert)
        )
        assert "initialised, unsealed" in status.err
        boot = json.loads(bootstrap_file(isolated).read_text())
        transcript.assert_clean({boot["root_token"], *boot["unseal_keys"]})
    finally:
        server.stop()
