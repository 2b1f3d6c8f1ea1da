"""network/dns/ and pfSense's host overrides: every name of the model, answered where it must be.

The integration tests start a real Unbound on loopback with the rendered include and ask it with
`dig`, so the files are proven to be what a resolver accepts and answers, not only what we wrote.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.model import Homelab, build
from homelabeazy.model.homelab import DnsRecord
from homelabeazy.render.dns import (
    DNSMASQ,
    HEADER,
    HOSTS,
    UNBOUND,
    dnsmasq_snippet,
    hosts_snippet,
    unbound_include,
)
from homelabeazy.render.network import render
from tests.support.resolvers import Resolver

DOMAIN = "home.example.com"


def _homelab(rename: tuple[str, str] | None = None) -> Homelab:
    """The example, with one app (and its host) renamed when `rename` says (old, new)."""
    yaml = YAML(typ="safe", pure=True)
    data = yaml.load(example_text())
    if rename is not None:
        app = next(a for a in data["apps"] if a["name"] == rename[0])
        app["name"] = app["host"] = rename[1]
    out = io.StringIO()
    yaml.dump(data, out)
    return build(load_config(out.getvalue()).config)


def _expected(homelab: Homelab) -> dict[str, IPv4Address]:
    """What the LAN must answer, from the model's own facts (not from its DNS records)."""
    names = {homelab.cluster.api_host: homelab.cluster.vip}
    names.update((node.fqdn, node.ip) for node in homelab.nodes)
    names.update((route.host, homelab.cluster.traefik_ip) for route in homelab.routes)
    names.update((f"{r.name}.{homelab.domain}", r.address) for r in homelab.config.network.dns_records)
    return names


def test_every_record_is_derived_once_in_the_model(example_homelab: Homelab) -> None:
    records = {r.name: r.address for r in example_homelab.dns}
    assert len(records) == len(example_homelab.dns), "one record per name"
    assert records == _expected(example_homelab)
    # the example's own numbers: the API at the VIP, routes at Traefik's LoadBalancer address
    assert records["k3s.home.example.com"] == IPv4Address("10.10.10.10")
    assert records["vault.home.example.com"] == IPv4Address("10.10.10.200")
    assert records["whoami.home.example.com"] == IPv4Address("10.10.10.200")
    assert records["minio.home.example.com"] == IPv4Address("10.10.10.15")
    services = example_homelab.services_zone.cidr
    assert all(r.address in services for r in example_homelab.dns)


def _hosts_file(text: str) -> dict[str, IPv4Address]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            address, *names = line.split()
            out.update((name, IPv4Address(address)) for name in names)
    return out


def _dnsmasq(text: str) -> dict[str, IPv4Address]:
    out = {}
    for line in text.splitlines():
        if line.startswith("host-record="):
            name, address, _ttl = line.removeprefix("host-record=").split(",")
            out[name] = IPv4Address(address)
    return out


def test_the_three_files_and_pfsense_carry_the_same_records(example_homelab: Homelab) -> None:
    files = render(example_homelab)
    expected = _expected(example_homelab)
    assert _hosts_file(files[HOSTS]) == expected
    assert _dnsmasq(files[DNSMASQ]) == expected
    assert "address=/" not in files[DNSMASQ], "a wildcard would also answer every subdomain"
    data = YAML(typ="safe", pure=True).load(files["network/pfsense/vars/homelab.yml"])
    overrides = {f"{h['host']}.{h['domain']}": IPv4Address(h["ip"]) for h in data["homelab_dns_hosts"]}
    assert overrides == expected
    assert all("." not in h["host"] for h in data["homelab_dns_hosts"])


RECORDS = (
    DnsRecord("k3s.home.example.com", IPv4Address("10.10.10.10"), "the API", 6443, "api"),
    DnsRecord("vault.home.example.com", IPv4Address("10.10.10.200"), "route of vault", 443, "route"),
    DnsRecord("k3s-server-1.home.example.com", IPv4Address("10.10.10.9"), "node", 22, "node"),
    DnsRecord("auth.home.example.com", IPv4Address("10.10.10.200"), "route of authelia", 443, "route"),
)


def test_unbound_include_is_one_server_clause_of_a_records() -> None:
    assert unbound_include(RECORDS[:2]) == (
        f"{HEADER}server:\n"
        "    # the API\n"
        '    local-data: "k3s.home.example.com. 300 IN A 10.10.10.10"\n'
        "    # route of vault\n"
        '    local-data: "vault.home.example.com. 300 IN A 10.10.10.200"\n'
    )


def test_dnsmasq_has_exact_host_records_with_the_ttl() -> None:
    assert dnsmasq_snippet(RECORDS[:1]) == (
        f"{HEADER}# the API\nhost-record=k3s.home.example.com,10.10.10.10,300\n"
    )


def test_hosts_has_one_line_per_address_in_address_order() -> None:
    """10.10.10.9 before 10.10.10.10 (numeric, not text order); names of one address in model order."""
    assert hosts_snippet(RECORDS) == (
        f"{HEADER}"
        "10.10.10.9 k3s-server-1.home.example.com\n"
        "10.10.10.10 k3s.home.example.com\n"
        "10.10.10.200 vault.home.example.com auth.home.example.com\n"
    )


# --------------------------------------------------------------------------- a real Unbound


@pytest.fixture
def resolver(tmp_path: Path) -> Iterator[Resolver]:
    with Resolver(tmp_path, DOMAIN) as server:
        yield server


@pytest.mark.integration
def test_unbound_answers_every_route_and_the_api_name(resolver: Resolver, example_homelab: Homelab) -> None:
    resolver.serve(render(example_homelab)[UNBOUND])
    expected = _expected(example_homelab)
    assert resolver.ask([(name, "A") for name in expected]) == expected
    # names the model does not give stay unknown: no wildcard answers for the domain
    assert resolver.status("nothing." + DOMAIN) == "NXDOMAIN"


@pytest.mark.integration
def test_a_renamed_app_changes_exactly_its_record(resolver: Resolver, example_homelab: Homelab) -> None:
    before = _expected(example_homelab)
    renamed = _homelab(rename=("whoami", "hello"))
    old, new = render(example_homelab)[UNBOUND], render(renamed)[UNBOUND]
    changed = set(old.splitlines()) ^ set(new.splitlines())
    assert all("whoami" in line or "hello" in line for line in changed), changed
    resolver.serve(new)
    names = [*before, "hello." + DOMAIN]
    answers = resolver.ask([(name, "A") for name in names])
    kept = {n: a for n, a in before.items() if n != "whoami." + DOMAIN}
    assert answers == {**kept, "hello." + DOMAIN: renamed.cluster.traefik_ip}
    assert resolver.status("whoami." + DOMAIN) == "NXDOMAIN"


@pytest.mark.parametrize(
    "fixture", sorted((Path(__file__).parents[1] / "fixtures/config/valid").glob("*.yaml"))
)
def test_every_record_points_into_the_services_vlan(fixture: Path) -> None:
    """The checks on the VIP, node range and Traefik's IP keep every record inside the services VLAN."""
    homelab = build(load_config(fixture.read_text(encoding="utf-8")).config)
    assert homelab.dns
    assert all(r.address in homelab.services_zone.cidr for r in homelab.dns)
    assert len({r.name for r in homelab.dns}) == len(homelab.dns)


@pytest.mark.integration
@pytest.mark.parametrize("form", ["snippet", "hosts"])
def test_dnsmasq_answers_every_name_from_either_file(
    resolver: Resolver, example_homelab: Homelab, form: str
) -> None:
    files = render(example_homelab)
    if form == "snippet":
        resolver.serve_dnsmasq(snippet=files[DNSMASQ])
    else:
        resolver.serve_dnsmasq(hosts=files[HOSTS])
    expected = _expected(example_homelab)
    assert resolver.ask([(name, "A") for name in expected]) == expected
    assert resolver.status("nothing." + DOMAIN) == "NXDOMAIN"
