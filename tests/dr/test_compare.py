"""The drill's comparison core, one JSON case per situation (live, backup, the exact differences)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from homelabeazy.lifecycle.dr.compare import (
    SecretRecord,
    SecretVersion,
    compare_directory,
    compare_vault,
    directory,
    normalise_dn,
    value_digest,
)

CASES = Path(__file__).parent / "compare_cases"
KEY = b"k" * 32


def _inventory(raw: dict[str, Any]) -> dict[str, SecretRecord]:
    return {
        path: SecretRecord(
            metadata=record["metadata"],
            versions={
                int(n): SecretVersion(
                    created_time=v["created_time"],
                    deletion_time=v.get("deletion_time", ""),
                    destroyed=v.get("destroyed", False),
                    data={k: value_digest(KEY, val) for k, val in v["data"].items()},
                )
                for n, v in record["versions"].items()
            },
        )
        for path, record in raw.items()
    }


def _cases(prefix: str) -> list[Any]:
    files = sorted(CASES.glob(f"{prefix}-*.json"))
    return [pytest.param(json.loads(p.read_text()), id=p.stem) for p in files]


@pytest.mark.parametrize("case", _cases("vault"))
def test_vault_cases(case: dict[str, Any]) -> None:
    found = compare_vault(_inventory(case["live"]), _inventory(case["backup"]))
    assert [[d.kind, d.subject, d.detail] for d in found] == case["expected"]
    assert all(d.system == "vault" for d in found)


@pytest.mark.parametrize("case", _cases("ldap"))
def test_ldap_cases(case: dict[str, Any]) -> None:
    found = compare_directory(directory(case["live"].items(), KEY), directory(case["backup"].items(), KEY))
    expected = [[k, normalise_dn(s), d] for k, s, d in case["expected"]]
    assert [[d.kind, d.subject, d.detail] for d in found] == expected


def test_no_value_reaches_a_report() -> None:
    """Secret values and password hashes never appear in a difference, only names."""
    live = json.loads((CASES / "vault-data-changed.json").read_text())
    found = compare_vault(_inventory(live["live"]), _inventory(live["backup"]))
    ldap = json.loads((CASES / "ldap-attributes-changed.json").read_text())
    found += compare_directory(directory(ldap["live"].items(), KEY), directory(ldap["backup"].items(), KEY))
    text = json.dumps([d.as_dict() for d in found])
    for value in ("other", "p2", "{SSHA}aaaa", "{SSHA}bbbb", "alice@example.com"):
        assert value not in text


def test_password_hashes_are_digested_in_memory() -> None:
    snap = directory([("uid=a,dc=x", {"userPassword": ["{SSHA}secret"], "cn": ["A"]})], KEY)
    assert snap["uid=a,dc=x"]["cn"] == ("A",)
    assert "{SSHA}secret" not in json.dumps(snap)


def test_digest_is_keyed() -> None:
    assert value_digest(KEY, "x") == value_digest(KEY, "x")
    assert value_digest(KEY, "x") != value_digest(b"other", "x")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("UID=Alice, OU=People,DC=x", "uid=alice,ou=people,dc=x"),
        (r"cn=Smith\, John,dc=x", r"cn=smith\, john,dc=x"),
    ],
)
def test_normalise_dn(given: str, expected: str) -> None:
    assert normalise_dn(given) == expected
