"""Proxmox property strings and scalar formats, parsed: `virtio=BC:..,bridge=vmbr0,tag=10`.

Proxmox stores most guest settings as comma-separated `key=value` lists whose first element may
omit its key (the format's *default key*: the volume of a disk, the model of a NIC). These
functions are the only place that syntax is understood.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([KMGT]?)$")
_UNIT_BYTES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class PropertyStringError(ValueError):
    """A property string that does not follow Proxmox's syntax."""


def split_property_string(text: str, default_key: str | None = None) -> dict[str, str]:
    """`local-lvm:vm-100-disk-0,size=32G` -> {default_key: 'local-lvm:vm-100-disk-0', 'size': '32G'}.

    Only the first element may omit its key, and only when the format has a default key.
    """
    out: dict[str, str] = {}
    for index, part in enumerate(p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if sep:
            if key in out:
                raise PropertyStringError(f"{text!r}: key {key!r} given twice")
            out[key] = value
        elif index == 0 and default_key is not None:
            out[default_key] = part
        else:
            raise PropertyStringError(f"{text!r}: {part!r} is not a key=value pair")
    return out


def parse_bool(value: str | int | bool) -> bool:
    """Proxmox booleans: 1/0 in JSON, or 1/0/yes/no/on/off/true/false inside property strings."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise PropertyStringError(f"{value!r} is not a boolean")


def parse_int(value: str | int, what: str) -> int:
    """An integer setting; a non-integer is a config error naming the setting."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise PropertyStringError(f"{what}: {value!r} is not an integer") from None


def size_bytes(text: str) -> int:
    """A Proxmox disk size (`32G`, `512M`, `4M`, `708862K`, `1T`, bytes without unit) in bytes."""
    match = _SIZE.match(text.strip().upper())
    if not match:
        raise PropertyStringError(f"{text!r} is not a disk size")
    number, unit = match.groups()
    return int(float(number) * _UNIT_BYTES[unit])


def size_whole_gib(text: str) -> int | None:
    """The size in whole GiB as the provider wants it, or None when it is not a whole number of GiB."""
    total = size_bytes(text)
    gib, rest = divmod(total, 1 << 30)
    return gib if rest == 0 and gib > 0 else None


def parse_tags(text: str) -> list[str]:
    """`docker;media;prod` -> ['docker', 'media', 'prod'] (Proxmox also accepts ',' and ' ')."""
    return [t for t in re.split(r"[;,\s]+", text.strip()) if t]


def decode_sshkeys(text: str) -> list[str]:
    """Proxmox URL-encodes `sshkeys`; one OpenSSH key per line.

    `unquote`, not `unquote_plus`: a '+' in base64 key material must stay a '+'.
    """
    return [line.strip() for line in unquote(text).splitlines() if line.strip()]


def split_list(text: str) -> list[str]:
    """`10.10.10.1 1.1.1.1` -> ['10.10.10.1', '1.1.1.1'] (nameserver, searchdomain)."""
    return [t for t in re.split(r"[\s,;]+", text.strip()) if t]


def volume_datastore(volume: str) -> str | None:
    """`local-lvm:vm-100-disk-0` -> 'local-lvm'; a host path or device -> None."""
    if volume.startswith("/") or ":" not in volume:
        return None
    return volume.split(":", 1)[0]


Convert = Callable[[str, str], Any]
"""A sub-key's value and name -> its typed value (the name goes into the error message)."""

FieldSpec = Mapping[str, tuple[str, Convert]]
"""One property-string format: dataclass field -> (the sub-key holding it, how to convert it)."""


def as_text(value: str, _key: str) -> str:
    """A sub-key kept as written (a cache mode, a MAC address, a file id)."""
    return value


def as_bool(value: str, _key: str) -> bool:
    """A Proxmox boolean sub-key (`iothread=1`)."""
    return parse_bool(value)


def as_int(value: str, key: str) -> int:
    """An integer sub-key (`tag=10`); a malformed one names the sub-key."""
    return parse_int(value, key)


def as_float(value: str, _key: str) -> float:
    """A decimal sub-key (`rate=12.5`, MB/s)."""
    return float(value)


def read_fields(props: Mapping[str, str], spec: FieldSpec) -> dict[str, Any]:
    """The spec's fields from split sub-keys, None where a sub-key is absent.

    Converted in the spec's order, so the first malformed value is the one reported.
    """
    return {name: convert(props[key], key) if key in props else None for name, (key, convert) in spec.items()}


def spec_keys(spec: FieldSpec) -> set[str]:
    """The sub-keys a spec maps: with the format's own keys, what is *not* reported as unmapped."""
    return {key for key, _ in spec.values()}
