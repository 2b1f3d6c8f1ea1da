"""Every shape of rule the compiler can emit is accepted by the real `nft` (check mode, private netns)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from homelabeazy.config.schema import NetworkConfig
from homelabeazy.netpolicy import policy_from_network
from homelabeazy.netpolicy.nftables import compile_nftables
from tests.netpolicy.strategies import networks
from tests.support.integration import need_binary, need_root

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def nft() -> list[str]:
    need_root("nft -c needs CAP_NET_ADMIN")
    need_binary("nft", "apt-get install nftables")
    return [need_binary("unshare", "apt-get install util-linux"), "--net", "nft", "-c", "-f"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(network=networks())
def test_random_policies_compile_to_valid_nftables(
    nft: list[str], tmp_path: Path, network: NetworkConfig
) -> None:
    ruleset = tmp_path / "homelab.nft"
    ruleset.write_text(compile_nftables(policy_from_network(network), "lab"), encoding="utf-8")
    result = subprocess.run([*nft, str(ruleset)], capture_output=True, text=True, check=False, timeout=30)
    assert result.returncode == 0, result.stderr + ruleset.read_text(encoding="utf-8")
