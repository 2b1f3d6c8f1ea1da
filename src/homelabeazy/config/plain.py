"""What a YAML value of homelab.yaml becomes in plain Python, and what a Helm values file cannot hold.

ruamel.yaml's round-trip loader hands back its own subclasses (`ScalarFloat`, `HexInt`,
`ScalarBoolean`, `TaggedScalar`, `CommentedSet`, `TimeStamp`) so it can write the file back as it
was. Nothing downstream wants that: the YAML emitters the renderers use know only the plain types
and stop on anything else. So a number becomes a plain number here, a `!!str` a plain string, and
what has no plain meaning is kept as it is for `unrepresentable` to name.

`services.<name>.values` and `apps[].chart.values` accept any shape, so the schema cannot refuse
those; the `values-representable` check refuses them with `unrepresentable`'s words.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import TaggedScalar
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.scalarfloat import ScalarFloat
from ruamel.yaml.scalarint import ScalarInt

STR_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class TaggedValue:
    """A list or mapping written with a tag of the user's own (`!vault [a, b]`): YAML says an
    application decides what it means, and no consumer of ours gives it one."""

    tag: str
    value: Any


def plain_scalar(node: Any) -> Any:
    """A scalar as the plain Python value it stands for (ruamel's subclasses dropped).

    `ScalarBoolean` is an `int` subclass, so it is tested first: `int()` would turn `true` into 1.
    """
    if isinstance(node, ScalarBoolean):
        return bool(node)
    if isinstance(node, ScalarFloat):
        return float(node)
    if isinstance(node, ScalarInt):
        return int(node)
    if isinstance(node, TaggedScalar) and _tag(node) == STR_TAG:
        return joined_pairs(str(node.value))
    if isinstance(node, str):
        return joined_pairs(str(node))
    return node


def collection_tag(node: Any) -> str | None:
    """The user's own tag on a list or mapping (`!x [1]`), None for an untagged or standard one."""
    return _tag(node)


def _tag(node: Any) -> str | None:
    tag = getattr(node, "tag", None)
    value = getattr(tag, "value", tag)
    return str(value) if value else None


def joined_pairs(text: str) -> str:
    """`text` with each UTF-16 surrogate pair joined into the character it encodes.

    A JSON file is YAML, and JSON writes a character beyond U+FFFF as a pair of escapes
    (`"\\ud83d\\ude00"`); YAML loaders keep the two halves apart. A lone half stays as it is
    (`lone_surrogate` finds it)."""
    if not any("\ud800" <= char <= "\udfff" for char in text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def lone_surrogate(text: str) -> bool:
    """Whether `text` holds a lone UTF-16 surrogate (`"\\ud800"` in a double-quoted scalar): no UTF-8
    file can hold it, so nothing that writes it out can succeed."""
    return any("\ud800" <= char <= "\udfff" for char in text)


def unrepresentable(value: Any) -> tuple[str, str] | None:
    """(what it is, what to write instead) when `value` cannot be written into a Helm values file as
    the same value Helm would read from homelab.yaml; None for plain data.

    Helm reads values as YAML converted to JSON: JSON has no infinity or NaN (Helm fails), and a
    timestamp or `!!binary` arrives in the chart as text, while homelabeazy's own checks would read a
    date or bytes. A set or a tag of the user's own means nothing to either.
    """
    if isinstance(value, TaggedScalar):
        return f"a value tagged {_tag(value)}", "Helm values are plain data: drop the tag, quote the text"
    if isinstance(value, TaggedValue):
        return f"a value tagged {value.tag}", "Helm values are plain data: drop the tag"
    if isinstance(value, Set):
        return "a YAML set (!!set)", "write a list instead"
    if isinstance(value, bytes | bytearray):
        return "binary data (!!binary)", "Helm passes it on as text: write the text, quoted"
    if isinstance(value, datetime.date | datetime.time):
        return "a YAML timestamp", "Helm passes it on as text: quote it"
    if isinstance(value, float) and not math.isfinite(value):
        return f"a non-finite number ({value})", "Helm reads values as JSON, which has no infinity or NaN"
    if isinstance(value, tuple):
        return "a list of pairs (!!pairs)", "write a mapping, or a list of mappings"
    if value is None or isinstance(value, str | bool | int | float | list | Mapping):
        return None
    return f"a {type(value).__name__} value", "Helm values are plain data: strings, numbers, lists, mappings"


def walk(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """(path, value) for `value` and everything inside it, parents first."""
    yield path, value
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, (*path, index))
