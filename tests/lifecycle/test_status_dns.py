"""`homelab status` asks the resolver for every name of the model: a real Unbound on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from homelabeazy.lifecycle.status import StatusClients, StatusTargets, build_probes, exit_code
from homelabeazy.model import Homelab
from homelabeazy.ops.dns import parse_answer
from homelabeazy.ops.probes import ProbeError, Row, run_probes
from homelabeazy.render.dns import UNBOUND
from homelabeazy.render.network import render
from tests.support.resolvers import Resolver

DOMAIN = "home.example.com"


@pytest.fixture
def resolver(tmp_path: Path) -> Iterator[Resolver]:
    with Resolver(tmp_path, DOMAIN) as server:
        yield server


def _dns_rows(homelab: Homelab, port: int) -> dict[str, Row]:
    targets = StatusTargets(dns=("127.0.0.1", port), timeout=3)
    probes = [p for p in build_probes(homelab, targets, StatusClients()) if p.layer == "dns"]
    return {r.name: r for r in run_probes(probes)}


@pytest.mark.integration
def test_every_name_resolves_to_the_model(resolver: Resolver, example_homelab: Homelab) -> None:
    resolver.serve(render(example_homelab)[UNBOUND])
    rows = _dns_rows(example_homelab, resolver.port)
    where = f"127.0.0.1:{resolver.port}"
    assert set(rows) == {r.name for r in example_homelab.dns}
    assert rows["vault.home.example.com"] == Row(
        "dns", "vault.home.example.com", "ok", f"10.10.10.200 from {where}"
    )
    assert rows["k3s.home.example.com"] == Row(
        "dns", "k3s.home.example.com", "ok", f"10.10.10.10 from {where}"
    )
    assert exit_code(list(rows.values())) == 0


@pytest.mark.integration
def test_missing_and_wrong_records_are_reported(resolver: Resolver, example_homelab: Homelab) -> None:
    """The resolver serves a stale include: whoami missing, vault pointing elsewhere."""
    include = render(example_homelab)[UNBOUND]
    stale = "".join(
        line.replace("10.10.10.200", "10.10.10.201") if "vault." in line else line
        for line in include.splitlines(keepends=True)
        if "whoami." not in line
    )
    resolver.serve(stale)
    rows = _dns_rows(example_homelab, resolver.port)
    where = f"127.0.0.1:{resolver.port}"
    assert rows["whoami.home.example.com"] == Row(
        "dns",
        "whoami.home.example.com",
        "down",
        f"NXDOMAIN from {where} (model: 10.10.10.200; "
        "run network/pfsense/playbook.yml or load network/dns/ into it)",
    )
    assert rows["vault.home.example.com"] == Row(
        "dns", "vault.home.example.com", "down", f"10.10.10.201 from {where}, model says 10.10.10.200"
    )
    assert {n for n, r in rows.items() if r.health != "ok"} == {
        "whoami.home.example.com",
        "vault.home.example.com",
    }
    assert exit_code(list(rows.values())) == 1


def test_a_resolver_that_does_not_answer_is_a_row(example_homelab: Homelab) -> None:
    """Nothing listens on the port: every name is one `down` row, never a traceback."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        rows = _dns_rows(example_homelab, port)  # bound but silent: the query times out
    assert {r.health for r in rows.values()} == {"down"}
    assert len(rows) == len(example_homelab.dns)


def test_malformed_answers_are_probe_errors() -> None:
    with pytest.raises(ProbeError, match="shorter than its header"):
        parse_answer(b"\x00\x01", 1)
    with pytest.raises(ProbeError, match="another query"):
        parse_answer(bytes(12), 1)
    # one answer announced, its name cut short
    with pytest.raises(ProbeError, match="truncated"):
        parse_answer(b"\x00\x01\x81\x80\x00\x00\x00\x01\x00\x00\x00\x00\x05ab", 1)
