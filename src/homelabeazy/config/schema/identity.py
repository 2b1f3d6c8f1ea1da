"""`groups:` and `users:` of the directory Authelia authenticates against."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from homelabeazy.config.schema.fields import Email, FreeText, Label, Section, pattern


class GroupConfig(Section):
    """An LDAP group (groupOfNames under ou=groups)."""

    name: Label
    """Group name (cn)."""
    description: FreeText = ""
    """What members may do."""


class UserConfig(Section):
    """An LDAP user; the initial password is generated and kept in Vault."""

    username: Annotated[
        str,
        pattern(
            r"^[a-z_][a-z0-9_.-]{0,31}$", "must be a lowercase login name (letters, digits, '_', '.', '-')"
        ),
    ]
    """Login name (uid)."""
    display_name: FreeText = Field(min_length=1)
    """Full name (cn)."""
    email: Email
    """E-mail address (needed by Authelia for 2FA registration)."""
    groups: list[Label] = Field(default_factory=list)
    """Groups the user belongs to."""
