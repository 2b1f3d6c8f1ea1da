"""LDIF text (RFC 2849) for the entries the homelab writes itself. Pure.

Two writers need it: the directory's base entries in the OpenLDAP chart's values (render) and
`homelab users ldif` (lifecycle). A value goes out as `name: value` only when RFC 2849 calls it a
SAFE-STRING of printable ASCII (no control character, not starting with a space, `:` or `<`) and it
does not end with a space; anything else is `name:: <base64 of its UTF-8>`. So no value can start a line of
its own: a newline in an organisation's name is part of that name, never a new entry.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

_SAFE = re.compile(r"[\x21-\x39\x3b\x3d-\x7e][\x20-\x7e]*")
"""RFC 2849's SAFE-STRING without its control characters: a SAFE-INIT-CHAR, then SAFE-CHARs, all
printable ASCII (matched against the whole value). RFC 2849 allows a tab or a form feed in a plain
value, but LDIF readers strip them as white space at the ends (python-ldap's parser does), so a value
holding one goes out in base64 too."""


def ldif_line(name: str, value: str) -> str:
    """`name: value`, or `name:: base64` when the value is not a SAFE-STRING (or ends with a space,
    which an LDIF reader would drop)."""
    if value and _SAFE.fullmatch(value) and not value.endswith(" "):
        return f"{name}: {value}"
    return f"{name}:: {base64.b64encode(value.encode('utf-8')).decode('ascii')}"


def ldif_record(dn: str, attributes: Iterable[tuple[str, str]]) -> str:
    """One entry record: its `dn` line, then one line per (attribute, value), without a blank line."""
    return "\n".join([ldif_line("dn", dn), *(ldif_line(name, value) for name, value in attributes)])
