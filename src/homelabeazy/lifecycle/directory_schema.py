"""Every entry of a directory backup checked against the live server's schema, before any is applied (pure).

`users import` applies a backup one LDAP operation at a time; without this check an entry the
server refuses (an empty value, an attribute no object class allows, a missing required one, two
values of a single-valued one, a number that is not one) stops the import half way, with the
entries before it already applied. So the whole backup is checked first against the schema the
server itself publishes (its subschema entry, RFC 4512), and a backup with any bad entry changes
nothing. The definitions are parsed with ldap3's RFC 4512 reader; the rules are the ones slapd
applies on an add.

Not checked here: the value syntaxes beyond the common ones (Directory String is UTF-8 and never
empty, INTEGER is an integer, a DN parses, Boolean is TRUE/FALSE); anything subtler still stops at
the server, with its answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ldap3.core.exceptions import LDAPInvalidDnError
from ldap3.protocol.rfc4512 import AttributeTypeInfo, ObjectClassInfo
from ldap3.utils.dn import parse_dn

from homelabeazy.lifecycle.directory_ldif import OPERATIONAL, RawEntry

OCTET_STRING = "1.3.6.1.4.1.1466.115.121.1.40"
"""The one common syntax whose value may be empty (RFC 4517 3.3.25)."""
DIRECTORY_STRING = "1.3.6.1.4.1.1466.115.121.1.15"
INTEGER = "1.3.6.1.4.1.1466.115.121.1.27"
DN_SYNTAX = "1.3.6.1.4.1.1466.115.121.1.12"
BOOLEAN = "1.3.6.1.4.1.1466.115.121.1.7"
_INTEGER = re.compile(rb"^-?(0|[1-9][0-9]*)$")
MAX_REPORTED = 10
"""Problems listed in the message; the count says how many more there are."""


@dataclass(frozen=True)
class AttributeRule:
    """What the schema says about one attribute type (all its names share it)."""

    name: str
    syntax: str
    single_value: bool
    user_modifiable: bool


@dataclass(frozen=True)
class ClassRule:
    """What the schema says about one object class, its superiors' rules folded in."""

    name: str
    must: frozenset[str]
    may: frozenset[str]


@dataclass(frozen=True)
class DirectorySchema:
    """Attribute types and object classes by every lower-case name."""

    attributes: Mapping[str, AttributeRule]
    classes: Mapping[str, ClassRule]

    def attribute(self, name: str) -> AttributeRule | None:
        """The rule for `name` (options such as `;binary` left out), or None when unknown."""
        return self.attributes.get(name.split(";", 1)[0].lower())


def _names(info: object) -> list[str]:
    return [str(n) for n in (getattr(info, "name", None) or [])]


def _by_name(infos: Mapping[str, object]) -> dict[str, object]:
    return {n.lower(): info for info in infos.values() for n in _names(info)}


def parse_schema(object_classes: Iterable[str], attribute_types: Iterable[str]) -> DirectorySchema:
    """The schema from the subschema entry's `objectClasses` and `attributeTypes` definitions."""
    types = _by_name(AttributeTypeInfo.from_definition(list(attribute_types)) or {})

    def inherited(name: str, field: str, seen: frozenset[str] = frozenset()) -> object:
        info = types.get(name)
        if info is None or name in seen:
            return None
        value = getattr(info, field, None)
        if value:
            return value
        superior = getattr(info, "superior", None) or []
        return inherited(str(superior[0]).lower(), field, seen | {name}) if superior else None

    attributes: dict[str, AttributeRule] = {}
    for key, info in types.items():
        primary = _names(info)[0].lower()
        attributes[key] = AttributeRule(
            name=_names(info)[0],
            syntax=str(inherited(primary, "syntax") or ""),
            single_value=bool(getattr(info, "single_value", False)),
            user_modifiable=not getattr(info, "no_user_modification", False),
        )

    def canonical(name: str) -> str:
        rule = attributes.get(name.lower())
        return rule.name.lower() if rule else name.lower()

    raw = _by_name(ObjectClassInfo.from_definition(list(object_classes)) or {})

    def fold(name: str, field: str, seen: frozenset[str] = frozenset()) -> frozenset[str]:
        info = raw.get(name)
        if info is None or name in seen:
            return frozenset()
        own = {canonical(str(a)) for a in getattr(info, field, None) or []}
        for superior in getattr(info, "superior", None) or []:
            own |= fold(str(superior).lower(), field, seen | {name})
        return frozenset(own)

    classes = {
        key: ClassRule(_names(info)[0], fold(key, "must_contain"), fold(key, "may_contain"))
        for key, info in raw.items()
    }
    return DirectorySchema(attributes, classes)


def _value_problem(rule: AttributeRule, value: bytes) -> str:
    if not value:
        return "" if rule.syntax == OCTET_STRING else "an empty value (the server refuses it)"
    if rule.syntax == DIRECTORY_STRING:
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            return "a value that is not UTF-8 text"
    elif rule.syntax == INTEGER and not _INTEGER.match(value):
        return "a value that is not an integer"
    elif rule.syntax == BOOLEAN and value not in (b"TRUE", b"FALSE"):
        return "a value that is not TRUE or FALSE"
    elif rule.syntax == DN_SYNTAX:
        try:
            parse_dn(value.decode("utf-8"))
        except (UnicodeDecodeError, LDAPInvalidDnError):
            return "a value that is not a DN"
    return ""


def entry_problems(entry: RawEntry, schema: DirectorySchema) -> list[str]:
    """What the server would refuse in `entry` on an add: `<dn>: <attribute>: <problem>` each."""
    attributes = entry.restorable()
    problems: list[str] = []
    class_names = [
        v.decode("utf-8", "replace") for k, vs in attributes.items() if k.lower() == "objectclass" for v in vs
    ]
    allowed: set[str] = set()
    required: set[str] = set()
    anything = False
    for name in class_names:
        class_rule = schema.classes.get(name.lower())
        if class_rule is None:
            problems.append(f"{entry.dn}: objectClass: {name!r} is not in the server's schema")
            continue
        anything |= name.lower() == "extensibleobject"
        allowed |= class_rule.must | class_rule.may
        required |= class_rule.must
    present: set[str] = set()
    for name, values in attributes.items():
        rule = schema.attribute(name)
        if rule is None:
            problems.append(f"{entry.dn}: {name}: not an attribute type of the server's schema")
            continue
        present.add(rule.name.lower())
        if not rule.user_modifiable and name.lower() not in OPERATIONAL:
            problems.append(f"{entry.dn}: {name}: the server maintains it itself (no user modification)")
        if class_names and not anything and rule.name.lower() not in allowed:
            problems.append(f"{entry.dn}: {name}: no object class of the entry allows it")
        if rule.single_value and len(values) > 1:
            problems.append(f"{entry.dn}: {name}: {len(values)} values, the schema allows one")
        for value in values:
            problem = _value_problem(rule, value)
            if problem:
                problems.append(f"{entry.dn}: {name}: {problem}")
                break
    known = all(schema.classes.get(n.lower()) for n in class_names)
    problems += [
        f"{entry.dn}: {schema.attributes[m].name if m in schema.attributes else m}: required by its "
        "object classes but missing"
        for m in sorted(required - present)
        if known
    ]
    return problems


def backup_problems(entries: Iterable[RawEntry], schema: DirectorySchema) -> list[str]:
    """Every problem of every entry, in file order (an empty list: the server should take them all)."""
    return [problem for entry in entries for problem in entry_problems(entry, schema)]


def summary(problems: list[str]) -> str:
    """The first problems and how many more: for one error message naming the file."""
    shown = "; ".join(problems[:MAX_REPORTED])
    more = len(problems) - MAX_REPORTED
    return shown + (f"; and {more} more" if more > 0 else "")
