"""Users and groups of the directory Authelia authenticates against."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.checks.base import Finding, check
from homelabeazy.config.schema import HomelabConfig


@check("groups-known")
def groups_known(config: HomelabConfig) -> Iterator[Finding]:
    """Groups named by users and apps exist; `access: group` names at least one."""
    groups = {g.name for g in config.groups}
    dupes = [g.name for g in config.groups]
    for i, name in enumerate(dupes):
        if name in dupes[:i]:
            yield Finding(("groups", i, "name"), f"group '{name}' is defined twice", "")
    for i, user in enumerate(config.users):
        for k, group in enumerate(user.groups):
            if group not in groups:
                yield Finding(
                    ("users", i, "groups", k),
                    f"unknown group '{group}'",
                    "define it under groups:" if not groups else "groups: " + ", ".join(sorted(groups)),
                )
    for i, app in enumerate(config.apps):
        if app.access == "group" and not app.groups:
            yield Finding(("apps", i, "groups"), "access 'group' needs at least one group", "list the groups")
        if app.access != "group" and app.groups:
            yield Finding(
                ("apps", i, "groups"),
                f"groups are ignored with access '{app.access}'",
                "set access: group",
                "warning",
            )
        for k, group in enumerate(app.groups):
            if group not in groups:
                yield Finding(("apps", i, "groups", k), f"unknown group '{group}'", "define it under groups:")


@check("users-unique")
def users_unique(config: HomelabConfig) -> Iterator[Finding]:
    """Usernames and e-mail addresses are unique."""
    names: set[str] = set()
    emails: set[str] = set()
    for i, user in enumerate(config.users):
        if user.username in names:
            yield Finding(("users", i, "username"), f"user '{user.username}' is defined twice", "")
        if user.email.lower() in emails:
            yield Finding(
                ("users", i, "email"),
                f"e-mail {user.email} is used twice",
                "Authelia identifies 2FA registrations by e-mail",
            )
        names.add(user.username)
        emails.add(user.email.lower())
