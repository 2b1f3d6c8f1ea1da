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


# --- each rule on both sides ---------------------------------------------------------------------


def test_digest_ignores_key_order_and_tells_values_apart() -> None:
    """Equal values digest equal however a reader ordered their keys; different values differ."""
    assert value_digest(KEY, {"a": 1, "b": [1, 2]}) == value_digest(KEY, {"b": [1, 2], "a": 1})
    assert value_digest(KEY, {"a": 1}) != value_digest(KEY, {"a": "1"})
    assert value_digest(KEY, ["a", "b"]) != value_digest(KEY, ["b", "a"])
    assert value_digest(KEY, "é") != value_digest(KEY, "e")


def test_a_difference_as_json() -> None:
    found = compare_vault(
        {}, _inventory({"kv/a": {"metadata": {}, "versions": {"1": {"created_time": "t", "data": {}}}}})
    )
    assert [d.as_dict() for d in found] == [
        {"system": "vault", "kind": "extra", "subject": "kv/a", "detail": "1 version"}
    ]


def _record(versions: dict[str, Any], metadata: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": metadata or {}, "versions": versions}


def test_version_counts_are_singular_and_plural() -> None:
    one = _record({"1": {"created_time": "t1", "data": {}}})
    two = _record({"1": {"created_time": "t1", "data": {}}, "2": {"created_time": "t2", "data": {}}})
    found = compare_vault(_inventory({"kv/one": one, "kv/two": two}), {})
    assert [(d.kind, d.subject, d.detail) for d in found] == [
        ("missing", "kv/one", "1 version"),
        ("missing", "kv/two", "2 versions"),
    ]


def test_metadata_absent_is_metadata_empty() -> None:
    """A reader that leaves an empty field out and one that writes "" see the same secret."""
    version = {"1": {"created_time": "t", "data": {}}}
    live = _inventory({"kv/a": _record(version, {"delete_version_after": ""})})
    backup = _inventory({"kv/a": _record(version, {})})
    assert compare_vault(live, backup) == []
    assert compare_vault(backup, live) == []
    changed = _inventory({"kv/a": _record(version, {"delete_version_after": "0s", "max_versions": "3"})})
    [difference] = compare_vault(changed, backup)
    assert (difference.kind, difference.detail) == ("changed", "metadata: max_versions, delete_version_after")


@pytest.mark.parametrize(
    ("backup_version", "detail"),
    [
        ({"created_time": "t2", "data": {"k": "v"}}, "created_time"),
        ({"created_time": "t", "deletion_time": "d", "data": {"k": "v"}}, "deletion_time"),
        ({"created_time": "t", "destroyed": True, "data": {"k": "v"}}, "destroyed"),
        (
            {"created_time": "t2", "destroyed": True, "data": {"k": "w", "n": "x"}},
            "created_time; destroyed; keys extra: n; keys changed: k",
        ),
    ],
)
def test_each_version_field_is_named(backup_version: dict[str, Any], detail: str) -> None:
    live = _inventory({"kv/a": _record({"1": {"created_time": "t", "data": {"k": "v"}}})})
    backup = _inventory({"kv/a": _record({"1": backup_version})})
    [difference] = compare_vault(live, backup)
    assert (difference.system, difference.kind, difference.subject, difference.detail) == (
        "vault",
        "changed",
        "kv/a@v1",
        detail,
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # the comma after an escaped comma separates again: its spaces go
        (r"CN=Smith\, John, DC=X", r"cn=smith\, john,dc=x"),
        (r"cn=a\\, dc=x", r"cn=a\\,dc=x"),  # an escaped backslash does not escape the comma
        ("CN=a = b , DC=x", "cn=a = b,dc=x"),  # a value may hold '=': the first one splits
    ],
)
def test_normalise_dn_edges(given: str, expected: str) -> None:
    assert normalise_dn(given) == expected


def test_directory_differences_come_parents_first() -> None:
    """Not alphabetical (`cn=` sorts before `dc=`): a restore adds parents before children."""
    entries = {
        "cn=admins,ou=groups,dc=x": {"objectClass": ["top", "groupOfNames"], "cn": ["admins"]},
        "ou=groups,dc=x": {"objectClass": ["organizationalUnit"], "ou": ["groups"]},
        "dc=x": {"dc": ["x"]},
    }
    live = directory(entries.items(), KEY)
    found = compare_directory(live, {})
    assert [(d.system, d.kind, d.subject, d.detail) for d in found] == [
        ("ldap", "missing", "dc=x", "1 attributes"),
        ("ldap", "missing", "ou=groups,dc=x", "objectClass organizationalUnit"),
        ("ldap", "missing", "cn=admins,ou=groups,dc=x", "objectClass groupOfNames"),
    ]
    assert [(d.system, d.kind) for d in compare_directory({}, live)] == [("ldap", "extra")] * 3
    changed = directory([("dc=x", {"dc": ["y"]})], KEY)
    assert [(d.system, d.kind, d.detail) for d in compare_directory(live | changed, live)] == [
        ("ldap", "changed", "attributes changed: dc")
    ]
