"""Reading plain object documents: nested fields and Kubernetes label selectors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def dig(doc: Any, *keys: str) -> Any:
    """`doc[k1][k2]...`, or None as soon as a level is missing or not a mapping."""
    for key in keys:
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(key)
    return doc


def as_list(value: Any) -> list[Any]:
    """`value` when it is a list, else an empty list (a malformed field selects nothing)."""
    return value if isinstance(value, list) else []


def as_map(value: Any) -> Mapping[str, Any]:
    """`value` when it is a mapping, else an empty mapping."""
    return value if isinstance(value, Mapping) else {}


def labels_match(selector: Any, labels: Mapping[str, Any]) -> bool:
    """Whether a LabelSelector (`matchLabels` and `matchExpressions`) selects `labels`.

    A missing or empty selector selects everything, as the API server reads it for webhooks.
    """
    if not isinstance(selector, Mapping):
        return True
    for key, value in as_map(selector.get("matchLabels")).items():
        if labels.get(key) != value:
            return False
    return all(expression_matches(e, labels) for e in as_list(selector.get("matchExpressions")))


def expression_matches(expression: Any, labels: Mapping[str, Any]) -> bool:
    """One `matchExpressions` entry against a label set. `In`, `NotIn`, `Exists`, `DoesNotExist`
    are a LabelSelector's operators; `Gt` and `Lt` (integers) a node selector term's. An operator
    the API server does not know matches nothing (the schema check reports the object)."""
    if not isinstance(expression, Mapping):
        return False
    key, operator = str(expression.get("key")), expression.get("operator")
    values = [str(v) for v in as_list(expression.get("values"))]
    present = key in labels
    have = str(labels[key]) if present else ""
    if operator == "In":
        return present and have in values
    if operator == "NotIn":
        return not present or have not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and values:
        try:
            number, bound = int(have), int(values[0])
        except ValueError:
            return False
        return number > bound if operator == "Gt" else number < bound
    return False


def equality_selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """Whether a Service-style selector (plain key: value pairs, all required) selects `labels`."""
    return all(labels.get(k) == v for k, v in selector.items())
