"""The nftables adapter and the `validate --deep` hook: real `nft -c` in a private namespace."""

from __future__ import annotations

import pytest

from homelabeazy.converge.deep import validate_rendered
from homelabeazy.converge.files.nftables import validate_nftables
from homelabeazy.model import Homelab
from homelabeazy.ops.nftables import check_ruleset
from homelabeazy.render.network import render
from tests.support.integration import need_binary

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _tools() -> None:
    need_binary("nft", "apt-get install nftables")
    need_binary("unshare", "apt-get install util-linux")


def test_rendered_ruleset_is_valid(example_homelab: Homelab) -> None:
    assert check_ruleset(render(example_homelab)["network/nftables/homelab.nft"]) == []
    assert validate_rendered(example_homelab, None) == []


def test_broken_ruleset_is_reported_with_nfts_words() -> None:
    broken = "table inet homelab {\n\tchain forward {\n"
    broken += "\t\ttype filter hook forward priority filter; policy drop;\n"
    broken += "\t\tip saddr 10.0.0.0/33 accept\n\t}\n}\n"
    problems = check_ruleset(broken, "network/nftables/homelab.nft")
    assert problems
    assert all(p.startswith("network/nftables/homelab.nft: nft -c: ") for p in problems)
    assert validate_nftables({"network/nftables/homelab.nft": broken}, None)
