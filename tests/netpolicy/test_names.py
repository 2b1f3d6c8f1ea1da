"""`homelab net resolve`'s answer (netpolicy/names.py): a name resolves from a zone only through a
resolver INSIDE the homelab that the zone may ask; it is reached only when it resolves and its port
is open. A public resolver never counts, however open: the LAN names are not published.

Each rule has a case on each side, both from hand-made verdicts (the rule alone) and from the real
policy of the example with a public resolver listed after pfSense.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address

import pytest

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.model import Homelab, build
from homelabeazy.model.homelab import DnsRecord
from homelabeazy.netpolicy import compile_policy, policy_for_homelab
from homelabeazy.netpolicy.decide import Verdict
from homelabeazy.netpolicy.names import NameAnswer, answer, lookup
from homelabeazy.netpolicy.policy import INTERNET

RECORD = DnsRecord("vault.home.example.com", IPv4Address("10.10.10.200"), "route of vault", 443, "route")
LAN = IPv4Address("10.10.10.1")
PUBLIC = IPv4Address("1.1.1.1")
ALLOW = Verdict("allow", None, "test")
DENY = Verdict("deny", None, "test")


def _answer(
    resolvers: list[tuple[IPv4Address, str, Verdict]],
    service: Verdict | None = ALLOW,
    record: DnsRecord | None = RECORD,
) -> NameAnswer:
    return NameAnswer("vault.home.example.com", "guests", record, tuple(resolvers), service)


# --- the rule alone -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resolvers", "resolves"),
    [
        ([(LAN, "services", ALLOW)], True),
        ([(LAN, "management", ALLOW)], True),
        ([(LAN, "services", DENY)], False),
        # the zone filter: an open public resolver does not know the LAN's names
        ([(PUBLIC, INTERNET, ALLOW)], False),
        ([(LAN, "services", DENY), (PUBLIC, INTERNET, ALLOW)], False),
        ([(PUBLIC, INTERNET, ALLOW), (LAN, "services", ALLOW)], True),
        ([(LAN, "services", ALLOW), (PUBLIC, INTERNET, DENY)], True),
        ([(LAN, "services", DENY), (IPv4Address("10.10.20.1"), "guests", ALLOW)], True),
        ([], False),
    ],
    ids=[
        "lan-allowed",
        "lan-in-another-zone",
        "lan-denied",
        "only-public",
        "lan-denied-public-open",
        "public-first-lan-open",
        "lan-open-public-denied",
        "second-lan-resolver",
        "no-resolver",
    ],
)
def test_resolves_only_through_a_homelab_resolver(
    resolvers: list[tuple[IPv4Address, str, Verdict]], resolves: bool
) -> None:
    assert _answer(resolvers).resolves is resolves


def test_no_record_never_resolves_nor_reaches() -> None:
    nxdomain = _answer([(LAN, "services", ALLOW)], service=None, record=None)
    assert (nxdomain.resolves, nxdomain.reaches) == (False, False)


@pytest.mark.parametrize(
    ("resolver", "service", "reaches"),
    [
        (ALLOW, ALLOW, True),
        (ALLOW, DENY, False),
        (ALLOW, None, False),
        (DENY, ALLOW, False),  # the port is open but the name does not resolve
    ],
)
def test_reaches_needs_both_the_name_and_the_port(
    resolver: Verdict, service: Verdict | None, reaches: bool
) -> None:
    assert _answer([(LAN, "services", resolver)], service=service).reaches is reaches


@pytest.mark.parametrize(
    "asked",
    [
        "vault.home.example.com",
        "VAULT.Home.Example.COM",
        "vault.home.example.com.",
        "  vault.home.example.com \n",
    ],
)
def test_lookup_ignores_case_a_trailing_dot_and_spaces(asked: str) -> None:
    assert lookup((RECORD,), asked) is RECORD


@pytest.mark.parametrize(
    "asked",
    ["vault.home.example", "x.vault.home.example.com", "ault.home.example.com", "vault.home.example.co"],
)
def test_lookup_matches_whole_names_only(asked: str) -> None:
    assert lookup((RECORD,), asked) is None


# --- the real policy: the example with a public resolver after pfSense ----------------------------


@pytest.fixture(scope="module")
def with_public_resolver() -> Homelab:
    text = example_text()
    assert "dns_servers: [10.10.10.1]" in text
    return build(
        load_config(text.replace("dns_servers: [10.10.10.1]", "dns_servers: [10.10.10.1, 1.1.1.1]")).config
    )


def _ask(homelab: Homelab) -> Callable[[str, str], NameAnswer]:
    policy = policy_for_homelab(homelab)
    table = compile_policy(policy)
    return lambda name, zone: answer(homelab.dns, policy, table, name, zone)


def test_the_internet_may_ask_the_public_resolver_and_still_does_not_resolve(
    with_public_resolver: Homelab,
) -> None:
    found = _ask(with_public_resolver)("K3S.home.example.com.", INTERNET)
    assert found.name == "k3s.home.example.com"
    assert found.record is not None
    assert found.record.port == 6443
    assert [(str(a), zone, v.action) for a, zone, v in found.resolvers] == [
        ("10.10.10.1", "services", "deny"),
        ("1.1.1.1", "internet", "allow"),
    ]
    assert (found.resolves, found.reaches) == (False, False)


@pytest.mark.parametrize(
    ("zone", "resolves", "reaches"),
    [("services", True, True), ("management", True, True), ("guests", True, False)],
)
def test_each_zone_from_the_policy(
    with_public_resolver: Homelab, zone: str, resolves: bool, reaches: bool
) -> None:
    found = _ask(with_public_resolver)("k3s.home.example.com", zone)
    assert found.zone == zone
    assert [v.action for _, _, v in found.resolvers] == ["allow", "allow"]
    assert (found.resolves, found.reaches) == (resolves, reaches)
    assert found.service is not None
    assert found.service.allowed is reaches


def test_a_name_not_in_the_model_has_no_service_verdict(with_public_resolver: Homelab) -> None:
    found = _ask(with_public_resolver)("nothing.home.example.com", "services")
    assert (found.record, found.service, found.resolves) == (None, None, False)
