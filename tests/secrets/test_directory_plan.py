"""The pure half of `homelab users`: entries from the model, the LDIF, Authelia's filters, the plan."""

from __future__ import annotations

import base64
from dataclasses import replace

from homelabeazy.config.schema import GroupConfig, UserConfig
from homelabeazy.lifecycle import directory
from homelabeazy.model import Homelab
from homelabeazy.model.ldif_text import ldif_line
from homelabeazy.ops.ldap import LdapEntry, ssha

BASE = "dc=home,dc=example,dc=com"


def test_entries_follow_the_model_layout_parents_first(example_homelab: Homelab) -> None:
    entries = directory.directory_entries(example_homelab)
    dns = [e.dn for e in entries]
    assert dns == [
        BASE,
        f"ou=people,{BASE}",
        f"ou=groups,{BASE}",
        f"ou=services,{BASE}",
        f"cn=authelia,ou=services,{BASE}",
        f"uid=alice,ou=people,{BASE}",
        f"uid=bob,ou=people,{BASE}",
        f"cn=admins,ou=groups,{BASE}",
        f"cn=users,ou=groups,{BASE}",
    ]
    for i, dn in enumerate(dns):
        parent = dn.split(",", 1)[1] if i else None
        assert parent is None or parent in dns[:i], dn
    by_dn = {e.dn: e for e in entries}
    alice = by_dn[f"uid=alice,ou=people,{BASE}"]
    assert "inetOrgPerson" in alice.values("objectClass")
    assert alice.first("mail") == "alice@home.example.com"
    assert alice.first("sn") == "Admin"
    assert by_dn[f"cn=users,ou=groups,{BASE}"].values("member") == (
        f"uid=alice,ou=people,{BASE}",
        f"uid=bob,ou=people,{BASE}",
    )
    assert by_dn[BASE].first("o") == "Example Homelab"
    assert not any(e.values("userPassword") for e in entries), "no password in the model's entries"


def test_an_empty_group_holds_the_placeholder(example_homelab: Homelab) -> None:
    homelab = replace(example_homelab, groups=(*example_homelab.groups, GroupConfig(name="guests")))
    guests = directory.directory_entries(homelab)[-1]
    assert guests.values("member") == (BASE,)


def test_ldif_is_deterministic_password_free_and_encodes_non_ascii(example_homelab: Homelab) -> None:
    user = UserConfig(username="zoe", display_name="Zoë Ünal", email="zoe@home.example.com", groups=["users"])
    homelab = replace(example_homelab, users=(*example_homelab.users, user))
    ldif = directory.render_ldif(directory.directory_entries(homelab))
    assert ldif == directory.render_ldif(directory.directory_entries(homelab))
    assert ldif.startswith("version: 1\n\ndn: dc=home,dc=example,dc=com\n")
    assert "userPassword" not in ldif
    assert "cn=authelia" not in ldif, "the password-bearing service account is created by bootstrap"
    encoded = base64.b64encode("Zoë Ünal".encode()).decode()
    assert f"cn:: {encoded}" in ldif
    assert "uid: zoe" in ldif


def test_ldif_base64_rules() -> None:
    assert ldif_line("cn", "plain") == "cn: plain"
    for unsafe in (" leading", "trailing ", ":colon", "<angle", "new\nline", ""):
        line = ldif_line("cn", unsafe)
        assert line.startswith("cn:: ")
        assert base64.b64decode(line[5:]).decode() == unsafe


def test_authelia_filters_substitute_the_placeholders(example_homelab: Homelab) -> None:
    layout = example_homelab.ldap
    assert directory.authelia_users_filter(layout, "alice") == "(&(uid=alice)(objectClass=inetOrgPerson))"
    assert (
        directory.authelia_groups_filter(layout, f"uid=alice,ou=people,{BASE}")
        == f"(&(member=uid=alice,ou=people,{BASE})(objectClass=groupOfNames))"
    )
    hostile = directory.authelia_users_filter(layout, "*)(uid=*")
    assert hostile == r"(&(uid=\2a\29\28uid=\2a)(objectClass=inetOrgPerson))"


def test_plan_adds_missing_entries_and_members_never_removes() -> None:
    layout_users = (
        LdapEntry("ou=people," + BASE, {"objectClass": ("organizationalUnit",)}),
        LdapEntry("uid=a,ou=people," + BASE, {"objectClass": ("inetOrgPerson",)}),
        LdapEntry(
            "cn=g,ou=groups," + BASE,
            {"objectClass": ("groupOfNames",), "member": ("uid=a,ou=people," + BASE,)},
        ),
    )
    existing = {
        "OU=People," + BASE: LdapEntry("OU=People," + BASE, {}),
        "cn=g,ou=groups," + BASE: LdapEntry(
            "cn=g,ou=groups," + BASE, {"member": ("uid=manual,ou=people," + BASE,)}
        ),
    }
    plan = directory.plan_bootstrap(layout_users, existing, frozenset({"uid=a,ou=people," + BASE}))
    assert [e.dn for e in plan.add] == ["uid=a,ou=people," + BASE]
    assert plan.add_members == (("cn=g,ou=groups," + BASE, ("uid=a,ou=people," + BASE,)),)
    assert plan.set_password == ()


def test_plan_sets_the_initial_password_only_where_none_is_stored() -> None:
    user = LdapEntry("uid=a,ou=people," + BASE, {"objectClass": ("inetOrgPerson",)})
    without = {user.dn: LdapEntry(user.dn, {"objectClass": ("inetOrgPerson",)})}
    with_pw = {user.dn: LdapEntry(user.dn, {"userPassword": ("{SSHA}xyz",)})}
    accounts = frozenset({user.dn.lower()})
    assert directory.plan_bootstrap((user,), without, accounts).set_password == (user.dn,)
    assert directory.plan_bootstrap((user,), with_pw, accounts).set_password == ()


def test_ssha_is_salted_sha1_of_the_password() -> None:
    import hashlib

    first, second = ssha("pw-123"), ssha("pw-123")
    assert first != second, "salted"
    raw = base64.b64decode(first.removeprefix("{SSHA}"))
    digest, salt = raw[:20], raw[20:]
    assert hashlib.sha1(b"pw-123" + salt).digest() == digest
    assert "pw-123" not in first


def test_no_authelia_account_when_authelia_is_disabled(example_homelab: Homelab) -> None:
    services = tuple(s for s in example_homelab.services if s.name != "authelia")
    homelab = replace(example_homelab, services=services)
    dns = [e.dn for e in directory.directory_entries(homelab)]
    assert f"cn=authelia,ou=services,{BASE}" not in dns
    assert f"ou=services,{BASE}" in dns
