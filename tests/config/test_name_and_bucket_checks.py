"""The semantic checks about names (checks/dns.py) and where backups go (checks/dr.py, etcd.py),
called on the example with one thing changed: each rule with a case on each side of it.

The config fixtures (tests/fixtures/config/) prove each check's finding reaches `homelab validate`
at the right line; here the rule itself is pinned: the LoadBalancer range's last address is inside
it and the next one is not, a route may not take the API's or a node's name but may take a name that
only looks like one, one LAN resolver is enough, an explicit `enabled: true` is an error and an
unset one only an info.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

import pytest

from homelabeazy.checks import dns, dr, etcd, load_config
from homelabeazy.checks.base import Finding
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.config.starter import example_text
from tests.support.bucket_configs import with_backups


@pytest.fixture(scope="module")
def example() -> HomelabConfig:
    return load_config(example_text()).config


def _found(findings: Any) -> list[tuple[tuple[str | int, ...], str, str]]:
    return [(f.path, f.message, f.severity) for f in findings]


# --- dns-gateway-address: the LoadBalancer range, both ends inclusive ------------------------------


def _gateway(
    config: HomelabConfig, address: str | None, lb_range: str | None = None, traefik: str | None = None
) -> list[Finding]:
    services = config.services
    gateway = services.dns_gateway.model_copy(
        update={"enabled": True, "loadbalancer_ip": None if address is None else IPv4Address(address)}
    )
    new_traefik = services.traefik.model_copy(
        update={"loadbalancer_ip": None if traefik is None else IPv4Address(traefik)}
    )
    cluster = config.cluster.model_copy(
        update={"loadbalancer_range": lb_range or config.cluster.loadbalancer_range}
    )
    changed = config.model_copy(
        update={
            "services": services.model_copy(update={"dns_gateway": gateway, "traefik": new_traefik}),
            "cluster": cluster,
        }
    )
    return list(dns.dns_gateway_has_its_own_address(changed))


@pytest.mark.parametrize("address", [None, "10.10.10.201", "10.10.10.239"])
def test_gateway_address_inside_the_range_is_fine(example: HomelabConfig, address: str | None) -> None:
    """The example's range is 10.10.10.200-10.10.10.239: its last address is in it."""
    assert _gateway(example, address) == []


@pytest.mark.parametrize("address", ["10.10.10.240", "10.10.10.199", "10.10.11.201"])
def test_gateway_address_one_past_either_end_is_outside(example: HomelabConfig, address: str) -> None:
    assert _found(_gateway(example, address)) == [
        (("services", "dns_gateway", "loadbalancer_ip"), f"{address} is outside loadbalancer_range", "error")
    ]
    assert _gateway(example, address)[0].hint == "use an address in 10.10.10.200-10.10.10.239"


def test_gateway_on_traefiks_address_is_refused(example: HomelabConfig) -> None:
    refused = [
        (("services", "dns_gateway", "loadbalancer_ip"), "10.10.10.200 is Traefik's LoadBalancer IP", "error")
    ]
    assert _found(_gateway(example, "10.10.10.200")) == refused  # Traefik takes the range's first
    moved = _gateway(example, "10.10.10.205", traefik="10.10.10.205")
    assert _found(moved) == [
        (("services", "dns_gateway", "loadbalancer_ip"), "10.10.10.205 is Traefik's LoadBalancer IP", "error")
    ]
    assert _gateway(example, "10.10.10.200", traefik="10.10.10.205") == []
    assert _gateway(example, None, traefik="10.10.10.200") == []


def test_a_range_of_one_address_leaves_none_for_the_gateway(example: HomelabConfig) -> None:
    lonely = "10.10.10.200-10.10.10.200"
    assert _found(_gateway(example, None, lonely)) == [
        (("cluster", "loadbalancer_range"), "holds only Traefik's address, none for the DNS gateway", "error")
    ]
    assert _gateway(example, None, "10.10.10.200-10.10.10.201") == []


def test_a_disabled_gateway_is_not_checked(example: HomelabConfig) -> None:
    disabled = example.services.dns_gateway.model_copy(
        update={"enabled": False, "loadbalancer_ip": IPv4Address("192.0.2.1")}
    )
    config = example.model_copy(
        update={"services": example.services.model_copy(update={"dns_gateway": disabled})}
    )
    assert list(dns.dns_gateway_has_its_own_address(config)) == []


# --- dns-names: a route may not take the API's or a node's name -------------------------------------


def _app_host(config: HomelabConfig, host: str) -> list[Finding]:
    apps = [config.apps[0].model_copy(update={"host": host}), *config.apps[1:]]
    return list(dns.routes_do_not_take_other_names(config.model_copy(update={"apps": apps})))


@pytest.mark.parametrize(
    ("host", "taken"),
    [
        ("k3s", "the Kubernetes API's name (it resolves to the VIP)"),
        ("k3s.home.example.com", "the Kubernetes API's name (it resolves to the VIP)"),
        ("k3s-server-1", "the name of node k3s-server-1 (it resolves to the node)"),
        ("k3s-server-3", "the name of node k3s-server-3 (it resolves to the node)"),
        ("k3s-agent-2.home.example.com", "the name of node k3s-agent-2 (it resolves to the node)"),
    ],
)
def test_a_route_on_another_name_is_refused(example: HomelabConfig, host: str, taken: str) -> None:
    fqdn = host if "." in host else f"{host}.home.example.com"
    [finding] = _app_host(example, host)
    assert (finding.path, finding.message, finding.severity) == (
        ("apps", 0, "host"),
        f"host {fqdn} is {taken}",
        "error",
    )
    assert finding.hint.startswith("pick another host")


@pytest.mark.parametrize("host", ["k3s-server-4", "k3s-agent-3", "k3s2", "api", "k3s.lab.home.example.com"])
def test_a_name_that_only_looks_taken_is_free(example: HomelabConfig, host: str) -> None:
    """The example has 3 servers and 2 agents: a fourth server's name resolves nowhere yet."""
    assert _app_host(example, host) == []


# --- dns-servers-carry-the-names: one LAN resolver is enough ----------------------------------------


def _servers(config: HomelabConfig, *servers: str) -> list[Finding]:
    network = config.network.model_copy(update={"dns_servers": [IPv4Address(s) for s in servers]})
    return list(dns.a_dns_server_inside_the_homelab(config.model_copy(update={"network": network})))


@pytest.mark.parametrize(
    "servers",
    [
        ("10.10.10.1",),
        ("1.1.1.1", "10.10.10.1"),
        ("10.10.10.1", "1.1.1.1"),
        ("10.10.10.255",),
        ("10.10.10.0",),
    ],
)
def test_a_resolver_inside_a_vlan_is_enough(example: HomelabConfig, servers: tuple[str, ...]) -> None:
    assert _servers(example, *servers) == []


def test_a_resolver_in_the_last_vlan_counts_too(example: HomelabConfig) -> None:
    last = example.network.vlans[-1].cidr
    assert _servers(example, str(last.network_address + 1)) == []


@pytest.mark.parametrize("servers", [("1.1.1.1",), ("1.1.1.1", "9.9.9.9"), ("10.10.9.255",)])
def test_only_public_resolvers_is_a_warning(example: HomelabConfig, servers: tuple[str, ...]) -> None:
    [finding] = _servers(example, *servers)
    assert (finding.path, finding.severity) == (("network", "dns_servers"), "warning")
    assert finding.message.startswith(f"no DNS server is inside a homelab VLAN ({', '.join(servers)}): ")
    assert "does not know k3s.home.example.com" in finding.message


# --- dr-backups-bucket: an explicit yes is an error, an unset one an info ---------------------------

VAULT_PATH = ("services", "vault", "snapshots", "enabled")
LDAP_PATH = ("services", "openldap", "exports", "enabled")
PREFIX_PATH = ("services", "velero", "target", "prefix")


def test_dr_backups_beside_a_velero_prefix_say_nothing(example: HomelabConfig) -> None:
    config = with_backups(example, vault={"enabled": True}, ldap={"enabled": True})
    assert list(dr.dr_backups_beside_velero(config)) == []


def test_an_explicit_yes_into_velero_root_is_an_error_each(example: HomelabConfig) -> None:
    config = with_backups(example, prefix="", vault={"enabled": True}, ldap={"enabled": True})
    found = list(dr.dr_backups_beside_velero(config))
    assert [(f.path, f.severity) for f in found] == [(VAULT_PATH, "error"), (LDAP_PATH, "error")]
    assert found[0].message.startswith("Vault raft snapshots cannot go to S3: Velero owns the root of bucket")
    assert found[1].message.startswith("LDAP exports cannot go to S3: ")
    assert found[0].hint == (
        "set services.velero.target.prefix, e.g. `prefix: velero` (the backups then go to homelab-dr/ "
        "beside it), or enabled: false"
    )


@pytest.mark.parametrize(
    ("vault", "ldap", "names"),
    [
        (None, None, "Vault raft snapshots and LDAP exports"),
        (None, False, "Vault raft snapshots"),
        (False, None, "LDAP exports"),
    ],
)
def test_unset_ones_are_one_info_on_the_prefix(
    example: HomelabConfig, vault: bool | None, ldap: bool | None, names: str
) -> None:
    config = with_backups(example, prefix="", vault={"enabled": vault}, ldap={"enabled": ldap})
    [finding] = list(dr.dr_backups_beside_velero(config))
    assert (finding.path, finding.severity) == (PREFIX_PATH, "info")
    assert finding.message.startswith(f"{names} are off: Velero owns the root of bucket homelab-backups")


def test_switched_off_or_without_their_service_nothing_is_said(example: HomelabConfig) -> None:
    off = with_backups(example, prefix="", vault={"enabled": False}, ldap={"enabled": False})
    assert list(dr.dr_backups_beside_velero(off)) == []
    no_services = with_backups(
        example,
        prefix="",
        vault={"service": False, "enabled": True},
        ldap={"service": False, "enabled": True},
    )
    assert list(dr.dr_backups_beside_velero(no_services)) == []


def test_without_velero_an_unset_one_is_silent_and_a_yes_is_an_error(example: HomelabConfig) -> None:
    """No info about a prefix Velero does not have; the yes still cannot be honoured."""
    for config in (with_backups(example, velero=False), with_backups(example, prefix=None)):
        assert list(dr.dr_backups_beside_velero(config)) == []
    yes = with_backups(example, velero=False, vault={"enabled": True})
    [finding] = list(dr.dr_backups_beside_velero(yes))
    assert (finding.path, finding.severity) == (VAULT_PATH, "error")
    assert "services.velero has no S3 target" in finding.message


# --- etcd-snapshots-s3: only an explicit yes is checked ---------------------------------------------


@pytest.mark.parametrize(
    ("s3", "prefix", "refused"),
    [
        (True, "", True),
        (None, "", False),
        (False, "", False),
        (True, "velero", False),
        (True, "k3s-etcd", True),
    ],
)
def test_etcd_s3_yes_needs_a_safe_place(
    example: HomelabConfig, s3: bool | None, prefix: str, refused: bool
) -> None:
    found = list(etcd.etcd_snapshots_can_reach_s3(with_backups(example, prefix=prefix, etcd={"s3": s3})))
    if not refused:
        assert found == []
        return
    [finding] = found
    assert (finding.path, finding.severity) == (("cluster", "etcd_snapshots", "s3"), "error")
    assert finding.message.startswith("etcd snapshots cannot go to S3: ")
    assert finding.hint.startswith("set services.velero.target (with a prefix, e.g. `prefix: velero`)")
