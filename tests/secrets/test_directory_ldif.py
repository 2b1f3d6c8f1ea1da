"""The LDIF backup format and the import plan, as data (no server)."""

from __future__ import annotations

import pytest

from homelabeazy.lifecycle.directory_ldif import (
    InvalidBackupError,
    RawEntry,
    describe,
    dn_key,
    parse_ldif,
    plan_import,
    write_ldif,
)

BASE = "dc=home,dc=example,dc=com"


def entry(dn: str, **attributes: bytes | tuple[bytes, ...]) -> RawEntry:
    return RawEntry(dn, {k: v if isinstance(v, tuple) else (v,) for k, v in attributes.items()})


TREE = (
    entry(f"uid=zed,ou=people,{BASE}", objectClass=(b"top", b"inetOrgPerson"), uid=b"zed", cn=b"Z", sn=b"Z"),
    entry(f"ou=people,{BASE}", objectClass=(b"top", b"organizationalUnit"), ou=b"people"),
    entry(BASE, objectClass=(b"top", b"dcObject", b"organization"), dc=b"home", o=b"Home"),
    entry(
        f"uid=amy,ou=people,{BASE}",
        objectClass=(b"inetOrgPerson", b"top"),
        uid=b"amy",
        cn="Zoë Ümlaut".encode(),
        sn=b"trailing space ",
        jpegPhoto=bytes(range(256)),
        userPassword=b"{SSHA}c2FsdGVkaGFzaA==",
    ),
    entry(f"cn=a+uid=b,ou=people,{BASE}", objectClass=b"inetOrgPerson", cn=b"a", uid=b"b", sn=b"b"),
)


def test_round_trip_keeps_every_value_byte_for_byte() -> None:
    parsed = parse_ldif(write_ldif(TREE, BASE), BASE, "t")
    assert {e.dn: e.normalised() for e in parsed} == {e.dn: e.normalised() for e in TREE}


def test_output_is_deterministic_and_parents_come_first() -> None:
    data = write_ldif(TREE, BASE)
    assert data == write_ldif(reversed(TREE), BASE)
    dns = [line[4:] for line in data.decode().splitlines() if line.startswith("dn: ")]
    assert dns == [
        BASE,
        f"ou=people,{BASE}",
        f"cn=a+uid=b,ou=people,{BASE}",
        f"uid=amy,ou=people,{BASE}",
        f"uid=zed,ou=people,{BASE}",
    ]
    assert data.endswith(b"\n# homelab users export: 5 entries\n")


def test_operational_attributes_are_neither_written_nor_compared() -> None:
    stamped = entry(BASE, objectClass=b"top", dc=b"home", entryUUID=b"1234", modifyTimestamp=b"2026")
    assert b"entryUUID" not in write_ldif((stamped,), BASE)
    assert plan_import((stamped,), (entry(BASE, objectClass=b"top", dc=b"home"),)).empty


def test_dn_key_is_case_and_space_insensitive() -> None:
    assert dn_key("UID=Amy, OU=People,DC=home,dc=Example,dc=com") == dn_key(f"uid=amy,ou=people,{BASE}")
    assert dn_key(f"uid=b+cn=a,{BASE}") == dn_key(f"cn=a+uid=b,{BASE}")


GOOD = write_ldif(TREE, BASE).decode()


@pytest.mark.parametrize(
    ("case", "text", "problem"),
    [
        ("no-trailer", GOOD.rsplit("# homelab", 1)[0], "its last line is not"),
        ("count-off", GOOD.replace("export: 5 entries", "export: 6 entries"), "holds 5 entries but says 6"),
        ("outside-base", GOOD.replace(f"dn: uid=zed,ou=people,{BASE}", "dn: uid=zed,dc=other"), "not under"),
        ("orphan", GOOD.replace(f"dn: uid=zed,ou=people,{BASE}", f"dn: uid=zed,ou=x,{BASE}"), "parent"),
        ("twice", GOOD.replace(f"dn: uid=zed,ou=people,{BASE}", f"dn: uid=amy,ou=people,{BASE}"), "twice"),
        ("no-colon", GOOD.replace("ou: people", "ou people"), "LDIF error"),
        ("bad-dn", GOOD.replace(f"dn: uid=zed,ou=people,{BASE}", "dn: ===="), "distinguished name"),
        ("nothing", "# homelab users export: 0 entries\n", "no entry"),
    ],
)
def test_a_bad_backup_is_refused_with_the_reason(case: str, text: str, problem: str) -> None:
    with pytest.raises(InvalidBackupError) as caught:
        parse_ldif(text.encode(), BASE, f"{case}.ldif")
    assert str(caught.value).startswith(f"{case}.ldif: not a usable directory backup: ")
    assert problem in str(caught.value)


def test_plan_adds_missing_replaces_differing_and_keeps_extras() -> None:
    live = (
        entry(BASE.upper(), objectclass=(b"organization", b"top", b"dcObject"), DC=b"home", o=b"Home"),
        entry(f"ou=people,{BASE}", objectClass=(b"top", b"organizationalUnit"), ou=b"people"),
        entry(
            f"uid=zed,ou=people,{BASE}", objectClass=(b"top", b"inetOrgPerson"), uid=b"zed", cn=b"Z", sn=b"X"
        ),
        entry(f"uid=old,ou=people,{BASE}", objectClass=b"inetOrgPerson", uid=b"old"),
    )
    plan = plan_import(TREE, live)
    assert [e.dn for e in plan.add] == [f"cn=a+uid=b,ou=people,{BASE}", f"uid=amy,ou=people,{BASE}"]
    assert [(c.dn, dict(c.replace)) for c in plan.change] == [(f"uid=zed,ou=people,{BASE}", {"sn": (b"Z",)})]
    assert plan.delete == ()
    assert f"replace sn on uid=zed,ou=people,{BASE}" in describe(plan)


def test_an_attribute_missing_from_the_backup_is_removed_and_prune_deletes_deepest_first() -> None:
    zed = f"uid=zed,ou=people,{BASE}"
    live = (
        *(e for e in TREE if e.dn != zed),
        entry(zed, objectClass=(b"top", b"inetOrgPerson"), uid=b"zed", cn=b"Z", sn=b"Z", mail=b"m"),
        entry(f"ou=extra,{BASE}", objectClass=b"organizationalUnit", ou=b"extra"),
        entry(f"uid=x,ou=extra,{BASE}", objectClass=b"inetOrgPerson", uid=b"x"),
    )
    plan = plan_import(TREE, live, prune=True)
    assert [(c.dn, dict(c.replace)) for c in plan.change] == [(zed, {"mail": ()})]
    assert plan.delete == (f"uid=x,ou=extra,{BASE}", f"ou=extra,{BASE}")
    assert plan_import(TREE, live).delete == ()


def test_planning_against_the_backup_itself_is_empty() -> None:
    plan = plan_import(TREE, tuple(reversed(TREE)), prune=True)
    assert plan.empty
    assert len(plan.unchanged) == len(TREE)
