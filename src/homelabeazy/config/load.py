"""Turn the text of homelab.yaml into a validated config, with every problem located at line:col.

Pure: takes text, returns data or raises ConfigError. The CLI reads the file.
ruamel.yaml keeps the position of every key and value, so pydantic's and the semantic checks'
field paths can be mapped back to the exact line a user must edit.
"""

from __future__ import annotations

import contextlib
import difflib
import types
import typing
import warnings
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedKeyMap, CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from homelabeazy.config.plain import TaggedValue, collection_tag, lone_surrogate, plain_scalar
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.config.schema.fields import PATTERN_WORDS
from homelabeazy.errors import ConfigError, Problem

FieldPath = tuple[str | int, ...]
"""Where a value sits in homelab.yaml: keys and list indexes, `('apps', 1, 'host')`."""

# Friendly words for the regex patterns of schema.py; a raw regex is no help to a user.
_TOO_DEEP = "YAML could not be read: it is nested too deeply for a homelab config"

MAX_CONFIG_BYTES = 256 * 1024
"""A homelab.yaml is a few KB (tens with Helm values); 256 KiB is far beyond any real one and still
parses in about two seconds (round-trip parsing costs some 7 s per MB)."""
MAX_NODES = 50_000
"""Mappings, lists and scalars after alias expansion: a few hundred-byte alias bomb expands to
billions of nodes, and every one is copied; real configs have a few thousand."""
MAX_DEPTH = 64
"""Nesting levels (Helm values included): deeper is no config, only a stack to exhaust."""


class _Budget:
    """How many nodes the copy of one file may still produce (aliases count each time they are used)."""

    def __init__(self, nodes: int = MAX_NODES) -> None:
        self.left = nodes

    def spend(self, path: FieldPath) -> None:
        self.left -= 1
        if self.left < 0:
            raise _BadYaml(
                path,
                f"the file expands to more than {MAX_NODES} values (YAML aliases are copied each "
                "time they are used): no homelab config is that large",
            )
        if len(path) > MAX_DEPTH:
            raise _BadYaml(path, f"nested more than {MAX_DEPTH} levels deep: no homelab config is")


@dataclass(frozen=True)
class SourceMap:
    """Where each field path was written in the file."""

    file: str
    keys: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)
    values: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: FieldPath, *, prefer_key: bool = False) -> tuple[int | None, int | None]:
        """Line and column (1-based) of `path`, or of its nearest written ancestor."""
        probe = tuple(path)
        while True:
            table = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            for source in table:
                if probe in source:
                    line, col = source[probe]
                    return line + 1, col + 1
            if not probe:
                return None, None
            probe = probe[:-1]


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config, where it came from, and the warnings that did not stop it."""

    config: HomelabConfig
    source: SourceMap
    warnings: tuple[Problem, ...] = ()


def _plain(node: Any, path: FieldPath, smap: SourceMap, seen: set[int], budget: _Budget) -> Any:
    """Copy ruamel's round-trip nodes into plain dicts/lists/scalars while recording positions
    (config.plain says what each node becomes)."""
    budget.spend(path)
    if isinstance(node, CommentedMap | CommentedSeq):
        if id(node) in seen:
            raise _RecursiveAlias(path)
        seen = seen | {id(node)}
        tag = collection_tag(node)
        if tag is not None:
            return TaggedValue(tag, _plain_collection(node, path, smap, seen, budget))
        return _plain_collection(node, path, smap, seen, budget)
    value = plain_scalar(node)
    if isinstance(value, str) and lone_surrogate(value):
        raise _BadYaml(path, _SURROGATE)
    return value


_SURROGATE = "holds a lone surrogate escape (\\ud800-\\udfff): that is not Unicode text, no file can hold it"


def _plain_collection(
    node: CommentedMap | CommentedSeq, path: FieldPath, smap: SourceMap, seen: set[int], budget: _Budget
) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key in node:
            # Keys become text: `1:` or `~:` are then reported as the unknown key they are, at their
            # line, instead of pydantic's locationless "Keys should be strings".
            key_at: tuple[int, int] | None = None
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                key_at = tuple(node.lc.key(key))
            name = _key_name(key, path, key_at)
            child = (*path, name)
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                smap.keys[child] = tuple(node.lc.key(key))
                # A block mapping or list "starts" at its first child, lines below its key: a
                # problem with the whole section is better shown at the key the user wrote.
                if node[key] is not None and not _is_block(node[key]):
                    smap.values[child] = tuple(node.lc.value(key))
            if lone_surrogate(name):
                shown = name.encode("ascii", "backslashreplace").decode("ascii")
                raise _BadYaml(path, f"the key '{shown}' {_SURROGATE}", key_at)
            if name in out:
                raise _BadYaml(child, f"key '{name}' appears twice (written differently)")
            out[name] = _plain(node[key], child, smap, seen, budget)
        return out
    items = []
    for index, item in enumerate(node):
        child = (*path, index)
        with contextlib.suppress(KeyError, TypeError, AttributeError):
            smap.values[child] = tuple(node.lc.item(index))
        items.append(_plain(item, child, smap, seen, budget))
    return items


def _is_block(value: Any) -> bool:
    return isinstance(value, CommentedMap | CommentedSeq) and not value.fa.flow_style()


def _key_name(key: Any, path: FieldPath, at: tuple[int, int] | None) -> str:
    """A mapping key as text; a list or mapping used as a key (`? [a, b]`) is refused, and so is a
    key whose text YAML and Helm would read differently (a timestamp, a tagged or binary key)."""
    key = plain_scalar(key)
    if isinstance(key, str):
        return key
    if isinstance(key, tuple | frozenset | CommentedKeyMap):
        raise _BadYaml(path, "a mapping key must be a plain word, not a list or mapping", at)
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int | float):
        return str(key)
    raise _BadYaml(path, "a mapping key must be a plain word: quote it", at)


class _BadYaml(Exception):
    """A YAML shape no config can have (recursive alias, complex key), located at `path`."""

    def __init__(self, path: FieldPath, message: str, at: tuple[int, int] | None = None) -> None:
        self.path = path
        self.message = message
        self.at = at


class _RecursiveAlias(_BadYaml):
    def __init__(self, path: FieldPath) -> None:
        super().__init__(path, "a YAML alias refers to itself")


class _Constructor(RoundTripConstructor):
    """ruamel's round-trip constructor, minus the text of duplicate keys and values in its error.

    ruamel formats the duplicate's value into the message: under an alias bomb that formatting
    expands every alias and runs for minutes. Our message never shows it anyway.
    """

    def check_mapping_key(self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any) -> bool:  # noqa: ARG002
        if key in mapping:
            raise DuplicateKeyError(
                "while constructing a mapping", node.start_mark, "found duplicate key", key_node.start_mark
            )
        return True

    def check_set_key(self, node: Any, key_node: Any, setting: Any, key: Any) -> None:
        if key in setting:
            raise DuplicateKeyError(
                "while constructing a set", node.start_mark, "found duplicate key", key_node.start_mark
            )


def parse_yaml(text: str, file: str = "homelab.yaml") -> tuple[dict[str, Any], SourceMap]:
    """Parse YAML text into plain data and a source map; syntax errors become located Problems."""
    smap = SourceMap(file=file)
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(
            [
                Problem(
                    "",
                    f"the file is {len(text)} characters long; a homelab config is at most "
                    f"{MAX_CONFIG_BYTES} (256 KiB)",
                    "is this the right file?",
                    1,
                    1,
                    file,
                )
            ]
        )
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.allow_duplicate_keys = False
    try:
        with warnings.catch_warnings():
            # Redefining an anchor is legal YAML; ruamel's warning would only litter the output.
            warnings.simplefilter("ignore")
            tree = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        what = (exc.problem or exc.context or "invalid YAML").strip()
        if "duplicate key" in what or "found duplicate key" in str(exc):
            what = "duplicate key: a key may appear only once in a mapping"
        raise ConfigError(
            [
                Problem(
                    "", f"YAML syntax error: {what}", "fix the YAML syntax at this position", line, col, file
                )
            ]
        ) from None
    except RecursionError:
        raise ConfigError([Problem("", _TOO_DEEP, "", 1, 1, file)]) from None
    except (YAMLError, ValueError, TypeError, AttributeError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError([Problem("", f"YAML could not be read: {message}", "", 1, 1, file)]) from None
    if tree is None:
        raise ConfigError([Problem("", "the file is empty", "start from `homelab init`", 1, 1, file)])
    if not isinstance(tree, CommentedMap):
        raise ConfigError(
            [
                Problem(
                    "",
                    "the top level must be a mapping of keys (name:, domain:, proxmox:, ...)",
                    "",
                    1,
                    1,
                    file,
                )
            ]
        )
    with contextlib.suppress(TypeError, AttributeError):
        # Problems of the whole file (a missing top-level section) point at its first key.
        smap.keys[()] = (int(tree.lc.line), int(tree.lc.col))
    try:
        data = _plain(tree, (), smap, set(), _Budget())
    except _BadYaml as exc:
        line, col = (exc.at[0] + 1, exc.at[1] + 1) if exc.at else smap.locate(exc.path)
        hint = "remove the recursive alias" if isinstance(exc, _RecursiveAlias) else ""
        raise ConfigError([Problem(format_path(exc.path), exc.message, hint, line, col, file)]) from None
    except RecursionError:
        raise ConfigError([Problem("", _TOO_DEEP, "", 1, 1, file)]) from None
    return data, smap


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types inside Optional/Union/Annotated/list/dict, for walking the schema."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _step(current: Any, step: str | int) -> Any:
    """The annotation one path step below `current`, or None when the step leads nowhere."""
    for cand in _unwrap(current):
        origin = typing.get_origin(cand)
        if isinstance(step, int) and origin is list:
            return typing.get_args(cand)[0]
        if isinstance(step, str) and origin is dict:
            return typing.get_args(cand)[1]
        if isinstance(step, str) and isinstance(cand, type) and issubclass(cand, BaseModel):
            for name, info in cand.model_fields.items():
                if step in (name, info.alias):
                    return info.annotation
    return None


def _is_container(annotation: Any) -> bool:
    return any(
        typing.get_origin(c) in (list, dict) or (isinstance(c, type) and issubclass(c, BaseModel))
        for c in _unwrap(annotation)
    )


def _model_at(path: FieldPath) -> type[BaseModel] | None:
    """The pydantic model class that governs the mapping at `path` (for 'did you mean' hints)."""
    current: Any = HomelabConfig
    for step in path:
        current = _step(current, step)
        if current is None:
            return None
    for cand in _unwrap(current):
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            return cand
    return None


def _user_path(loc: FieldPath) -> FieldPath:
    """`loc` without pydantic's union-member tags (`ports[0].constrained-str` -> `ports[0]`).

    A string step below a scalar-typed field cannot be a key the user wrote: it names the union
    member pydantic tried, which means nothing to the user and is located nowhere in the file.
    """
    current: Any = HomelabConfig
    kept: list[str | int] = []
    for step in loc:
        if current is not None and isinstance(step, str) and not _is_container(current):
            continue
        kept.append(step)
        current = _step(current, step) if current is not None else None
    return tuple(kept)


def _known_keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _describe(error: Any) -> tuple[str, str]:
    """A user-facing message and hint for one pydantic error."""
    kind = error["type"]
    loc = tuple(error["loc"])
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        hint = ""
        if model is not None:
            known = _known_keys(model)
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "known keys: " + ", ".join(known)
        return f"unknown key '{loc[-1]}'", hint
    if kind == "missing":
        return "is required but missing", "add it (see homelab.schema.json for what it means)"
    if kind == "string_pattern_mismatch":
        return f"{error['input']!r} {_pattern_words(error['ctx']['pattern'])}", ""
    if kind == "string_type" and isinstance(error["input"], bool) and _field_pattern(loc):
        return (
            f"{_shown(error['input'])} {_pattern_words(_field_pattern(loc))}",
            "",
        )
    if kind == "bool_type":
        return f"{_shown(error['input'])} must be true or false", (
            "YAML reads yes, no, on and off as text here: write true or false"
            if isinstance(error["input"], str)
            else ""
        )
    if kind in ("int_type", "int_parsing", "int_from_float"):
        value = error["input"]
        numeric = isinstance(value, str) and value.strip().lstrip("+-").isdecimal()
        hint = "true and false are not numbers" if isinstance(value, bool) else ""
        return f"{_shown(value)} must be a whole number", "write it without quotes" if numeric else hint
    if kind == "ip_v4_network":
        return _network_words(error["input"])
    last = str(loc[-1]) if loc else ""
    if kind == "string_type" and last.endswith("version") and isinstance(error["input"], int | float):
        return (
            f"{error['input']!r} is a number, not a version: {_pattern_words(_field_pattern(loc))}",
            "write the whole version; YAML reads 1.2 as a number",
        )
    if kind == "dict_type" and last == "values":
        return (
            "must be a mapping of Helm values, as in a values file",
            "write keys under it, e.g. `values: {deployment: {replicas: 2}}`",
        )
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return message, ""


def _network_words(value: Any) -> tuple[str, str]:
    """Say *why* a subnet is wrong: host bits set is the usual slip (10.10.10.1/24)."""
    try:
        network = IPv4Network(str(value), strict=False)
    except ValueError:
        return f"{value!r} is not an IPv4 subnet", "write it like 10.10.10.0/24"
    return f"{value} has host bits set", f"the subnet is {network}"


def _pattern_words(regex: str | None) -> str:
    """What a value of this pattern must be, in the words the schema registered with it."""
    return PATTERN_WORDS.get(regex or "", "has an invalid format")


def _field_pattern(loc: FieldPath) -> str | None:
    """The pattern of the string field (or list item) at `loc`, for an error that is not a pattern
    mismatch (a number or a boolean where text belongs)."""
    found: list[Any] = []
    if loc and isinstance(loc[-1], str):
        parent = _model_at(loc[:-1])
        info = parent.model_fields.get(loc[-1]) if parent is not None else None
        if info is not None:
            found = [*info.metadata, *_annotated_metadata(info.annotation)]
    elif loc:
        current: Any = HomelabConfig
        for step in loc:
            current = _step(current, step) if current is not None else None
        found = _annotated_metadata(current)
    return next((m.pattern for m in found if isinstance(getattr(m, "pattern", None), str)), None)


def _shown(value: object) -> str:
    """A value as the user wrote it: YAML's `true` and `null`, not Python's `True` and `None`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null (an empty value)" if value is None else repr(value)


def _annotated_metadata(annotation: Any) -> list[Any]:
    """Every `Annotated[...]` metadata item inside `annotation` (through unions)."""
    if typing.get_origin(annotation) is typing.Annotated:
        return list(annotation.__metadata__) + _annotated_metadata(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _annotated_metadata(arg)]
    return []


def _pydantic_problems(exc: ValidationError, smap: SourceMap) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[FieldPath] = set()
    for error in exc.errors():
        loc = _user_path(tuple(error["loc"]))
        error["loc"] = loc
        message, hint = _describe(error)
        if loc in seen:  # a union's members each fail; the first says it best
            continue
        seen.add(loc)
        prefer_key = error["type"] in ("extra_forbidden", "missing")
        line, col = smap.locate(loc, prefer_key=prefer_key)
        problems.append(Problem(format_path(loc), message, hint, line, col, smap.file))
    return problems


def format_path(path: FieldPath) -> str:
    """`('apps', 1, 'host')` -> `apps[1].host`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def problem_at(
    smap: SourceMap, path: FieldPath, message: str, hint: str, *, severity: str = "error", check: str = ""
) -> Problem:
    """A problem with `path` in the file: where it was written (or its nearest written ancestor)."""
    line, col = smap.locate(path)
    return Problem(format_path(path), message, hint, line, col, smap.file, severity, check)


def parse_config(text: str, file: str = "homelab.yaml") -> LoadedConfig:
    """Parse and validate the shape (types, patterns, unknown keys); raise ConfigError with every
    shape error. The semantic checks run above this (`homelabeazy.checks.load_config`)."""
    shaped = shape_config(text, file)
    if shaped.problems:
        raise ConfigError(list(shaped.problems))
    assert shaped.loaded is not None  # no shape problem: the config validated
    return shaped.loaded


@dataclass(frozen=True)
class Shaped:
    """The shape check of one file: its problems, and the config that remains without the parts
    they point at (None when what remains does not validate either).

    The semantic checks can still run on `loaded` when there are problems, so one run reports an
    unknown key and a VIP outside its VLAN together; their findings on a `set_aside` path (or, for
    a value replaced by its default, above it) are not to be believed and must be dropped.
    """

    problems: tuple[Problem, ...]
    loaded: LoadedConfig | None
    set_aside: tuple[FieldPath, ...] = ()
    """Paths of the keys left out (unknown keys) and values left to their default (invalid ones)."""
    defaulted: tuple[FieldPath, ...] = ()
    """Of those, the values that took their default: findings about anything holding them are
    about a value the user did not write."""


MAX_SET_ASIDE = 50
"""A file with more shape problems than this is not worth a semantic pass: report the shape."""


def shape_config(text: str, file: str = "homelab.yaml") -> Shaped:
    """Parse and validate the shape; on shape problems, validate the rest once more without the
    keys and values they point at (see `Shaped`). Raises ConfigError only for unreadable YAML."""
    data, smap = parse_yaml(text, file)
    try:
        return Shaped((), LoadedConfig(HomelabConfig.model_validate(data), smap))
    except ValidationError as exc:
        problems = tuple(_pydantic_problems(exc, smap))
        errors = exc.errors()
    unknown = [_user_path(tuple(e["loc"])) for e in errors if e["type"] == "extra_forbidden"]
    invalid = [_user_path(tuple(e["loc"])) for e in errors if e["type"] != "extra_forbidden"]
    if len(unknown) + len(invalid) > MAX_SET_ASIDE or not _defaultable(invalid):
        return Shaped(problems, None)
    rest = _without(data, [*unknown, *invalid])
    try:
        config = HomelabConfig.model_validate(rest)
    except ValidationError:
        return Shaped(problems, None)
    return Shaped(problems, LoadedConfig(config, smap), (*unknown, *invalid), tuple(invalid))


def _defaultable(paths: list[FieldPath]) -> bool:
    """Each invalid value is a mapping key whose field has a default: leaving it out keeps every
    list index and every required field where it was (else the rest means something else)."""
    for path in paths:
        if not path or not isinstance(path[-1], str):
            return False
        model = _model_at(path[:-1])
        if model is None:
            return False
        fields = {info.alias or name: info for name, info in model.model_fields.items()}
        info = fields.get(path[-1])
        if info is None or info.is_required():
            return False
    return True


def _without(data: Any, paths: list[FieldPath]) -> Any:
    """A copy of `data` without the keys at `paths` (each ends in a mapping key)."""
    if not paths:
        return data
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if (key,) in paths:
                continue
            out[key] = _without(value, [p[1:] for p in paths if p[:1] == (key,) and len(p) > 1])
        return out
    if isinstance(data, list):
        return [
            _without(item, [p[1:] for p in paths if p[:1] == (i,) and len(p) > 1])
            for i, item in enumerate(data)
        ]
    return data
