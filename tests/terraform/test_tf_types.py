"""Terraform type constraints: parsing what python-hcl2 returns, and checking JSON values."""

from __future__ import annotations

from typing import Any

import hcl2
import pytest

from homelabeazy.converge.files.tf_types import TfType, TypeSyntaxError, parse_type, type_problems


def hcl_type(expression: str) -> str:
    """The `type` string exactly as python-hcl2 returns it for `type = <expression>`."""
    parsed = hcl2.loads(f'variable "v" {{\n  type = {expression}\n}}\n')
    return str(next(iter(parsed["variable"][0].values()))["type"])


def test_parses_nested_object_map_with_optional() -> None:
    tf_type = parse_type(hcl_type("map(object({ a = string, b = optional(number), c = list(bool) }))"))
    assert tf_type.kind == "map"
    assert tf_type.element is not None
    assert tf_type.element.kind == "object"
    assert set(tf_type.element.attributes) == {"a", "b", "c"}
    assert tf_type.element.optional == frozenset({"b"})
    assert tf_type.element.attributes["c"] == TfType("list", element=TfType("bool"))


def test_parses_multiline_object_and_optional_default() -> None:
    text = hcl_type(
        'object({\n    a = string\n    b = optional(string, "x")\n    t = tuple([string, number])\n  })'
    )
    tf_type = parse_type(text)
    assert tf_type.optional == frozenset({"b"})
    assert tf_type.attributes["t"].items == (TfType("string"), TfType("number"))


@pytest.mark.parametrize("bad", ["strng", "map(string", "object({a = })", "list(string) extra"])
def test_rejects_unknown_syntax(bad: str) -> None:
    with pytest.raises(TypeSyntaxError):
        parse_type(bad)


SPEC = parse_type("map(object({ n = number, s = string, b = bool, l = list(string), o = optional(string) }))")


@pytest.mark.parametrize(
    ("value", "problems"),
    [
        ({"x": {"n": 1, "s": "a", "b": True, "l": ["q"]}}, []),
        ({"x": {"n": 1, "s": "a", "b": True, "l": [], "o": None}}, []),
        ({"x": {"n": "1", "s": "a", "b": True, "l": []}}, ["v.x.n: expected a number, got a string"]),
        ({"x": {"n": True, "s": "a", "b": True, "l": []}}, ["v.x.n: expected a number, got a bool"]),
        ({"x": {"n": 1, "s": 2, "b": True, "l": []}}, ["v.x.s: expected a string, got a number"]),
        ({"x": {"n": 1, "s": "a", "b": "yes", "l": []}}, ["v.x.b: expected a bool, got a string"]),
        ({"x": {"n": 1, "s": "a", "b": True, "l": [3]}}, ["v.x.l[0]: expected a string, got a number"]),
        ({"x": {"n": 1, "s": "a", "b": True}}, ["v.x.l: required attribute is missing"]),
        ({"x": {"n": 1, "s": "a", "b": True, "l": [], "z": 1}}, ["v.x.z: attribute not declared in the type"]),  # noqa: E501
        ({"x": {"n": None, "s": "a", "b": True, "l": []}}, ["v.x.n: is null but not optional"]),
        ([1], ["v: expected a map, got a list"]),
    ],
    ids=["ok", "optional-null", "num-str", "num-bool", "str-num", "bool-str", "list-elem", "missing", "extra",
         "null", "not-map"],
)  # fmt: skip
def test_type_problems(value: Any, problems: list[str]) -> None:
    assert type_problems(value, SPEC, "v") == problems


def test_nullable_variable_accepts_null() -> None:
    assert type_problems(None, SPEC, "v", nullable=True) == []
