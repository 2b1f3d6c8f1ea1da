"""Issue 26, "other findings": every string, URL, number and boolean of homelab.yaml held to one rule.

The schema is walked (tests/support/schema_walk.py), so a field added later without its rule fails
here: every string is a pattern, a URL, free text, a host or a range; every URL-ish field carries
the one URL rule; every number and boolean is strict; every pattern refuses a trailing newline and
non-ASCII digits, and has its own words in error messages.
"""

from __future__ import annotations

import json
import re
import unicodedata
from ipaddress import IPv4Address
from typing import Annotated

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import StringConstraints, TypeAdapter, ValidationError

from homelabeazy.checks import load_config
from homelabeazy.config.schema import HomelabConfig, Section
from homelabeazy.config.schema.fields import (
    DNS_LABEL,
    MAX_DNS_NAME,
    PATTERN_WORDS,
    FreeText,
    HostName,
    UrlRule,
    text_problem,
    url_rule,
)
from homelabeazy.config.starter import example_text
from homelabeazy.errors import ConfigError
from tests.support.schema_walk import Leaf, leaves, patterns, validators

LEAVES = list(leaves())
ASCII = st.characters(codec="ascii")
STRINGS = [leaf for leaf in LEAVES if leaf.kind is str]

CHECKED_ELSEWHERE = {
    "ansible.collections{key}": "the mapping's validator refuses every name but the known collections",
    "ci.actions{key}": "the mapping's validator refuses every action the rendered workflows do not use",
    "cluster.ssh.public_keys[]": "the ssh-keys check parses each key and refuses control characters",
}
"""String slots without a rule of their own, and what holds them instead."""


def _is_helm_values(leaf: Leaf) -> bool:
    return leaf.path.endswith("values{key}")  # Helm's own keys: the outcomes and the writer judge them


def _rules(leaf: Leaf) -> list[str]:
    found = [f"pattern {p}" for p in patterns(leaf)]
    for func in validators(leaf):
        found.append(type(func).__name__ if isinstance(func, UrlRule) else func.__name__)
    return found


def test_every_string_field_has_a_rule() -> None:
    """A string reaching a rendered file is a pattern, a URL, free text, a host, a range or a key."""
    bare = [
        leaf.path
        for leaf in STRINGS
        if not _rules(leaf) and not _is_helm_values(leaf) and leaf.path not in CHECKED_ELSEWHERE
    ]
    assert not bare, f"string fields with no rule: {bare}"


URLISH = re.compile(r"(^|_)(url|endpoint|server|repo)$")


def _looks_like_a_url(leaf: Leaf) -> bool:
    doc = (leaf.model.model_fields[_field_key(leaf)].description or "") if leaf.model else ""
    return bool(URLISH.search(leaf.name)) or "URL" in doc


def _field_key(leaf: Leaf) -> str:
    assert leaf.model is not None
    return next(n for n, info in leaf.model.model_fields.items() if leaf.name in (n, info.alias))


def test_every_url_field_carries_the_one_url_rule() -> None:
    urlish = [leaf for leaf in STRINGS if _looks_like_a_url(leaf)]
    assert len(urlish) >= 9, [leaf.path for leaf in urlish]  # the walk found the URL fields
    missing = [leaf.path for leaf in urlish if url_rule(list(leaf.metadata)) is None]
    assert not missing, f"URL fields without the URL rule: {missing}"
    # ... and no URL field is also held to an older pattern of its own
    assert not [leaf.path for leaf in urlish if patterns(leaf)]


def test_every_number_and_boolean_is_strict() -> None:
    """`ports: [true]` was port 1: an int or bool field takes only a YAML number or boolean."""
    models = {leaf.model for leaf in LEAVES if leaf.model is not None}
    assert all(m.model_config.get("strict") is True for m in models), [
        m.__name__ for m in models if not m.model_config.get("strict")
    ]
    lax = [
        leaf.path
        for leaf in LEAVES
        if leaf.kind in (int, bool) and any(getattr(m, "strict", None) is False for m in leaf.metadata)
    ]
    assert not lax, lax


def test_every_pattern_has_its_own_words() -> None:
    used = {p for leaf in STRINGS for p in patterns(leaf)}
    assert used <= set(PATTERN_WORDS), sorted(used - set(PATTERN_WORDS))
    # "must be a DNS label" was once what every unknown pattern said: only the label pattern says it now
    assert [p for p, words in PATTERN_WORDS.items() if "DNS label" in words] == [DNS_LABEL]


def test_no_pattern_uses_unicode_digit_classes() -> None:
    """`\\d` matches ٣ (Arabic-Indic three) in pydantic's engine and in Python's: `[0-9]` instead."""
    assert not [p for p in PATTERN_WORDS if "\\d" in p or "\\s" in p or "\\S" in p]


@pytest.mark.parametrize("regex", sorted(PATTERN_WORDS))
def test_pattern_refuses_a_trailing_newline_and_foreign_digits(regex: str) -> None:
    """Whatever the pattern takes, it takes exactly: not with `\\n` after it, not with ٣ for 3."""
    adapter = TypeAdapter(Annotated[str, StringConstraints(pattern=regex)])

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.from_regex(regex.removeprefix("^").removesuffix("$"), fullmatch=True, alphabet=ASCII))
    def check(value: str) -> None:
        assert adapter.validate_python(value) == value  # pydantic agrees with Python's fullmatch
        for bad in (value + "\n", value + "\r\n", "\n" + value):
            with pytest.raises(ValidationError):
                adapter.validate_python(bad)
        if any(c.isdigit() for c in value):
            foreign = "".join(chr(0x0660 + int(c)) if c.isdigit() else c for c in value)
            with pytest.raises(ValidationError):
                adapter.validate_python(foreign)

    check()


# --------------------------------------------------------------------------- URLs, one rule


URL_FIELDS = {
    "gitops.repo_url": "https://{}github.com/me/lab.git",
    "proxmox.endpoint": "https://{}10.10.30.2:8006/",
    "proxmox.image.url": "https://{}cloud.debian.org/images/debian-12-genericcloud-amd64.qcow2",
    "proxmox.state_backend.endpoint": "https://{}minio.example.com",
    "services.velero.target.s3_url": "https://{}minio.example.com:9000",
    "services.cert_manager.acme.server": "https://{}acme.example.com/directory",
    "services.monitoring.notify.ntfy.server": "https://{}ntfy.example.com",
    "services.monitoring.notify.webhook.url": "https://{}hooks.example.com/alert",
    "apps[].chart.repo": "https://{}charts.example.com",
}


def _url_leaf(path: str) -> Leaf:
    return next(leaf for leaf in STRINGS if leaf.path == path)


@pytest.mark.parametrize("path", sorted(URL_FIELDS))
@pytest.mark.parametrize("userinfo", ["bob:s3cret@", "ghp_t0ken@", ":s3cret@", "bob:@"])
def test_credentials_are_refused_in_every_url_field(path: str, userinfo: str) -> None:
    rule = url_rule(list(_url_leaf(path).metadata))
    assert rule is not None
    good = URL_FIELDS[path].format("")
    assert rule.problem(good) is None, rule.problem(good)
    bad = URL_FIELDS[path].format(userinfo)
    problem = rule.problem(bad)
    assert problem is not None
    assert "credentials" in problem
    assert "s3cret" not in problem
    assert "t0ken" not in problem


def test_oci_chart_repositories_are_held_to_the_rule_too() -> None:
    rule = url_rule(list(_url_leaf("apps[].chart.repo").metadata))
    assert rule is not None
    assert rule.problem("oci://ghcr.io/me/charts") is None
    assert "credentials" in (rule.problem("oci://me:pat@ghcr.io/me/charts") or "")
    assert "credentials" in (rule.problem("oci://pat@ghcr.io/me/charts") or "")


def test_a_login_is_not_a_credential_for_ssh() -> None:
    rule = url_rule(list(_url_leaf("gitops.repo_url").metadata))
    assert rule is not None
    assert rule.problem("ssh://git@git.example.com/lab.git") is None
    assert rule.problem("git@github.com:me/lab.git") is None
    assert "credentials" in (rule.problem("ssh://git:hunter2@git.example.com/lab.git") or "")
    assert rule.problem("git:pw@github.com:me/lab.git") is not None


@pytest.mark.parametrize(
    "bad",
    [
        "https://example.com/a b",
        "https://example.com/$(reboot)",
        "https://example.com/'x'",
        'https://example.com/"x"',
        "https://example.com/x;y",
        "https://example.com/\nx",
        "https://exa mple.com",
        "https://example.com:0/",
        "https://example.com:99999/",
        "https://example.com/#frag",
        "https:///path",
        "ftp://example.com",
        "https://ex_ample.com",
        "https://" + "a" * 64 + ".com",
    ],
)
def test_a_url_is_only_the_characters_every_consumer_reads_alike(bad: str) -> None:
    rule = url_rule(list(_url_leaf("services.monitoring.notify.webhook.url").metadata))
    assert rule is not None
    assert rule.problem(bad) is not None, bad


# --------------------------------------------------------------------------- whole files


def _errors(old: str, new: str) -> list[str]:
    text = example_text()
    assert old in text, old
    try:
        load_config(text.replace(old, new, 1), file="homelab.yaml")
    except ConfigError as exc:
        return [p.format() for p in exc.problems if p.severity == "error"]
    return []


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (
            "    organisation: Example Homelab\n",
            '    organisation: "Example\\n\\ndn: cn=evil,dc=home,dc=example,dc=com\\nobjectClass: person"\n',
            "services.openldap.organisation",
        ),
        (
            "    organisation: Example Homelab\n",
            '    organisation: "Example\\e[31m Homelab"\n',
            "organisation",
        ),
        (
            "    organisation: Example Homelab\n",
            '    organisation: "Example \\u202e Homelab"\n',
            "organisation",
        ),
        ("    organisation: Example Homelab\n", '    organisation: "Example\\0Homelab"\n', "organisation"),
        ("    organisation: Example Homelab\n", '    organisation: "Example\\rHomelab"\n', "organisation"),
        ("    organisation: Example Homelab\n", '    organisation: " Example"\n', "organisation"),
    ],
)
def test_free_text_with_control_characters_is_refused(old: str, new: str, where: str) -> None:
    found = _errors(old, new)
    assert any(where in line for line in found), found


def test_a_host_ending_in_a_newline_is_refused() -> None:
    found = _errors("    host: whoami\n", '    host: "whoami\\n"\n')
    assert any("apps[0].host" in line for line in found), found


def test_a_host_over_253_characters_is_refused() -> None:
    at_limit = ".".join(["a" * 63] * 3 + ["a" * 61])
    assert len(at_limit) == MAX_DNS_NAME
    assert TypeAdapter(HostName).validate_python(at_limit) == at_limit
    with pytest.raises(ValidationError):
        TypeAdapter(HostName).validate_python(at_limit + "a")


@pytest.mark.parametrize(
    "version", ["v1.\u0663\u0663.5+k3s1", "v1.33.5+k3s1\n", "v1.30000000.1+k3s1", "v1.33.5+k3s" + "9" * 5000]
)
def test_k3s_versions_are_ascii_and_bounded(version: str) -> None:
    found = _errors("k3s_version: v1.33.5+k3s1", f"k3s_version: {json.dumps(version)}")
    assert any("cluster.k3s_version" in line and "K3s release" in line for line in found), found


def test_ports_true_is_not_port_one() -> None:
    found = _errors("ports: [443]", "ports: [true]")
    assert any("ports[0]: true must be a port" in line for line in found), found


def test_a_free_text_region_is_refused() -> None:
    found = _errors("region: us-east-1", "region: eu central 1")
    assert any("services.velero.target.region" in line and "region name" in line for line in found), found


@pytest.mark.parametrize(
    ("old", "new", "where", "words"),
    [
        ("email: alice@home.example.com", "email: alice", "users[0].email", "e-mail address"),
        ("s3_url: https://minio.home.example.com", "s3_url: minio.home.example.com", "s3_url", "URL"),
        (
            "repo_url: https://github.com/example/homelab.git",
            "repo_url: github.com/x",
            "gitops.repo_url",
            "URL",
        ),
        ("repo: https://jameswynn.github.io/helm-charts", "repo: charts", "apps[1].chart.repo", "URL"),
    ],
)
def test_pattern_errors_say_what_the_value_must_be(old: str, new: str, where: str, words: str) -> None:
    found = _errors(old, new)
    assert any(where in line and words in line for line in found), found
    assert not any("DNS label" in line for line in found), found


# --------------------------------------------------------------------------- free text


@given(st.text(max_size=40))
def test_free_text_takes_exactly_the_printable_one_liners(value: str) -> None:
    problem = text_problem(value)
    bad = [
        c
        for c in value
        if unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp")
        or (unicodedata.category(c) == "Cf" and c not in "\u200c\u200d")
    ]
    assert (problem is None) == (not bad and value == value.strip())
    if problem is None and len(value) <= 256:
        assert TypeAdapter(FreeText).validate_python(value) == value


def test_ipv4_addresses_are_written_as_text() -> None:
    found = _errors("vip: 10.10.10.10", "vip: 168430090")
    assert any("cluster.vip" in line and "address" in line for line in found), found


def test_the_example_still_validates() -> None:
    config = load_config(example_text(), file="homelab.yaml").config
    assert isinstance(config, HomelabConfig)
    assert isinstance(config.cluster.vip, IPv4Address)
    assert issubclass(HomelabConfig, Section)
