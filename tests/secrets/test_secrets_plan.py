"""The pure half of `homelab secrets`: seed plans, value formats, policies, roles, the bootstrap file."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from homelabeazy.errors import UsageError
from homelabeazy.lifecycle import secrets
from homelabeazy.model import Homelab, secrets_plan
from homelabeazy.model.service import SecretSpec
from homelabeazy.ops import vault_bootstrap
from homelabeazy.ops.vault import InitResult, StoredSecret
from homelabeazy.secret_files import ensure_outside_repo

A = SecretSpec("a/one", ("x", "y"), "alpha", "two generated keys")
B = SecretSpec("b/two", ("token",), "beta", "one generated key")
EXT = SecretSpec("c/ext", ("id", "key"), "gamma", "user-provided", "external")


def test_plan_generates_everything_missing_in_an_empty_vault() -> None:
    plan = secrets_plan.plan_seed((A, B, EXT), {})
    assert plan.generate == (
        secrets_plan.SeedAction("a/one", ("x", "y"), 0),
        secrets_plan.SeedAction("b/two", ("token",), 0),
    )
    assert plan.missing_external == (("c/ext", ("id", "key")),)
    assert plan.complete == ()


def test_plan_leaves_complete_secrets_alone() -> None:
    existing = {
        "a/one": StoredSecret({"x": "1", "y": "2"}, 3),
        "b/two": StoredSecret({"token": "t"}, 1),
        "c/ext": StoredSecret({"id": "i", "key": "k"}, 1),
    }
    plan = secrets_plan.plan_seed((A, B, EXT), existing)
    assert plan.generate == ()
    assert plan.missing_external == ()
    assert plan.complete == ("a/one", "b/two", "c/ext")


def test_plan_fills_only_missing_or_empty_keys_with_check_and_set_on_the_read_version() -> None:
    existing = {"a/one": StoredSecret({"x": "kept", "y": ""}, 7), "c/ext": StoredSecret({"id": "i"}, 2)}
    plan = secrets_plan.plan_seed((A, EXT), existing)
    assert plan.generate == (secrets_plan.SeedAction("a/one", ("y",), 7),)
    assert plan.missing_external == (("c/ext", ("key",)),)


def test_gossip_key_is_32_random_bytes_base64() -> None:
    assert secrets.value_format("consul/gossip", "key") == "gossip_key"
    value = secrets.generate_value("gossip_key")
    assert len(base64.b64decode(value, validate=True)) == 32
    assert secrets.generate_value("gossip_key") != value
    fixed = secrets.generate_value("gossip_key", lambda n: b"\x01" * n)
    assert base64.b64decode(fixed) == b"\x01" * 32


def test_passwords_are_long_alphanumeric_and_distinct() -> None:
    values = {secrets.generate_value("password") for _ in range(200)}
    assert len(values) == 200
    for value in values:
        assert len(value) == secrets.PASSWORD_LENGTH
        assert value.isalnum()


def test_every_model_secret_has_a_known_format(example_homelab: Homelab) -> None:
    for spec in example_homelab.secrets:
        for key in spec.keys:
            assert secrets.value_format(spec.path, key) in ("password", "gossip_key")
    assert secrets.value_format("consul/gossip", "key") == "gossip_key"
    assert any(s.path == "consul/gossip" for s in example_homelab.secrets)


def test_one_read_only_policy_per_consumer_covering_exactly_its_paths(example_homelab: Homelab) -> None:
    every = secrets_plan.consumer_policies(example_homelab)
    policies = dict(every)
    consumers = {s.consumer for s in example_homelab.secrets}
    snapshot = secrets_plan.policy_name(example_homelab, "vault-snapshot")
    assert set(policies) == {secrets_plan.policy_name(example_homelab, c) for c in consumers} | {snapshot}
    assert policies.pop(snapshot).splitlines()[1:] == [
        'path "sys/storage/raft/snapshot" {',
        '  capabilities = ["read"]',
        "}",
    ], "the snapshot job may read a raft snapshot and nothing else"
    for spec in example_homelab.secrets:
        mine = policies[secrets_plan.policy_name(example_homelab, spec.consumer)]
        assert f'path "homelab/data/{spec.path}"' in mine
        for name, hcl in policies.items():
            if name != secrets_plan.policy_name(example_homelab, spec.consumer):
                assert f'"homelab/data/{spec.path}"' not in hcl
    for hcl in policies.values():
        assert "*" not in hcl
        assert hcl.count('capabilities = ["read"]') == hcl.count("path ")
    assert secrets_plan.consumer_policies(example_homelab) == every, "deterministic"


def test_eso_role_gets_in_cluster_consumers_and_approle_the_k3s_token(example_homelab: Homelab) -> None:
    roles = secrets_plan.auth_roles(example_homelab)
    eso = roles.kubernetes_role["token_policies"]
    assert isinstance(eso, list)
    assert "homelab-authelia" in eso
    assert "homelab-k3s" not in eso
    assert roles.approle["token_policies"] == ["homelab-k3s"]
    assert roles.kubernetes_role["bound_service_account_namespaces"] == ["external-secrets"]


def test_role_comparison_understands_vaults_answers() -> None:
    wanted = {"token_policies": ["b", "a"], "token_ttl": "1h", "bound": ["x"]}
    assert secrets._role_matches({"token_policies": ["a", "b"], "token_ttl": 3600, "bound": ["x"]}, wanted)
    assert not secrets._role_matches({"token_policies": ["a"], "token_ttl": 3600, "bound": ["x"]}, wanted)
    assert not secrets._role_matches({"token_policies": ["a", "b"], "token_ttl": 60, "bound": ["x"]}, wanted)


def test_spec_for_names_the_known_paths() -> None:
    assert secrets_plan.spec_for((A, B), "b/two") is B
    with pytest.raises(UsageError, match="known paths: a/one, b/two"):
        secrets_plan.spec_for((A, B), "nope")


def test_secret_holders_hide_values_in_repr() -> None:
    result = InitResult(("k1-secret", "k2-secret"), "root-secret")
    stored = StoredSecret({"password": "pw-secret"}, 1)
    boot = vault_bootstrap.VaultBootstrap("http://x", 2, 1, ("k1-secret",), "root-secret")
    for thing in (result, stored, boot):
        assert "secret" not in repr(thing).replace("hidden", "")


# ----------------------------------------------------------------------------- bootstrap file


def test_default_bootstrap_path_is_under_the_config_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert (
        vault_bootstrap.default_bootstrap_path("lab")
        == tmp_path / "homelabeazy" / "lab" / "vault-bootstrap.json"
    )


@pytest.mark.parametrize("relative", ["keys.json", "sub/dir/keys.json", "."])
def test_bootstrap_inside_the_repo_is_refused(tmp_path: Path, relative: str) -> None:
    with pytest.raises(UsageError, match="outside the homelab repository"):
        ensure_outside_repo(tmp_path / relative, tmp_path, vault_bootstrap.WHAT)


def test_bootstrap_beside_the_repo_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    ensure_outside_repo(tmp_path / "repo-keys" / "k.json", tmp_path / "repo", vault_bootstrap.WHAT)


def test_bootstrap_through_a_symlink_into_the_repo_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (tmp_path / "link").symlink_to(repo)
    with pytest.raises(UsageError):
        ensure_outside_repo(tmp_path / "link" / "k.json", repo, vault_bootstrap.WHAT)


def test_bootstrap_file_round_trip_is_0600_and_exclusive(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "lab" / "vault-bootstrap.json"
    vault_bootstrap.reserve(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with pytest.raises(UsageError, match="already exists"):
        vault_bootstrap.reserve(path)
    boot = vault_bootstrap.VaultBootstrap("http://127.0.0.1:8200", 3, 2, ("a", "b", "c"), "root")
    vault_bootstrap.store(path, boot)
    assert vault_bootstrap.load(path) == boot
    assert json.loads(path.read_text())["threshold"] == 2


def test_release_removes_only_an_empty_reservation(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    vault_bootstrap.reserve(path)
    vault_bootstrap.release(path)
    assert not path.exists()
    path.write_text("{}")
    vault_bootstrap.release(path)
    assert path.exists()


def test_loading_a_world_readable_or_broken_bootstrap_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    vault_bootstrap.reserve(path)
    vault_bootstrap.store(path, vault_bootstrap.VaultBootstrap("a", 1, 1, ("k",), "t"))
    os.chmod(path, 0o644)
    with pytest.raises(UsageError, match="chmod 600"):
        vault_bootstrap.load(path)
    os.chmod(path, 0o600)
    path.write_text('{"address": "a"}')
    with pytest.raises(UsageError, match="not a Vault bootstrap file"):
        vault_bootstrap.load(path)
    with pytest.raises(UsageError, match="homelab secrets init"):
        vault_bootstrap.load(tmp_path / "missing.json")


def test_snapshot_role_binds_only_the_cronjob_account_to_its_policy(example_homelab: Homelab) -> None:
    role = secrets_plan.auth_roles(example_homelab).snapshot_role
    assert role == {
        "bound_service_account_names": ["vault-snapshot"],
        "bound_service_account_namespaces": ["vault"],
        "token_policies": ["homelab-vault-snapshot"],
        "token_ttl": "15m",
        "token_max_ttl": "15m",
    }
    eso = secrets_plan.auth_roles(example_homelab).kubernetes_role["token_policies"]
    assert isinstance(eso, list)
    assert "homelab-vault-snapshot" not in eso


def test_no_snapshot_policy_or_role_without_a_bucket(example_homelab: Homelab) -> None:
    from homelabeazy.model import build

    config = example_homelab.config
    services = config.services.model_copy(
        update={"velero": config.services.velero.model_copy(update={"enabled": False})}
    )
    homelab = build(config.model_copy(update={"services": services}))
    assert secrets_plan.auth_roles(homelab).snapshot_role is None
    assert not any(name.endswith("vault-snapshot") for name in secrets_plan.consumer_policies(homelab))
