"""Every name a component must reach resolves on its DNS path (the `dns-path` check).

The model of the path (netpolicy/dns_path.py) is held to real resolvers: pfSense's resolver is a
real Unbound configured from the config.xml our playbook leaves behind (the user's fixture, our
task applied through the pfsensible model, turned into unbound.conf the way pfSense's unbound.inc
does), and k8s-gateway is a real Unbound answering exactly the names the rendered k8s-gateway values
serve, NXDOMAIN for the rest of the domain (what k8s_gateway does without fallthrough). Every name
a component must reach that lies in the homelab's domain gets the same verdict from the model and
from `dig`; the example's S3 endpoint resolves with the DNS gateway on; without its record the
check fires on `services.velero.target.s3_url`, and the real resolver answers NXDOMAIN.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from ruamel.yaml import YAML

from homelabeazy.checks import run_checks
from homelabeazy.checks.dns import config_dns_path
from homelabeazy.config.load import parse_config
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.config.starter import example_text
from homelabeazy.model import build
from homelabeazy.model.hosts import in_domain
from homelabeazy.model.outside_names import outside_names
from homelabeazy.netpolicy.dns_path import dns_path
from homelabeazy.render.registry import render_all
from tests.support import pfsense_unbound, pfsensible_resolver
from tests.support.pfsense_config import USER, rendered_filters, task_args
from tests.support.resolvers import Resolver

DOMAIN = "home.example.com"
VLANS = (IPv4Network("10.10.10.0/24"), IPv4Network("10.10.20.0/24"))
LAN = IPv4Address("10.10.10.1")
PUBLIC = IPv4Address("1.1.1.1")


def _config(edit: Callable[[dict[str, Any]], None]) -> HomelabConfig:
    yaml = YAML(typ="safe", pure=True)
    data = yaml.load(example_text())
    edit(data)
    out = io.StringIO()
    yaml.dump(data, out)
    return parse_config(out.getvalue()).config


def gateway_on(data: dict[str, Any]) -> None:
    data["services"]["dns_gateway"]["enabled"] = True


def gateway_on_without_minio(data: dict[str, Any]) -> None:
    """The example as it was before the fix: the S3 store is not a record of the homelab."""
    gateway_on(data)
    data["network"]["dns_records"] = []


# --------------------------------------------------------------------------- the model of the path


def test_the_path_decides_like_the_resolvers_do() -> None:
    local = [("k3s.home.example.com", "API"), ("minio.home.example.com", "NAS")]
    served = ["vault.home.example.com"]
    with_gateway = dns_path(DOMAIN, local, served, True, [LAN], VLANS)
    # a host override is answered before the domain is forwarded
    assert with_gateway.resolve("minio.home.example.com", "pod").outcome == "answered"
    assert with_gateway.resolve("MINIO.home.example.com.", "node").outcome == "answered"
    assert with_gateway.resolve("vault.home.example.com", "pod").detail.startswith("k8s-gateway")
    # anything else in the domain ends at k8s-gateway: NXDOMAIN; the domain itself too
    assert with_gateway.resolve("s3.home.example.com", "pod").outcome == "nxdomain"
    assert with_gateway.resolve("home.example.com", "node").outcome == "nxdomain"
    # a name that only ends like the domain is not in it
    assert with_gateway.resolve("nothome.example.com", "pod").outcome == "upstream"
    assert with_gateway.resolve("github.com", "pod").outcome == "upstream"
    assert with_gateway.resolve("10.10.30.9", "node").outcome == "address"
    assert with_gateway.resolve("minio.velero.svc", "pod").outcome == "cluster"
    assert with_gateway.resolve("minio.velero.svc.cluster.local", "node").outcome == "nxdomain"
    without = dns_path(DOMAIN, local, served, False, [LAN], VLANS)
    assert without.resolve("s3.home.example.com", "pod").outcome == "upstream"
    assert without.resolve("vault.home.example.com", "pod").outcome == "answered"


def test_a_public_resolver_in_the_list_reaches_the_pods_not_the_first_ask_of_a_node() -> None:
    local = [("minio.home.example.com", "NAS")]
    mixed = dns_path(DOMAIN, local, [], False, [LAN, PUBLIC], VLANS)
    pod = mixed.resolve("minio.home.example.com", "pod")
    assert (pod.outcome, pod.certain) == ("nxdomain", False)
    assert "at random" in pod.detail
    assert mixed.resolve("minio.home.example.com", "node").outcome == "answered"
    public_first = dns_path(DOMAIN, local, [], False, [PUBLIC, LAN], VLANS)
    assert public_first.resolve("minio.home.example.com", "node").outcome == "nxdomain"
    # a name the homelab does not answer is the public resolver's business
    assert mixed.resolve("github.com", "pod").outcome == "upstream"


def test_every_outside_name_is_declared_by_its_component() -> None:
    def everything(data: dict[str, Any]) -> None:
        services = data["services"]
        services["cert_manager"].update(
            issuer="acme", acme={"email": "a@example.com", "dns_provider": "route53"}
        )
        services["authelia"]["smtp"] = {
            "host": "smtp.example.net",
            "sender": "auth@example.com",
            "security": "tls",
        }
        services["monitoring"].update(
            enabled=True,
            notify={
                "ntfy": {"server": "https://ntfy.home.example.com", "topic": "lab"},
                "email": {"to": "a@example.com", "sender": "b@example.com", "host": "mail.example.net"},
                "webhook": {"url": "http://hooks.example.net:8080/alert"},
            },
        )

    names = {(n.host, n.port, n.path, n.client) for n in outside_names(_config(everything))}
    assert (
        "acme-v02.api.letsencrypt.org",
        443,
        ("services", "cert_manager", "acme", "server"),
        "pod",
    ) in names
    assert (
        "route53.amazonaws.com",
        443,
        ("services", "cert_manager", "acme", "dns_provider"),
        "pod",
    ) in names
    assert ("github.com", 443, ("gitops", "repo_url"), "pod") in names
    assert ("smtp.example.net", 465, ("services", "authelia", "smtp", "host"), "pod") in names
    at = ("services", "monitoring", "notify")
    assert ("ntfy.home.example.com", 443, (*at, "ntfy", "server"), "pod") in names
    assert ("mail.example.net", 587, (*at, "email", "host"), "pod") in names
    assert ("hooks.example.net", 8080, (*at, "webhook", "url"), "pod") in names
    s3 = ("services", "velero", "target", "s3_url")
    assert ("minio.home.example.com", 443, s3, "node") in names, "K3s uploads etcd snapshots itself"
    assert ("minio.home.example.com", 443, s3, "pod") in names


def _path_findings(config: HomelabConfig) -> list[Any]:
    return [f for f in run_checks(config) if f.check == "dns-path"]


def test_the_check_fires_on_the_line_of_each_unresolvable_name() -> None:
    assert _path_findings(_config(lambda d: None)) == []
    assert _path_findings(_config(gateway_on)) == []
    (finding,) = _path_findings(_config(gateway_on_without_minio))
    assert finding.path == ("services", "velero", "target", "s3_url")
    assert finding.severity == "error"
    for who in ("Velero", "the Vault raft snapshot CronJob", "the LDAP export CronJob", "K3s etcd snapshots"):
        assert who in finding.message
    assert "network.dns_records" in finding.hint

    def ntfy_in_domain(data: dict[str, Any]) -> None:
        gateway_on(data)
        data["services"]["monitoring"].update(
            enabled=True, notify={"ntfy": {"server": "https://ntfy.home.example.com", "topic": "lab"}}
        )

    (ntfy,) = _path_findings(_config(ntfy_in_domain))
    assert ntfy.path == ("services", "monitoring", "notify", "ntfy", "server")


# --------------------------------------------------------------------------- real resolvers


@pytest.fixture
def resolvers(tmp_path: Path) -> Iterator[tuple[Resolver, Resolver]]:
    (tmp_path / "pfsense").mkdir()
    (tmp_path / "gateway").mkdir()
    with Resolver(tmp_path / "pfsense", DOMAIN) as pfsense, Resolver(tmp_path / "gateway", DOMAIN) as gateway:
        yield pfsense, gateway


def _gateway_names(files: dict[str, str]) -> list[tuple[str, str]]:
    """(name, address) of the `hosts` block the rendered k8s-gateway values give CoreDNS."""
    values = YAML(typ="safe", pure=True).load(files["kubernetes/values/dns-gateway.yaml"])
    (hosts,) = [p for p in values["extraZonePlugins"] if p["name"] == "hosts"]
    out = []
    for line in hosts["configBlock"].splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0][0].isdigit():
            out.append((fields[1], fields[0]))
    assert values["domain"] == DOMAIN
    return out


def _serve(pfsense: Resolver, gateway: Resolver, config: HomelabConfig, tmp_path: Path) -> None:
    """k8s-gateway and pfSense (after our playbook's resolver task on the user's config.xml)."""
    homelab = build(config)
    files = render_all(homelab)
    served = "\n".join(
        f'    local-data: "{name}. 300 IN A {address}"' for name, address in _gateway_names(files)
    )
    gateway.serve_unbound(f'    local-zone: "{DOMAIN}." static\n{served}')
    root = ET.fromstring(USER)
    pfsensible_resolver.apply_resolver(root, task_args(files, rendered_filters(files, tmp_path), USER))
    reachable = {homelab.cluster.dns_gateway_ip: gateway.port} if homelab.cluster.dns_gateway_ip else {}
    tail = pfsense_unbound.forward_zones(root, reachable) + "\n" + pfsense_unbound.custom_options(root)
    pfsense.serve_unbound(pfsense_unbound.server_options(root), tail)


def _verdicts(config: HomelabConfig, pfsense: Resolver) -> dict[str, tuple[str, str]]:
    """Each outside name in the domain: (model's outcome at pfSense, real answer's status)."""
    path = config_dns_path(config)
    out = {}
    for name in outside_names(config):
        if in_domain(name.host, config.domain):
            model = path.at(LAN, name.host).outcome
            out[name.host] = (model, pfsense.answer(name.host)[0])
    return out


@pytest.mark.integration
def test_the_examples_names_resolve_with_the_dns_gateway_on(
    resolvers: tuple[Resolver, Resolver], tmp_path: Path
) -> None:
    pfsense, gateway = resolvers
    config = _config(gateway_on)
    _serve(pfsense, gateway, config, tmp_path)
    homelab = build(config)
    # every name the homelab answers, through pfSense: overrides, and routes via k8s-gateway
    for record in homelab.dns:
        assert pfsense.answer(record.name) == ("NOERROR", (record.address,)), record.name
    assert pfsense.answer("minio.home.example.com") == ("NOERROR", (IPv4Address("10.10.10.15"),))
    assert _verdicts(config, pfsense) == {"minio.home.example.com": ("answered", "NOERROR")}
    # a name of the domain nobody serves: k8s-gateway's NXDOMAIN, as the model says
    assert pfsense.answer("nothing.home.example.com")[0] == "NXDOMAIN"
    assert config_dns_path(config).at(LAN, "nothing.home.example.com").outcome == "nxdomain"
    # the user's own names on pfSense still answer, aliases included
    assert pfsense.answer("files.lan.example.net") == ("NOERROR", (IPv4Address("192.168.1.20"),))
    # two addresses in one override: both answered (Unbound rotates their order)
    assert sorted(pfsense.answer("mail.example.org")[1]) == [
        IPv4Address("203.0.113.25"),
        IPv4Address("203.0.113.26"),
    ]


@pytest.mark.integration
def test_without_its_record_the_s3_store_is_nxdomain_and_the_check_says_so(
    resolvers: tuple[Resolver, Resolver], tmp_path: Path
) -> None:
    pfsense, gateway = resolvers
    config = _config(gateway_on_without_minio)
    _serve(pfsense, gateway, config, tmp_path)
    assert _verdicts(config, pfsense) == {"minio.home.example.com": ("nxdomain", "NXDOMAIN")}
    (finding,) = _path_findings(config)
    assert finding.path == ("services", "velero", "target", "s3_url")
