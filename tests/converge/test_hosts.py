"""The `host` check: the rendered group_vars must give every node what the enabled services need,
disable the K3s components they replace, and let every scraper through the metrics firewall.

The check reads the rendered files back (as `validate --deep` does), so each planted bug below is a
renderer that drops or adds one thing; each must become exactly one finding on the homelab.yaml
line of the service (or section) behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.cli.deep_output import config_line
from homelabeazy.config.load import LoadedConfig
from homelabeazy.config.starter import example_text
from homelabeazy.converge.hosts import check_hosts, rendered_host_vars, rendered_needs
from homelabeazy.converge.kube import k3s_objects
from homelabeazy.desired.state import DesiredState, Finding
from homelabeazy.model import Homelab, build
from homelabeazy.model.service import HostNeeds
from homelabeazy.render import ansible

VARS = "ansible/group_vars/k3s_cluster.yml"


def _longhorn_text() -> str:
    data = yaml.safe_load(example_text())
    data["services"]["longhorn"] = {"enabled": True, "replicas": 3}
    return yaml.safe_dump(data, sort_keys=False)


@pytest.fixture(scope="module")
def longhorn_loaded() -> LoadedConfig:
    return load_config(_longhorn_text())


@pytest.fixture(scope="module")
def longhorn_homelab(longhorn_loaded: LoadedConfig) -> Homelab:
    return build(longhorn_loaded.config)


def _state(files: dict[str, str]) -> DesiredState:
    return DesiredState((), (), (), rendered_host_vars(files))


def _edited(homelab: Homelab, change: Callable[[dict[str, Any]], None]) -> DesiredState:
    """The state of `homelab`'s rendered ansible/ tree with its k3s_cluster group_vars changed as a
    broken renderer would have written them (still as Ansible reads them: `!unsafe` strings)."""
    files = ansible.render(homelab)
    data = rendered_host_vars({VARS: files[VARS]})
    change(data)
    return _state({**files, VARS: yaml.safe_dump(data)})


def _texts(findings: list[Finding]) -> list[tuple[str, str, str | None]]:
    return [(f.check, f.message, f.config_path) for f in findings]


def test_rendered_trees_cover_their_services(example_homelab: Homelab, longhorn_homelab: Homelab) -> None:
    for homelab in (example_homelab, longhorn_homelab):
        state = _state(ansible.render(homelab))
        assert state.host_vars["k3s_version"] == homelab.cluster.k3s_version
        assert check_hosts(state, homelab) == []


def test_the_unsafe_tag_reads_as_a_string() -> None:
    files = {"ansible/group_vars/all.yml": "a: !unsafe '{{ x }}'\nb: 1\n", VARS: "b: 2\n"}
    assert rendered_host_vars(files) == {"a": "{{ x }}", "b": 2}
    assert rendered_host_vars({}) == {}


def test_rendered_needs_of_the_longhorn_tree(longhorn_homelab: Homelab) -> None:
    needs = rendered_needs(rendered_host_vars(ansible.render(longhorn_homelab)))
    assert needs == HostNeeds(
        packages=("cryptsetup", "dmsetup", "nfs-common", "open-iscsi"),
        services=("iscsid.service",),
        kernel_modules=("dm_crypt", "iscsi_tcp", "nfs"),
    )


def test_a_need_the_renderer_drops_is_a_finding_on_the_service_line(
    longhorn_homelab: Homelab, longhorn_loaded: LoadedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The planted bug: render/ansible.py forgets open-iscsi."""
    real = ansible.node_vars

    def dropping(homelab: Homelab) -> dict[str, Any]:
        result = real(homelab)
        result["node_needs"]["packages"].remove("open-iscsi")
        return result

    monkeypatch.setattr(ansible, "node_vars", dropping)
    findings = check_hosts(_state(ansible.render(longhorn_homelab)), longhorn_homelab)
    assert _texts(findings) == [
        (
            "host",
            "Longhorn needs the package open-iscsi on every node, but node_needs.packages does not give "
            "it: the node role would not set it up",
            "services.longhorn",
        )
    ]
    assert findings[0].file == VARS
    line = _longhorn_text().splitlines().index("  longhorn:") + 1
    assert config_line(findings[0], longhorn_loaded) == f"homelab.yaml:{line}: services.longhorn"


@pytest.mark.parametrize(
    ("kind", "key", "value"),
    [
        ("service", "services", "iscsid.service"),
        ("kernel module", "kernel_modules", "iscsi_tcp"),
    ],
)
def test_each_kind_of_need_is_checked(longhorn_homelab: Homelab, kind: str, key: str, value: str) -> None:
    state = _edited(longhorn_homelab, lambda d: d["node_needs"][key].remove(value))
    assert _texts(check_hosts(state, longhorn_homelab)) == [
        (
            "host",
            f"Longhorn needs the {kind} {value} on every node, but node_needs.{key} does not give it: "
            "the node role would not set it up",
            "services.longhorn",
        )
    ]


def test_a_need_no_enabled_service_has_is_a_finding(example_homelab: Homelab) -> None:
    """Exactly the union: the example has Longhorn off, so its needs must not be installed."""

    def add(data: dict[str, Any]) -> None:
        data["node_needs"]["packages"].append("open-iscsi")
        data["node_needs"]["sysctls"]["vm.max_map_count"] = "262144"

    assert _texts(check_hosts(_edited(example_homelab, add), example_homelab)) == [
        (
            "host",
            "node_needs.packages sets up the package open-iscsi, which no enabled service needs",
            "services",
        ),
        (
            "host",
            "node_needs.sysctls sets up the sysctl vm.max_map_count=262144, which no enabled service needs",
            "services",
        ),
    ]


def test_a_replaced_k3s_component_left_enabled_is_a_finding(longhorn_homelab: Homelab) -> None:
    state = _edited(longhorn_homelab, lambda d: d["k3s_server_config"]["disable"].remove("local-storage"))
    assert _texts(check_hosts(state, longhorn_homelab)) == [
        (
            "host",
            "Longhorn replaces K3s's packaged local-storage, but k3s_server_config.disable does not list "
            "it: K3s would deploy it beside the service (and re-deploy it on every start)",
            "services.longhorn",
        )
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["node_metrics_firewall"]["sources"].remove("10.10.10.26"),
            "node_metrics_firewall.sources lacks 10.10.10.26: Prometheus' scrapes from there would be "
            "refused",
        ),
        (
            lambda d: d["node_metrics_firewall"]["sources"].remove("10.42.0.0/16"),
            "node_metrics_firewall.sources lacks 10.42.0.0/16: Prometheus' scrapes from there would be "
            "refused",
        ),
        (
            lambda d: d["node_metrics_firewall"]["ports"].remove(2381),
            "node_metrics_firewall.ports lacks 2381: that unauthenticated metrics listener would stay open "
            "to the whole services VLAN",
        ),
        (
            lambda d: d["node_metrics_firewall"]["sources"].append("10.10.10.300"),
            "node_metrics_firewall.sources holds '10.10.10.300', not an IPv4 address or network: nft would "
            "refuse the ruleset",
        ),
    ],
    ids=["node-missing", "pod-network-missing", "etcd-port-missing", "bad-source"],
)
def test_the_metrics_firewall_must_admit_every_scraper(
    example_homelab: Homelab, change, expected: str
) -> None:
    assert _texts(check_hosts(_edited(example_homelab, change), example_homelab)) == [
        ("host", expected, "cluster")
    ]


def test_a_state_without_the_ansible_tree_has_nothing_to_check(longhorn_homelab: Homelab) -> None:
    assert check_hosts(DesiredState((), ()), longhorn_homelab) == []


def test_k3s_local_path_exists_unless_disabled() -> None:
    def classes(disabled: frozenset[str]) -> list[str]:
        return [d["metadata"]["name"] for d in k3s_objects(disabled) if d["kind"] == "StorageClass"]

    assert classes(frozenset()) == ["local-path"]
    assert classes(frozenset({"traefik", "servicelb"})) == ["local-path"]
    assert classes(frozenset({"traefik", "servicelb", "local-storage"})) == []
