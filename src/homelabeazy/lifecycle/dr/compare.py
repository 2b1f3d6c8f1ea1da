"""What a restore would lose: the live Vault and directory against the ones restored from backup.

Pure functions over inventories the ops side reads. A Vault inventory never holds a secret value:
each value is replaced by a keyed digest (a key drawn per drill, never stored), so two inventories
can be compared while a report — or anyone reading memory dumps of it — learns nothing about the
values, not even by guessing short ones. Reports name paths, versions, key and attribute names only.

Direction: `live` is what exists now, `backup` what the restore brought back. `missing` = live but
not in the backup (a restore would lose it), `extra` = only in the backup (removed since),
`changed` = both, different.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["missing", "extra", "changed"]
System = Literal["vault", "ldap"]

SECRET_ATTRIBUTES = frozenset(
    {
        "userpassword",
        "authpassword",
        "sambantpassword",
        "sambalmpassword",
        "pwdhistory",
        "krbprincipalkey",
        "unicodepwd",
    }
)
"""Attributes holding passwords or password hashes: never shown, not even as a digest."""

METADATA_FIELDS = (
    "created_time",
    "updated_time",
    "current_version",
    "oldest_version",
    "max_versions",
    "cas_required",
    "delete_version_after",
    "custom_metadata",
)
"""KV v2 metadata compared per path (custom_metadata as a digest: users put anything there)."""


def value_digest(key: bytes, value: Any) -> str:
    """A keyed digest of `value` (canonical JSON): equal values, equal digests, within one drill."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, text.encode("utf-8"), hashlib.blake2b).hexdigest()


@dataclass(frozen=True)
class SecretVersion:
    """One KV v2 version: its timestamps and, per key name, the digest of its value."""

    created_time: str
    deletion_time: str = ""
    destroyed: bool = False
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SecretRecord:
    """One secret path: its metadata (values as text) and every version Vault still knows."""

    metadata: Mapping[str, str]
    versions: Mapping[int, SecretVersion]


VaultInventory = Mapping[str, SecretRecord]
"""`mount/path` -> record, for every secret of every KV v2 mount."""

Directory = Mapping[str, Mapping[str, tuple[str, ...]]]
"""DN -> attribute name -> values: the user attributes of every entry under a base."""


@dataclass(frozen=True)
class Difference:
    """One thing that differs; `subject` is a path, `path@vN` or a DN; `detail` names, never values."""

    system: System
    kind: Kind
    subject: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"system": self.system, "kind": self.kind, "subject": self.subject, "detail": self.detail}


# --- Vault ----------------------------------------------------------------------------------------


def compare_vault(live: VaultInventory, backup: VaultInventory) -> list[Difference]:
    """Every path, version and metadata field that differs, sorted by path then version."""
    found: list[Difference] = []
    for path in sorted(set(live) | set(backup)):
        if path not in backup:
            found.append(Difference("vault", "missing", path, _versions_text(live[path])))
        elif path not in live:
            found.append(Difference("vault", "extra", path, _versions_text(backup[path])))
        else:
            found += _compare_secret(path, live[path], backup[path])
    return found


def _versions_text(record: SecretRecord) -> str:
    count = len(record.versions)
    return f"{count} version{'s' if count != 1 else ''}"


def _compare_secret(path: str, live: SecretRecord, backup: SecretRecord) -> list[Difference]:
    found = []
    fields = [
        name for name in METADATA_FIELDS if live.metadata.get(name, "") != backup.metadata.get(name, "")
    ]
    if fields:
        found.append(Difference("vault", "changed", path, "metadata: " + ", ".join(fields)))
    for number in sorted(set(live.versions) | set(backup.versions)):
        subject = f"{path}@v{number}"
        if number not in backup.versions:
            found.append(Difference("vault", "missing", subject, "version not in the backup"))
        elif number not in live.versions:
            found.append(Difference("vault", "extra", subject, "version only in the backup"))
        else:
            detail = _version_detail(live.versions[number], backup.versions[number])
            if detail:
                found.append(Difference("vault", "changed", subject, detail))
    return found


def _version_detail(live: SecretVersion, backup: SecretVersion) -> str:
    parts = []
    if live.created_time != backup.created_time:
        parts.append("created_time")
    if live.deletion_time != backup.deletion_time:
        parts.append("deletion_time")
    if live.destroyed != backup.destroyed:
        parts.append("destroyed")
    parts += _keyed_changes(live.data, backup.data, "keys")
    return "; ".join(parts)


def _keyed_changes(live: Mapping[str, Any], backup: Mapping[str, Any], noun: str) -> list[str]:
    """'<noun> missing: a', '<noun> extra: b', '<noun> changed: c' — names only, sorted."""
    lost = sorted(set(live) - set(backup))
    extra = sorted(set(backup) - set(live))
    changed = sorted(k for k in set(live) & set(backup) if live[k] != backup[k])
    parts = []
    for label, names in (("missing", lost), ("extra", extra), ("changed", changed)):
        if names:
            parts.append(f"{noun} {label}: {', '.join(names)}")
    return parts


# --- LDAP -----------------------------------------------------------------------------------------


def normalise_dn(dn: str) -> str:
    """Case and spacing around `,`/`=` do not make two DNs different (escaped commas are kept)."""
    parts: list[str] = []
    current = ""
    escaped = False
    for char in dn:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            current += char
            escaped = True
        elif char == ",":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    rdns = []
    for part in parts:
        name, _, value = part.partition("=")
        rdns.append(f"{name.strip().lower()}={value.strip().lower()}")
    return ",".join(rdns)


def directory(
    entries: Iterable[tuple[str, Mapping[str, Iterable[str]]]], key: bytes
) -> dict[str, dict[str, tuple[str, ...]]]:
    """A `Directory` from (DN, attributes) pairs: DNs normalised, names lower-case, values sorted,
    and the values of password attributes replaced by their keyed digests."""
    return {
        normalise_dn(dn): {name.lower(): _values(name, values, key) for name, values in attributes.items()}
        for dn, attributes in entries
    }


def _values(name: str, values: Iterable[str], key: bytes) -> tuple[str, ...]:
    if name.lower() in SECRET_ATTRIBUTES:
        return tuple(sorted(value_digest(key, v) for v in values))
    return tuple(sorted(values))


def compare_directory(live: Directory, backup: Directory) -> list[Difference]:
    """Every entry missing, extra or with different attributes (names only), sorted by DN."""
    found: list[Difference] = []
    for dn in sorted(set(live) | set(backup), key=_dn_order):
        if dn not in backup:
            found.append(Difference("ldap", "missing", dn, _attributes_text(live[dn])))
        elif dn not in live:
            found.append(Difference("ldap", "extra", dn, _attributes_text(backup[dn])))
        else:
            parts = _keyed_changes(live[dn], backup[dn], "attributes")
            if parts:
                found.append(Difference("ldap", "changed", dn, "; ".join(parts)))
    return found


def _attributes_text(attributes: Mapping[str, tuple[str, ...]]) -> str:
    classes = attributes.get("objectclass", ())
    structural = [c for c in classes if c.lower() != "top"]
    return f"objectClass {', '.join(structural)}" if structural else f"{len(attributes)} attributes"


def _dn_order(dn: str) -> tuple[str, ...]:
    # Parents before children: sort by the reversed RDN sequence.
    return tuple(reversed(dn.split(",")))
