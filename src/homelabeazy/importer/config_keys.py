"""The keys of one guest config, accounted for: nothing a guest has is dropped silently.

Every key ends up in exactly one place: a field of the parsed guest, the keys Proxmox generates
for itself (`INTERNAL_KEYS`, nothing to manage), or `Unmapped` with the reason, so
IMPORT_REPORT.md can say what the generated Terraform leaves out.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from homelabeazy.importer.propstring import FieldSpec, parse_bool, parse_int, read_fields, spec_keys

# Keys Proxmox sets itself; Terraform has nothing to say about them.
INTERNAL_KEYS = frozenset(
    {
        "digest",
        "meta",
        "vmgenid",
        "smbios1",
        "lock",
        "parent",
        "snaptime",
        "runningcpu",
        "runningmachine",
        "running-nets-host-mtu",
        "pending",
    }
)

# Secrets Proxmox may return: never copied into generated files, only named in the report.
SECRET_KEYS = frozenset({"cipassword"})

NOT_MAPPED = "no bpg provider argument is mapped for this setting yet"


class GuestConfigError(ValueError):
    """A config value Proxmox would not have produced (the guest is reported, not imported)."""


@dataclass(frozen=True)
class Unmapped:
    """A config key the generated Terraform does not carry, and why."""

    key: str
    reason: str
    value: str = ""


def opt_str(value: Any) -> str | None:
    """A free-text setting; Proxmox's empty string means unset, as an absent key does."""
    return None if value is None or value == "" else str(value)


class ConfigKeys:
    """The config's keys, consumed one by one; what is left at the end is unmapped."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)
        self.used: set[str] = set(INTERNAL_KEYS & set(config))
        self.unmapped: list[Unmapped] = []

    def take(self, key: str) -> Any:
        """The value of `key` (None when absent), marking it handled."""
        if key in self.config:
            self.used.add(key)
        return self.config.get(key)

    def flag(self, key: str) -> bool | None:
        """A boolean setting, None when absent (so the provider's read-back decides)."""
        value = self.take(key)
        return None if value is None else parse_bool(value)

    def number(self, key: str, default: int | None = None) -> int | None:
        """An integer setting; `default` stands for Proxmox's documented value of an absent key."""
        value = self.take(key)
        if value is None:
            value = default
        return None if value is None else parse_int(value, key)

    def text(self, key: str) -> str | None:
        """A free-text setting, None when absent or empty."""
        return opt_str(self.take(key))

    def indexed(self, prefix: str) -> list[tuple[int, str, Any]]:
        """`net0`, `net1`, ... as (index, key, value), sorted by index, all marked handled."""
        found = []
        for key, value in self.config.items():
            match = re.fullmatch(rf"{prefix}(\d+)", key)
            if match:
                found.append((int(match.group(1)), key, value))
                self.used.add(key)
        return sorted(found)

    def skip(self, key: str, reason: str = NOT_MAPPED) -> None:
        """Record `key` as not mapped (if present)."""
        if key in self.config:
            self.used.add(key)
            self.unmapped.append(Unmapped(key, reason, _display(key, self.config[key])))

    def leftovers(self) -> tuple[Unmapped, ...]:
        """Unmapped keys: the explicit ones, then every key nothing handled."""
        rest = [
            Unmapped(k, NOT_MAPPED, _display(k, self.config[k])) for k in sorted(set(self.config) - self.used)
        ]
        return tuple(sorted(self.unmapped, key=lambda u: u.key)) + tuple(rest)


def _display(key: str, value: Any) -> str:
    return "" if key in SECRET_KEYS else str(value)


def note_extra(unmapped: list[Unmapped], key: str, props: Mapping[str, str], known: set[str]) -> None:
    """Report the sub-settings of a property string that are not carried over (`scsi0.mbps_rd`)."""
    for sub in sorted(set(props) - known):
        unmapped.append(Unmapped(f"{key}.{sub}", NOT_MAPPED, props[sub]))


def sub_fields(
    unmapped: list[Unmapped], key: str, props: Mapping[str, str], spec: FieldSpec, own: Collection[str] = ()
) -> dict[str, Any]:
    """The spec's fields of a property string; any sub-key neither the spec nor the format's `own`
    keys (the volume, the model) account for is reported, so a format is declared in one place."""
    note_extra(unmapped, key, props, spec_keys(spec) | set(own))
    return read_fields(props, spec)
