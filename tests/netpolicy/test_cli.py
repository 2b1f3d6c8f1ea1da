"""`homelab net check` and `homelab net matrix`, in-process, exact output and exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def config(write_config: Callable[..., Path]) -> str:
    return str(write_config())


def test_check_allow_names_the_rule(cli, config: str) -> None:
    result = cli("net", "check", "guests", "services", "443/tcp", "-c", config)
    assert result.code == 0
    assert result.out.strip() == (
        "allow guests -> services 443/tcp — rule #1 (network.firewall.rules[0]): "
        "guests may use the web apps through Traefik"
    )


def test_check_deny_by_default(cli, config: str) -> None:
    result = cli("net", "check", "guests", "services", "22", "-c", config)
    assert result.code == 0
    assert result.out.strip() == (
        "deny guests -> services 22/tcp — no rule matched: traffic between zones is denied by default"
    )


def test_check_host_names_and_addresses(cli, config: str) -> None:
    result = cli("net", "check", "10.10.20.50", "auth.home.example.com", "443", "-c", config)
    assert result.out.strip().startswith(
        "allow 10.10.20.50 (guests) -> auth.home.example.com (10.10.10.200, services) 443/tcp — rule #1"
    )
    result = cli("net", "check", "k3s-agent-1", "pve1", "icmp", "-c", config)
    assert result.out.strip().startswith(
        "deny k3s-agent-1 (10.10.10.25, services) -> pve1 (10.10.30.2, management)"
    )
    assert "rule #7 (default policy): nothing reaches management except management" in result.out


def test_check_json(cli, config: str) -> None:
    result = cli("net", "check", "guests", "10.10.10.1", "53/udp", "--json", "-c", config)
    data = json.loads(result.out)
    assert data["action"] == "allow"
    assert data["rule"] == 6
    assert data["rule_origin"] == "default policy"
    assert data["destination"] == {"input": "10.10.10.1", "zone": "services", "address": "10.10.10.1"}


def test_check_without_port_summarises(cli, config: str) -> None:
    result = cli("net", "check", "guests", "services", "-c", config)
    assert result.code == 0
    assert result.out.strip() == "guests -> services: tcp 443; tcp+udp 53 to 10.10.10.1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nas", "services", "443"), "'nas' is not a zone, an IPv4 address or a host name"),
        (("guests", "any", "443"), "'any' is not a zone"),
        (("guests", "services", "443/sctp"), "is not PORT, PORT/tcp, PORT/udp or icmp"),
        (("guests", "services", "0"), "port 0 is outside 1-65535"),
    ],
)
def test_check_bad_input_exits_2(cli, config: str, args: tuple[str, ...], message: str) -> None:
    result = cli("net", "check", *args, "-c", config)
    assert result.code == 2
    assert message in result.err


def test_check_missing_config_exits_2(cli, tmp_path: Path) -> None:
    result = cli("net", "check", "guests", "services", "443", "-c", str(tmp_path / "nope.yaml"))
    assert result.code == 2
    assert "no such file" in result.err


def test_matrix(cli, config: str) -> None:
    result = cli("net", "matrix", "-c", config)
    assert result.code == 0
    lines = [line for line in result.out.splitlines() if line.startswith("│ internet")]
    assert lines
    assert lines[0].count("none") == 3
    assert "from \\ to" in result.out
    assert "management" in result.out
    assert "local (not" in result.out


# --------------------------------------------------------------------------- net resolve


def test_resolve_a_route_from_a_zone(cli, config: str) -> None:
    result = cli("net", "resolve", "Vault.home.example.com.", "--from", "guests", "-c", config)
    assert result.code == 0
    assert result.out.splitlines() == [
        "vault.home.example.com -> 10.10.10.200 (route of vault via Traefik)",
        "  from guests: resolves (resolver 10.10.10.1 (services) 53/udp allow); "
        "443/tcp allow — rule #1 (network.firewall.rules[0])",
    ]


def test_resolve_the_api_name_everywhere(cli, config: str) -> None:
    result = cli("net", "resolve", "k3s.home.example.com", "--json", "-c", config)
    answers = {a["zone"]: a for a in json.loads(result.out)}
    assert set(answers) == {"services", "guests", "management", "internet"}
    assert {a["address"] for a in answers.values()} == {"10.10.10.10"}
    assert {a["port"] for a in answers.values()} == {6443}
    # guests resolve the API name but may not open it; the LAN names are not on the internet
    assert (answers["guests"]["resolves"], answers["guests"]["reaches"]) == (True, False)
    assert (answers["management"]["resolves"], answers["management"]["reaches"]) == (True, True)
    assert answers["internet"]["resolves"] is False


def test_resolve_a_resolver_the_zone_may_not_ask(cli, write_config: Callable[..., Path]) -> None:
    """A user rule denying DNS comes before the default DNS rule: the name exists, guests cannot ask."""
    deny = {"from": "guests", "to": "services", "protocol": "udp", "ports": [53], "action": "deny"}
    config = str(write_config(rules=[deny]))
    result = cli("net", "resolve", "auth.home.example.com", "--from", "guests", "--json", "-c", config)
    (answer,) = json.loads(result.out)
    assert answer["address"] == "10.10.10.200"
    assert answer["resolvers"] == [{"address": "10.10.10.1", "zone": "services", "action": "deny"}]
    assert (answer["resolves"], answer["reaches"]) == (False, False)
    result = cli("net", "resolve", "auth.home.example.com", "--from", "guests", "-c", config)
    assert "from guests: does not resolve — resolver 10.10.10.1 (services) 53/udp deny" in result.out


def test_resolve_unknown_name_and_zone(cli, config: str) -> None:
    result = cli("net", "resolve", "nothing.home.example.com", "-c", config)
    assert (result.code, result.out.strip()) == (
        0,
        "nothing.home.example.com: no record in this homelab (NXDOMAIN)",
    )
    result = cli("net", "resolve", "auth.home.example.com", "--from", "moon", "-c", config)
    assert result.code == 2
    assert "unknown zone 'moon'" in result.err
