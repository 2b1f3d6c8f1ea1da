"""The LDAP directory of the homelab: entries from the model (pure), the LDIF, and the executor.

The layout (`homelab.ldap`) is the one Authelia's settings are rendered from, so a user created
here is exactly what Authelia's users filter finds, and a group membership here is what its groups
filter returns. Passwords enter LDAP only as hashes: `{SSHA}` at creation, and through the
Password Modify extended operation (slapd hashes) on change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ldap3 import MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.lifecycle.secrets import generate_value
from homelabeazy.model import Homelab
from homelabeazy.model.identity import LdapLayout
from homelabeazy.model.ldif_text import ldif_record
from homelabeazy.ops.ldap import LdapAdapter, LdapEntry, ssha
from homelabeazy.ops.vault import VaultAdapter

AUTHELIA_SECRET = "authelia/ldap"  # noqa: S105 - a Vault path, not a secret
ADMIN_SECRET = "openldap/admin"  # noqa: S105 - a Vault path, not a secret


# ---------------------------------------------------------------------------- entries (pure)


def user_dn(layout: LdapLayout, username: str) -> str:
    """uid=<username>,ou=people,..."""
    return f"{layout.username_attribute}={escape_rdn(username)},{layout.people_dn}"


def group_dn(layout: LdapLayout, name: str) -> str:
    """cn=<group>,ou=groups,..."""
    return f"{layout.group_name_attribute}={escape_rdn(name)},{layout.groups_dn}"


def placeholder_member(layout: LdapLayout) -> str:
    """groupOfNames must have a member; an empty group holds the base DN, which no filter matches
    as a person."""
    return layout.base_dn


def user_entry(layout: LdapLayout, username: str, display_name: str, email: str) -> LdapEntry:
    """An inetOrgPerson under ou=people (sn is mandatory: the last word of the name)."""
    return LdapEntry(
        user_dn(layout, username),
        {
            "objectClass": ("top", "person", "organizationalPerson", "inetOrgPerson"),
            layout.username_attribute: (username,),
            layout.display_name_attribute: (display_name,),
            "sn": (display_name.rsplit(maxsplit=1)[-1],),
            "displayName": (display_name,),
            layout.mail_attribute: (email,),
        },
    )


def group_entry(layout: LdapLayout, name: str, description: str, members: list[str]) -> LdapEntry:
    """A groupOfNames under ou=groups."""
    attributes: dict[str, tuple[str, ...]] = {
        "objectClass": ("top", "groupOfNames"),
        layout.group_name_attribute: (name,),
        layout.member_attribute: tuple(members) or (placeholder_member(layout),),
    }
    if description:
        attributes["description"] = (description,)
    return LdapEntry(group_dn(layout, name), attributes)


def directory_entries(homelab: Homelab, organisation: str | None = None) -> tuple[LdapEntry, ...]:
    """Every entry the homelab's directory starts with, parents before children (no passwords)."""
    layout = homelab.ldap
    first_dc = layout.base_dn.split(",")[0].split("=", 1)[1]
    org = organisation or homelab.config.services.openldap.organisation
    entries = [
        LdapEntry(
            layout.base_dn,
            {"objectClass": ("top", "dcObject", "organization"), "dc": (first_dc,), "o": (org,)},
        ),
        *(
            LdapEntry(
                dn, {"objectClass": ("top", "organizationalUnit"), "ou": (dn.split(",")[0].split("=", 1)[1],)}
            )
            for dn in (layout.people_dn, layout.groups_dn, layout.services_dn)
        ),
    ]
    if homelab.enabled("authelia"):
        entries.append(service_entry(layout))
    entries += [user_entry(layout, u.username, u.display_name, u.email) for u in homelab.users]
    for group in homelab.groups:
        members = [user_dn(layout, u.username) for u in homelab.users if group.name in u.groups]
        entries.append(group_entry(layout, group.name, group.description, members))
    return tuple(entries)


def service_entry(layout: LdapLayout) -> LdapEntry:
    """Authelia's read-only bind account under ou=services (its userPassword is added on creation)."""
    rdn = layout.authelia_bind_dn.split(",")[0].split("=", 1)[1]
    return LdapEntry(
        layout.authelia_bind_dn,
        {
            "objectClass": ("top", "organizationalRole", "simpleSecurityObject"),
            "cn": (rdn,),
            "description": ("Authelia bind account (read-only)",),
        },
    )


def render_ldif(entries: tuple[LdapEntry, ...]) -> str:
    """RFC 2849 LDIF of `entries`, deterministic (input order, attribute order as built).

    An LDIF never holds a password, so entries whose schema requires one (the Authelia account,
    a simpleSecurityObject) are left out: `homelab users bootstrap` creates them with their hash.
    """
    blocks = ["version: 1"]
    for entry in entries:
        if "simpleSecurityObject" in entry.values("objectClass"):
            continue
        blocks.append(
            ldif_record(
                entry.dn, ((name, value) for name, values in entry.attributes.items() for value in values)
            )
        )
    return "\n\n".join(blocks) + "\n"


# ---------------------------------------------------------------------------- Authelia's filters


def authelia_users_filter(layout: LdapLayout, login: str) -> str:
    """The users filter as Authelia runs it for a login name (placeholders substituted, input escaped)."""
    return layout.users_filter.replace("{username_attribute}", layout.username_attribute).replace(
        "{input}", escape_filter_chars(login)
    )


def authelia_groups_filter(layout: LdapLayout, dn: str) -> str:
    """The groups filter as Authelia runs it for a user's DN."""
    return layout.groups_filter.replace("{dn}", escape_filter_chars(dn))


# ---------------------------------------------------------------------------- plan (pure)


@dataclass(frozen=True)
class BootstrapPlan:
    """Entries to add, members to add to existing groups, accounts still without a password.

    Nothing is ever removed, and an existing password is never replaced.
    """

    add: tuple[LdapEntry, ...]
    add_members: tuple[tuple[str, tuple[str, ...]], ...]
    set_password: tuple[str, ...] = ()


def plan_bootstrap(
    wanted: tuple[LdapEntry, ...], existing: Mapping[str, LdapEntry], accounts: frozenset[str] = frozenset()
) -> BootstrapPlan:
    """Compare by DN (case-insensitive, as LDAP does); users added by hand stay untouched.

    `accounts` are the DNs (lower case) that need a password: an existing one without
    `userPassword` (loaded from the LDIF, say) gets its initial password.
    """
    have = {dn.lower(): entry for dn, entry in existing.items()}
    add, members, passwords = [], [], []
    for entry in wanted:
        current = have.get(entry.dn.lower())
        if current is None:
            add.append(entry)
            continue
        if entry.dn.lower() in accounts and not current.values("userPassword"):
            passwords.append(entry.dn)
        if "groupOfNames" in entry.values("objectClass"):
            present = {m.lower() for m in current.values("member")}
            lacking = tuple(m for m in entry.values("member") if m.lower() not in present)
            if lacking:
                members.append((entry.dn, lacking))
    return BootstrapPlan(tuple(add), tuple(members), tuple(passwords))


# ---------------------------------------------------------------------------- executor


@dataclass
class DirectoryReport:
    """What a users command did, safe to print (DNs, never passwords)."""

    done: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass(frozen=True, repr=False)
class DirectoryPasswords:
    """Initial passwords read from Vault; repr hides them."""

    users: Mapping[str, str]
    authelia: str | None

    def __repr__(self) -> str:
        return f"DirectoryPasswords(users={sorted(self.users)}, <hidden>)"


def passwords_from_vault(vault: VaultAdapter, homelab: Homelab) -> DirectoryPasswords:
    """Every initial password `homelab secrets seed` generated; fails before any LDAP change."""
    users = {}
    for user in homelab.users:
        users[user.username] = vault_password(vault, homelab, f"users/{user.username}")
    authelia = vault_password(vault, homelab, AUTHELIA_SECRET) if homelab.enabled("authelia") else None
    return DirectoryPasswords(users, authelia)


def vault_password(vault: VaultAdapter, homelab: Homelab, path: str) -> str:
    """The `password` key at `path`, or a precise error pointing at `homelab secrets seed`."""
    stored = vault.read_secret(homelab.vault_kv_mount, path)
    if stored is None or not stored.data.get("password"):
        raise ExternalSystemError(
            "Vault",
            f"read {homelab.vault_kv_mount}/{path}",
            "no password stored there",
            "run `homelab secrets seed` first",
        )
    return stored.data["password"]


def existing_entries(ldap: LdapAdapter, layout: LdapLayout) -> dict[str, LdapEntry]:
    """Every entry under the base DN that bootstrap could collide with."""
    found = ldap.search(layout.base_dn, "(objectClass=*)", ("objectClass", "member", "userPassword"))
    return {entry.dn: entry for entry in found}


def bootstrap(ldap: LdapAdapter, homelab: Homelab, passwords: DirectoryPasswords) -> DirectoryReport:
    """Create what is missing; give configured accounts without a password their initial one.

    Nothing is removed and no existing person's password is replaced.

    The Authelia account's password is (re)set to Vault's value every time, so `homelab secrets
    rotate authelia/ldap` followed by bootstrap brings the directory in line.
    """
    layout = homelab.ldap
    usernames = {user_dn(layout, u.username).lower(): u.username for u in homelab.users}
    plan = plan_bootstrap(directory_entries(homelab), existing_entries(ldap, layout), frozenset(usernames))
    report = DirectoryReport()
    for entry in plan.add:
        attributes = dict(entry.attributes)
        username = usernames.get(entry.dn.lower())
        if username is not None:
            attributes["userPassword"] = (ssha(passwords.users[username]),)
        elif entry.dn.lower() == layout.authelia_bind_dn.lower() and passwords.authelia:
            attributes["userPassword"] = (ssha(passwords.authelia),)
        ldap.add(LdapEntry(entry.dn, attributes))
        report.done.append(f"added {entry.dn}")
    for dn in plan.set_password:
        ldap.set_password(dn, passwords.users[usernames[dn.lower()]])
        report.done.append(f"set the initial password of {dn} (it had none)")
    for dn, members in plan.add_members:
        ldap.modify(dn, {layout.member_attribute: [(MODIFY_ADD, list(members))]})
        report.done.append(f"added {len(members)} member(s) to {dn}")
    if passwords.authelia and not ldap.can_bind(layout.authelia_bind_dn, passwords.authelia):
        ldap.set_password(layout.authelia_bind_dn, passwords.authelia)
        report.done.append(f"set the password of {layout.authelia_bind_dn} from Vault")
    if not plan.add and not plan.add_members and not plan.set_password:
        report.unchanged.append(f"every entry of {layout.base_dn}")
    return report


@dataclass(frozen=True)
class UserRow:
    """One person as `homelab users list` shows them."""

    username: str
    name: str
    email: str
    groups: tuple[str, ...]


def list_users(ldap: LdapAdapter, layout: LdapLayout) -> list[UserRow]:
    """Every inetOrgPerson under ou=people with the groups naming them, sorted by username."""
    people = ldap.search(layout.people_dn, "(objectClass=inetOrgPerson)")
    groups = ldap.search(
        layout.groups_dn, "(objectClass=groupOfNames)", (layout.group_name_attribute, "member")
    )
    rows = []
    for person in people:
        member_of = tuple(
            sorted(
                g.first(layout.group_name_attribute)
                for g in groups
                if person.dn.lower() in {m.lower() for m in g.values(layout.member_attribute)}
            )
        )
        rows.append(
            UserRow(
                person.first(layout.username_attribute),
                person.first(layout.display_name_attribute),
                person.first(layout.mail_attribute),
                member_of,
            )
        )
    return sorted(rows, key=lambda r: r.username)


def require_user(ldap: LdapAdapter, layout: LdapLayout, username: str) -> str:
    dn = user_dn(layout, username)
    if ldap.read(dn, ("uid",)) is None:
        raise UsageError(f"no user {username!r} in {layout.people_dn}")
    return dn


def _require_groups(ldap: LdapAdapter, layout: LdapLayout, names: tuple[str, ...]) -> dict[str, LdapEntry]:
    found = {}
    for name in names:
        entry = ldap.read(group_dn(layout, name), ("member",))
        if entry is None:
            raise UsageError(f"no group {name!r} in {layout.groups_dn}")
        found[name] = entry
    return found


def check_new_user(ldap: LdapAdapter, layout: LdapLayout, user: LdapEntry, groups: tuple[str, ...]) -> None:
    """Refuse before any write (in LDAP or Vault) when the user exists or a group does not."""
    if ldap.read(user.dn, ("uid",)) is not None:
        raise UsageError(f"user {user.first(layout.username_attribute)!r} already exists ({user.dn})")
    _require_groups(ldap, layout, groups)


def initial_password(vault: VaultAdapter, homelab: Homelab, username: str) -> tuple[str, bool]:
    """The password kept at users/<username>, or a new one written there (never overwriting)."""
    path = f"users/{username}"
    vault.check_token()
    stored = vault.read_secret(homelab.vault_kv_mount, path)
    if stored is not None and stored.data.get("password"):
        return stored.data["password"], False
    password = generate_value("password")
    vault.write_secret(
        homelab.vault_kv_mount, path, {"password": password}, cas=stored.version if stored else 0
    )
    return password, True


def regenerate_password(vault: VaultAdapter, homelab: Homelab, username: str) -> str:
    """A new password replacing the one kept at users/<username> (explicitly asked for)."""
    path = f"users/{username}"
    vault.check_token()
    stored = vault.read_secret(homelab.vault_kv_mount, path)
    password = generate_value("password")
    vault.write_secret(
        homelab.vault_kv_mount, path, {"password": password}, cas=stored.version if stored else 0
    )
    return password


def add_user(
    ldap: LdapAdapter,
    layout: LdapLayout,
    user: LdapEntry,
    password: str,
    groups: tuple[str, ...],
) -> DirectoryReport:
    """Add one person with a hashed initial password, then into `groups` (checked first)."""
    check_new_user(ldap, layout, user, groups)
    ldap.add(LdapEntry(user.dn, {**user.attributes, "userPassword": (ssha(password),)}))
    report = DirectoryReport([f"added {user.dn}"])
    username = user.first(layout.username_attribute)
    report.done += change_groups(ldap, layout, username, add=groups, remove=()).done
    return report


def change_groups(
    ldap: LdapAdapter, layout: LdapLayout, username: str, add: tuple[str, ...], remove: tuple[str, ...]
) -> DirectoryReport:
    """Add the user to / remove them from groups; a group never becomes empty (placeholder)."""
    dn = require_user(ldap, layout, username)
    groups = _require_groups(ldap, layout, add + remove)
    report = DirectoryReport()
    placeholder = placeholder_member(layout)
    for name in add:
        present = {m.lower() for m in groups[name].values(layout.member_attribute)}
        if dn.lower() in present:
            report.unchanged.append(f"{username} in {name}")
            continue
        changes = [(MODIFY_ADD, [dn])]
        if placeholder.lower() in present:
            changes.append((MODIFY_DELETE, [placeholder]))
        ldap.modify(group_dn(layout, name), {layout.member_attribute: changes})
        report.done.append(f"added {username} to {name}")
    for name in remove:
        members = list(groups[name].values(layout.member_attribute))
        if dn.lower() not in {m.lower() for m in members}:
            report.unchanged.append(f"{username} not in {name}")
            continue
        remaining = [m for m in members if m.lower() != dn.lower()] or [placeholder]
        ldap.modify(group_dn(layout, name), {layout.member_attribute: [(MODIFY_REPLACE, remaining)]})
        report.done.append(f"removed {username} from {name}")
    return report


def remove_user(ldap: LdapAdapter, layout: LdapLayout, username: str) -> DirectoryReport:
    """Take the user out of every group, then delete the entry."""
    dn = require_user(ldap, layout, username)
    groups = ldap.search(
        layout.groups_dn, f"(&(objectClass=groupOfNames)(member={escape_filter_chars(dn)}))", ("cn",)
    )
    names = tuple(g.first(layout.group_name_attribute) for g in groups)
    report = change_groups(ldap, layout, username, add=(), remove=names)
    ldap.delete(dn)
    report.done.append(f"deleted {dn}")
    return report


def change_password(ldap: LdapAdapter, layout: LdapLayout, username: str, password: str) -> DirectoryReport:
    """Set a new password through the Password Modify operation (slapd stores a hash)."""
    dn = require_user(ldap, layout, username)
    ldap.set_password(dn, password)
    return DirectoryReport([f"changed the password of {dn}"])
