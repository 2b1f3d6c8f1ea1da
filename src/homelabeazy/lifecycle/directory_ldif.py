"""The directory as an LDIF backup, and the plan that brings a live directory back to it (pure).

A backup holds every entry under the homelab's base DN with its user attributes exactly as stored,
password hashes included (`userPassword` is opaque bytes: slapd checks binds against the hash, so
restoring the hash restores the password). Values stay bytes end to end, so nothing is re-encoded.

The file is RFC 2849 LDIF written and read by the `ldif` library, in a deterministic order
(parents before children, siblings sorted), with a closing comment giving the entry count: an
export cut short at an entry boundary is still valid LDIF, and only the count tells it apart.
Everything is validated before anything live is touched.
"""

from __future__ import annotations

import binascii
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import ldif
from ldap3.core.exceptions import LDAPInvalidDnError
from ldap3.utils.dn import parse_dn

from homelabeazy.errors import UsageError
from homelabeazy.model.catalog.openldap import EXPORT_TRAILER

Values = tuple[bytes, ...]

_HEAD, _TAIL = (part.encode() for part in EXPORT_TRAILER.split("{count}"))
TRAILER = re.compile(rb"(?:\A|\n)" + re.escape(_HEAD) + rb"(\d+)" + re.escape(_TAIL) + rb"\n\Z")
"""The last line of every export (the in-cluster CronJob writes the same line)."""

OPERATIONAL = frozenset(
    name.lower()
    for name in (
        "structuralObjectClass",
        "entryUUID",
        "entryCSN",
        "entryDN",
        "creatorsName",
        "createTimestamp",
        "modifiersName",
        "modifyTimestamp",
        "contextCSN",
        "hasSubordinates",
        "subschemaSubentry",
        "pwdChangedTime",
        "pwdHistory",
        "pwdFailureTime",
        "pwdAccountLockedTime",
    )
)
"""Attributes the server maintains itself: slapcat writes them, an LDAP add refuses them."""


class InvalidBackupError(UsageError):
    """The backup is not a complete, well-formed export of this directory; nothing was changed."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: not a usable directory backup: {problem}; nothing was changed")


@dataclass(frozen=True)
class RawEntry:
    """One entry with its values as the server stores them (bytes), attribute names as spelled."""

    dn: str
    attributes: Mapping[str, Values]

    def restorable(self) -> dict[str, Values]:
        """The attributes an LDAP add may carry (what the server maintains itself left out)."""
        return {n: v for n, v in self.attributes.items() if n.lower() not in OPERATIONAL and v}

    def normalised(self) -> dict[str, frozenset[bytes]]:
        """Attribute name (lower case) -> set of values: how LDAP compares an entry (value order is
        not significant), leaving out what the server maintains itself."""
        return {
            name.lower(): frozenset(values)
            for name, values in self.attributes.items()
            if name.lower() not in OPERATIONAL and values
        }


# ---------------------------------------------------------------------------- DNs


def dn_key(dn: str) -> tuple[str, ...]:
    """The DN as its RDNs from the root down, lower case: a sort key that puts parents first.

    Multi-valued RDNs (`cn=a+uid=b`) are one element, their parts sorted.
    """
    rdns: list[list[str]] = [[]]
    for attr, value, separator in parse_dn(dn, escape=False, strip=True):
        rdns[-1].append(f"{attr.lower()}={value.lower()}")
        if separator == ",":
            rdns.append([])
    return tuple("+".join(sorted(parts)) for parts in reversed(rdns) if parts)


def is_under(key: tuple[str, ...], base: tuple[str, ...]) -> bool:
    """Whether the DN with `key` is `base` or below it."""
    return key[: len(base)] == base


# ---------------------------------------------------------------------------- writing


def _text_or_bytes(value: bytes) -> str | bytes:
    """Text values as text (the writer base64-encodes only unsafe ones); others stay bytes, which
    it always base64-encodes: values that are not UTF-8, and those with leading or trailing
    whitespace, which the writer would leave bare and the parser strip."""
    if value != value.strip():
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value


def _ordered_attributes(entry: RawEntry) -> dict[str, list[str | bytes]]:
    """objectClass first, then the others by name; values sorted, so the output is stable."""
    names = sorted(entry.attributes, key=lambda n: (n.lower() != "objectclass", n.lower()))
    return {
        name: [_text_or_bytes(v) for v in sorted(entry.attributes[name])]
        for name in names
        if name.lower() not in OPERATIONAL and entry.attributes[name]
    }


def write_ldif(entries: Iterable[RawEntry], base_dn: str) -> bytes:
    """The backup file: header comment, the entries parents first, the count trailer."""
    ordered = sorted(entries, key=lambda e: dn_key(e.dn))
    out = io.BytesIO()
    out.write(f"# homelab users export of {base_dn}\nversion: 1\n\n".encode())
    writer = ldif.LDIFWriter(out, cols=76)
    for entry in ordered:
        writer.unparse(entry.dn, _ordered_attributes(entry))
    out.write(f"{EXPORT_TRAILER.format(count=len(ordered))}\n".encode())
    return out.getvalue()


# ---------------------------------------------------------------------------- reading


def _declared_count(data: bytes, source: str) -> int:
    found = TRAILER.search(data)
    if found is None:
        raise InvalidBackupError(
            source,
            "its last line is not `# homelab users export: N entries` (truncated, or not made by "
            "`homelab users export` / the scheduled export)",
        )
    return int(found.group(1))


def _parse_records(data: bytes, source: str) -> list[RawEntry]:
    parser = ldif.LDIFParser(io.BytesIO(data), encoding=None, strict=True)
    entries = []
    try:
        for dn, record in parser.parse():
            if dn is None and not record:
                continue  # the `version: 1` block
            if dn is None:
                raise InvalidBackupError(source, f"record {parser.records_read} has no dn: line")
            entries.append(RawEntry(dn, {str(k): tuple(v) for k, v in record.items()}))
    except (ValueError, binascii.Error) as exc:
        if isinstance(exc, InvalidBackupError):
            raise
        raise InvalidBackupError(source, f"LDIF error near line {parser.line_counter}: {exc}") from None
    return entries


def _check_entry(entry: RawEntry, key: tuple[str, ...], base: tuple[str, ...], source: str) -> None:
    if not is_under(key, base):
        raise InvalidBackupError(source, f"{entry.dn} is not under the base DN {','.join(reversed(base))}")
    if not entry.normalised().get("objectclass"):
        raise InvalidBackupError(source, f"{entry.dn} has no objectClass")


def parse_ldif(data: bytes, base_dn: str, source: str) -> tuple[RawEntry, ...]:
    """Every entry of a backup, parents first; raises InvalidBackupError unless the whole file is a
    complete export of the tree under `base_dn` (count trailer matches, every DN under the base, no
    DN twice, every entry's parent in the file, every entry with an objectClass)."""
    declared = _declared_count(data, source)
    entries = _parse_records(data, source)
    if len(entries) != declared:
        raise InvalidBackupError(source, f"it holds {len(entries)} entries but says {declared} (truncated?)")
    if not entries:
        raise InvalidBackupError(source, "it holds no entry")
    base = dn_key(base_dn)
    keys: dict[tuple[str, ...], RawEntry] = {}
    for entry in entries:
        try:
            key = dn_key(entry.dn)
        except LDAPInvalidDnError:
            raise InvalidBackupError(source, f"{entry.dn!r} is not a valid DN") from None
        _check_entry(entry, key, base, source)
        if key in keys:
            raise InvalidBackupError(source, f"{entry.dn} appears twice")
        keys[key] = entry
    for key, entry in keys.items():
        if key != base and key[:-1] not in keys:
            raise InvalidBackupError(source, f"the parent of {entry.dn} is missing")
    return tuple(keys[k] for k in sorted(keys))


# ---------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class Change:
    """Attributes of one existing entry to replace (an empty tuple deletes the attribute)."""

    dn: str
    replace: Mapping[str, Values]


@dataclass(frozen=True)
class ImportPlan:
    """What an import does: add (parents first), replace attributes, delete (children first)."""

    add: tuple[RawEntry, ...] = ()
    change: tuple[Change, ...] = ()
    delete: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (self.add or self.change or self.delete)


def _differences(wanted: RawEntry, current: RawEntry) -> dict[str, Values]:
    want, have = wanted.normalised(), current.normalised()
    spelled = {name.lower(): name for name in current.attributes} | {n.lower(): n for n in wanted.attributes}
    replace: dict[str, Values] = {}
    for name in sorted(set(want) | set(have)):
        if want.get(name, frozenset()) != have.get(name, frozenset()):
            replace[spelled[name]] = tuple(sorted(want.get(name, frozenset())))
    return replace


def plan_import(backup: Iterable[RawEntry], live: Iterable[RawEntry], prune: bool = False) -> ImportPlan:
    """Compare by DN as LDAP does (case-insensitive); a re-run after a complete import is empty.

    Entries only in the live directory stay unless `prune`; then they are deleted, deepest first.
    """
    have = {dn_key(e.dn): e for e in live}
    wanted = {dn_key(e.dn): e for e in backup}
    add, change, unchanged = [], [], []
    for key in sorted(wanted):
        entry = wanted[key]
        current = have.get(key)
        if current is None:
            add.append(entry)
            continue
        replace = _differences(entry, current)
        if replace:
            change.append(Change(current.dn, replace))
        else:
            unchanged.append(entry.dn)
    extra = sorted((k for k in have if k not in wanted), reverse=True) if prune else []
    return ImportPlan(tuple(add), tuple(change), tuple(have[k].dn for k in extra), tuple(unchanged))


def describe(plan: ImportPlan) -> list[str]:
    """One line per change, safe to print: DNs and attribute names, never values."""
    lines = [f"add {e.dn}" for e in plan.add]
    lines += [f"replace {', '.join(c.replace)} on {c.dn}" for c in plan.change]
    lines += [f"delete {dn}" for dn in plan.delete]
    return lines
