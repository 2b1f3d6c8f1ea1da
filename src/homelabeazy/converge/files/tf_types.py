"""Terraform type constraints (`map(object({a = string}))`) and a check of JSON values against them.

Used by `validate --deep` to prove that the generated `homelab.auto.tfvars.json` fits
`variables.tf` without running terraform (whose providers may be unavailable). The check is
stricter than Terraform: no implicit number->string conversion, no undeclared object attributes,
and null only where the attribute is `optional(...)` or the variable has a default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

PRIMITIVES = frozenset({"string", "number", "bool", "any"})
COLLECTIONS = frozenset({"list", "set", "map"})


@dataclass(frozen=True)
class TfType:
    """A parsed type constraint. `kind` is a primitive, a collection, `object` or `tuple`."""

    kind: str
    element: TfType | None = None
    attributes: dict[str, TfType] = field(default_factory=dict)
    optional: frozenset[str] = frozenset()
    items: tuple[TfType, ...] = ()


class TypeSyntaxError(ValueError):
    """The type expression is not one this parser understands."""


_OPENERS = frozenset("([{")
_CLOSERS = frozenset(")]}")
_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_-]*)|(.))", re.S)


def parse_type(text: str) -> TfType:
    """Parse a type constraint as written in variables.tf (python-hcl2 wraps it in `${...}`)."""
    text = text.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    parser = _Parser(text)
    result = parser.type_expr()
    parser.expect_end()
    return result


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = [m.group(1) or m.group(2) for m in _TOKEN.finditer(text) if (m.group(1) or m.group(2))]
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise TypeSyntaxError(f"expected {expected or 'a token'}, found {token or 'end of type'}")
        self.pos += 1
        return token

    def expect_end(self) -> None:
        if self.peek() is not None:
            raise TypeSyntaxError(f"unexpected {self.peek()} after the type")

    def type_expr(self) -> TfType:
        name = self.take()
        if name in PRIMITIVES:
            return TfType(name)
        if name in COLLECTIONS:
            self.take("(")
            element = self.type_expr()
            self.take(")")
            return TfType(name, element=element)
        if name == "object":
            return self._object()
        if name == "tuple":
            self.take("(")
            self.take("[")
            items = []
            while self.peek() != "]":
                items.append(self.type_expr())
                if self.peek() == ",":
                    self.take(",")
            self.take("]")
            self.take(")")
            return TfType("tuple", items=tuple(items))
        raise TypeSyntaxError(f"unknown type {name}")

    def _object(self) -> TfType:
        self.take("(")
        self.take("{")
        attributes: dict[str, TfType] = {}
        optional: set[str] = set()
        while self.peek() != "}":
            key = self.take()
            self.take("=")
            if self.peek() == "optional":
                self.take("optional")
                self.take("(")
                attributes[key] = self.type_expr()
                if self.peek() == ",":
                    self._skip_to_close()
                self.take(")")
                optional.add(key)
            else:
                attributes[key] = self.type_expr()
            if self.peek() == ",":
                self.take(",")
        self.take("}")
        self.take(")")
        return TfType("object", attributes=attributes, optional=frozenset(optional))

    def _skip_to_close(self) -> None:
        """Skip an optional() default value: everything up to the matching `)`."""
        depth = 0
        while True:
            token = self.peek()
            if token is None:
                raise TypeSyntaxError("unterminated optional(...)")
            if token in _OPENERS:
                depth += 1
            elif token in _CLOSERS:
                if depth == 0:
                    return
                depth -= 1
            self.pos += 1


def type_problems(value: Any, tf_type: TfType, path: str, *, nullable: bool = False) -> list[str]:
    """Every place `value` does not fit `tf_type`, as `path: message`."""
    if value is None:
        return [] if nullable else [f"{path}: is null but not optional"]
    kind = tf_type.kind
    if kind == "any":
        return []
    if kind == "string":
        return [] if isinstance(value, str) else [f"{path}: expected a string, got {_name(value)}"]
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number, got {_name(value)}"]
    if kind == "bool":
        return [] if isinstance(value, bool) else [f"{path}: expected a bool, got {_name(value)}"]
    if kind in ("list", "set"):
        if not isinstance(value, list):
            return [f"{path}: expected a {kind}, got {_name(value)}"]
        assert tf_type.element is not None
        return [p for i, v in enumerate(value) for p in type_problems(v, tf_type.element, f"{path}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {_name(value)}"]
        assert tf_type.element is not None
        return [p for k, v in value.items() for p in type_problems(v, tf_type.element, f"{path}.{k}")]
    if kind == "tuple":
        if not isinstance(value, list) or len(value) != len(tf_type.items):
            return [f"{path}: expected a tuple of {len(tf_type.items)}"]
        return [
            p
            for i, (v, t) in enumerate(zip(value, tf_type.items, strict=True))
            for p in type_problems(v, t, f"{path}[{i}]")
        ]
    return _object_problems(value, tf_type, path)


def _object_problems(value: Any, tf_type: TfType, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object, got {_name(value)}"]
    problems = [
        f"{path}.{k}: attribute not declared in the type" for k in value if k not in tf_type.attributes
    ]
    for key, attr_type in tf_type.attributes.items():
        if key not in value:
            if key not in tf_type.optional:
                problems.append(f"{path}.{key}: required attribute is missing")
            continue
        problems.extend(
            type_problems(value[key], attr_type, f"{path}.{key}", nullable=key in tf_type.optional)
        )
    return problems


def _name(value: Any) -> str:
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
