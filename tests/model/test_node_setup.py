"""Host prerequisites in the model: each catalog entry's needs, their union for the enabled
services, the K3s components the servers disable, and who may reach the metrics listeners."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.model import Homelab, build
from homelabeazy.model.catalog import REGISTRY
from homelabeazy.model.node_setup import (
    METRICS_PORTS,
    host_needs,
    is_network,
    k3s_disabled,
    metrics_sources,
)
from homelabeazy.model.service import HostNeeds


def _homelab(**services: dict[str, Any]) -> Homelab:
    data = yaml.safe_load(example_text())
    for name, settings in services.items():
        data["services"].setdefault(name, {}).update(settings)
    return build(load_config(yaml.safe_dump(data, sort_keys=False)).config)


@pytest.fixture(scope="module")
def longhorn_homelab() -> Homelab:
    return _homelab(longhorn={"enabled": True, "replicas": 3})


LONGHORN = HostNeeds(
    packages=("cryptsetup", "dmsetup", "nfs-common", "open-iscsi"),
    services=("iscsid.service",),
    kernel_modules=("dm_crypt", "iscsi_tcp", "nfs"),
)
"""Longhorn 1.10's requirements on a Debian node (see the catalog module for the sources)."""


def test_union_sorts_and_drops_repeats() -> None:
    a = HostNeeds(packages=("b", "a"), services=("x.service",), kernel_modules=("m",))
    b = HostNeeds(packages=("a", "c"), kernel_modules=("m", "k"), sysctls=(("vm.z", "1"),))
    assert a.union(b) == HostNeeds(
        packages=("a", "b", "c"),
        services=("x.service",),
        kernel_modules=("k", "m"),
        sysctls=(("vm.z", "1"),),
    )
    assert a.union(HostNeeds()) == a.union(a)


def test_union_refuses_one_sysctl_at_two_values() -> None:
    same = HostNeeds(sysctls=(("vm.max_map_count", "262144"),))
    assert same.union(same) == same
    with pytest.raises(ValueError, match=r"sysctl vm\.max_map_count is needed as both 262144 and 65530"):
        same.union(HostNeeds(sysctls=(("vm.max_map_count", "65530"),)))


def test_items_name_every_kind() -> None:
    needs = HostNeeds(("p",), ("s.service",), ("m",), (("k", "v"),))
    assert needs.items() == (
        ("package", "p"),
        ("service", "s.service"),
        ("kernel module", "m"),
        ("sysctl", "k=v"),
    )
    assert needs
    assert not HostNeeds()


def test_the_example_needs_nothing_beyond_the_base(example_homelab: Homelab) -> None:
    assert host_needs(example_homelab.services) == HostNeeds()
    assert k3s_disabled(example_homelab.services) == ("traefik", "servicelb")


def test_longhorn_on_needs_iscsi_nfs_and_dm_crypt_and_replaces_local_storage(
    longhorn_homelab: Homelab,
) -> None:
    assert host_needs(longhorn_homelab.services) == LONGHORN
    assert k3s_disabled(longhorn_homelab.services) == ("traefik", "servicelb", "local-storage")


def test_every_catalog_entry_combines_with_every_other(example_homelab: Homelab) -> None:
    """All needs of the whole catalog have one union (no sysctl wanted at two values)."""
    entries = tuple(make(example_homelab.config) for make in REGISTRY.values())
    union = host_needs(entries)
    assert union.items() == tuple(dict.fromkeys(union.items()))
    for entry in entries:
        assert set(entry.host_needs.items()) <= set(union.items()), entry.name
        assert set(entry.k3s_disable) <= {
            "coredns",
            "servicelb",
            "traefik",
            "local-storage",
            "metrics-server",
        }


def test_metrics_sources_are_the_pod_network_and_every_node(example_homelab: Homelab) -> None:
    sources = metrics_sources(example_homelab)
    assert sources == ("10.42.0.0/16", *(str(n.ip) for n in example_homelab.nodes))
    assert len(sources) == 1 + 5
    assert all(is_network(s) for s in sources)
    assert METRICS_PORTS == (2112, 2381)


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("10.42.0.0/16", True),
        ("10.10.10.20", True),
        ("10.10.10.20/32", True),
        ("0.0.0.0/0", True),
        ("10.42.0.1/16", False),  # host bits set: nft would take it, but it is a typo
        ("fd00::/8", False),
        ("10.10.10.256", False),
        ("", False),
        ("{{ x }}", False),
    ],
)
def test_is_network(text: str, valid: bool) -> None:
    assert is_network(text) is valid
