"""IPAM at its limits: the first and last slot of each role, one past the range, the VMID offsets.

The config check `node-range-size` promises that a range of SERVER_SLOTS + agents addresses is
enough; these tests hold `node_address` to exactly that promise (see also the valid fixture
`node-range-exact`, which builds).
"""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from homelabeazy.model.ipam import (
    AGENT_VMID_OFFSET,
    SERVER_SLOTS,
    node_address,
    node_vmid,
    parse_range,
    range_addresses,
)

RANGE = "10.0.0.20-10.0.0.26"  # exactly SERVER_SLOTS + 2 agents


def test_parse_range() -> None:
    assert parse_range(RANGE) == (IPv4Address("10.0.0.20"), IPv4Address("10.0.0.26"))
    assert parse_range("10.0.0.5-10.0.0.5") == (IPv4Address("10.0.0.5"), IPv4Address("10.0.0.5"))


def test_servers_own_the_first_slots() -> None:
    assert node_address(RANGE, "server", 0) == IPv4Address("10.0.0.20")
    assert node_address(RANGE, "server", SERVER_SLOTS - 1) == IPv4Address("10.0.0.24")


def test_agents_start_after_the_server_slots_and_may_take_the_last_address() -> None:
    assert node_address(RANGE, "agent", 0) == IPv4Address("10.0.0.25")
    assert node_address(RANGE, "agent", 1) == IPv4Address("10.0.0.26")


def test_one_past_the_range_names_the_range_and_the_node() -> None:
    with pytest.raises(ValueError) as caught:
        node_address(RANGE, "agent", 2)
    assert str(caught.value) == "node range 10.0.0.20-10.0.0.26 has no address for agent #3"
    with pytest.raises(ValueError, match=r"^node range 10.0.0.20-10.0.0.22 has no address for server #4$"):
        node_address("10.0.0.20-10.0.0.22", "server", 3)
    assert node_address("10.0.0.20-10.0.0.22", "server", 2) == IPv4Address("10.0.0.22")


def test_vmids() -> None:
    assert node_vmid(200, "server", 0) == 200
    assert node_vmid(200, "server", 4) == 204
    assert node_vmid(200, "agent", 0) == 200 + AGENT_VMID_OFFSET == 210
    assert node_vmid(200, "agent", 3) == 213


def test_range_addresses_is_inclusive_and_ordered() -> None:
    assert range_addresses(RANGE) == [IPv4Address(f"10.0.0.{i}") for i in range(20, 27)]
    assert range_addresses("10.0.0.5-10.0.0.5") == [IPv4Address("10.0.0.5")]
