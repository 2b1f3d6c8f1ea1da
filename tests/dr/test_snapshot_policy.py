"""The snapshot CronJob's Vault policy, as `homelab secrets seed` writes it, on a real OpenBao.

Kubernetes auth itself needs an API server to review the pod's token (none runs here); what the
role grants is checked with a token carrying exactly the role's policies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import hvac
import hvac.exceptions
import pytest

from homelabeazy.lifecycle.dr.raft_snapshot import check_raft_snapshot
from tests.conftest import CliResult
from tests.secrets.servers import BaoServer

pytestmark = pytest.mark.integration


def test_snapshot_role_can_take_a_snapshot_and_nothing_else(
    bao: BaoServer, repo: Path, isolated: Path, homelab_cli: Callable[..., CliResult]
) -> None:
    config = str(repo / "homelab.yaml")
    addr = ("--vault-addr", bao.address)
    init = homelab_cli("secrets", "init", "-c", config, *addr)
    assert init.code == 0
    assert "wrote policy homelab-vault-snapshot" in init.err.replace("\n", "")
    assert "wrote auth/kubernetes/role/vault-snapshot" in init.err.replace("\n", "")
    again = homelab_cli("secrets", "seed", "-c", config, *addr)
    assert "unchanged: auth/kubernetes/role/vault-snapshot" in again.err.replace("\n", ""), "idempotent"
    assert "unchanged: policy homelab-vault-snapshot" in again.err.replace("\n", ""), "idempotent"

    boot = json.loads((isolated / "homelabeazy" / "homelab" / "vault-bootstrap.json").read_text())
    admin = hvac.Client(url=bao.address, token=boot["root_token"])
    role = admin.read("auth/kubernetes/role/vault-snapshot")["data"]
    assert role["bound_service_account_names"] == ["vault-snapshot"]
    assert role["bound_service_account_namespaces"] == ["vault"]
    assert role["token_policies"] == ["homelab-vault-snapshot"]
    issued = admin.auth.token.create(policies=role["token_policies"], no_default_policy=True, ttl="5m")
    job = hvac.Client(url=bao.address, token=issued["auth"]["client_token"])

    snapshot = job.sys.take_raft_snapshot()
    assert snapshot.status_code == 200
    assert check_raft_snapshot(snapshot.content, "snapshot").index > 0
    with pytest.raises(hvac.exceptions.Forbidden):
        job.secrets.kv.v2.read_secret_version("authelia/keys", mount_point="homelab")
    with pytest.raises(hvac.exceptions.Forbidden):
        job.sys.restore_raft_snapshot(snapshot.content)
    with pytest.raises(hvac.exceptions.Forbidden):
        job.sys.force_restore_raft_snapshot(snapshot.content)
    with pytest.raises(hvac.exceptions.Forbidden):
        job.sys.read_policy("homelab-vault-snapshot")
