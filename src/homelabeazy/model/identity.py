"""The LDAP directory layout: one definition for OpenLDAP's bootstrap, `homelab users` and Authelia.

Authelia's users/groups filters and attributes are derived from the same layout the directory is
built with, so they find exactly these users and groups.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LdapLayout:
    """Where people, groups and service accounts live, and how Authelia finds them."""

    base_dn: str
    admin_dn: str
    people_dn: str
    groups_dn: str
    services_dn: str
    authelia_bind_dn: str
    users_filter: str
    groups_filter: str
    username_attribute: str = "uid"
    mail_attribute: str = "mail"
    display_name_attribute: str = "cn"
    group_name_attribute: str = "cn"
    member_attribute: str = "member"


def ldap_layout(domain: str) -> LdapLayout:
    """The layout for a domain: `home.example.com` -> `dc=home,dc=example,dc=com`."""
    base = ",".join(f"dc={part}" for part in domain.split("."))
    people = f"ou=people,{base}"
    groups = f"ou=groups,{base}"
    services = f"ou=services,{base}"
    return LdapLayout(
        base_dn=base,
        admin_dn=f"cn=admin,{base}",
        people_dn=people,
        groups_dn=groups,
        services_dn=services,
        authelia_bind_dn=f"cn=authelia,{services}",
        # Authelia substitutes {username_attribute}/{input} and {dn}; these are its placeholders.
        users_filter="(&({username_attribute}={input})(objectClass=inetOrgPerson))",
        groups_filter="(&(member={dn})(objectClass=groupOfNames))",
    )
