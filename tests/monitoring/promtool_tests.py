"""Builds promtool unit-test files from the cases: one firing and one silent group per case."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from tests.monitoring.cases import Case

_TEMPLATE = re.compile(r"\{\{\s*\$(labels\.([A-Za-z_]+)|value)\s*\}\}")


def expand(text: str, labels: Mapping[str, str], value: str) -> str:
    """The annotation as Prometheus expands it (only `$labels.x` and `$value` are used)."""
    return _TEMPLATE.sub(lambda m: value if m.group(1) == "value" else labels.get(m.group(2), ""), text)


def _series(series: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"series": name, "values": values} for name, values in series.items()]


def _expected(rule: Mapping[str, Any], case: Case) -> list[dict[str, Any]]:
    severity = rule["labels"]["severity"]
    return [
        {
            "exp_labels": {**labels, "severity": severity},
            "exp_annotations": {k: expand(v, labels, case.value) for k, v in rule["annotations"].items()},
        }
        for labels in case.labels
    ]


def unit_tests(rule_file: str, rules: Mapping[str, Any], cases: Iterable[Case]) -> dict[str, Any]:
    """A promtool test file: each case's trouble must raise exactly its alerts, its healthy
    series none."""
    by_name = {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}
    tests: list[dict[str, Any]] = []
    for case in cases:
        rule = by_name[case.alert]
        for series, expected in ((case.trouble, _expected(rule, case)), (case.healthy, [])):
            tests.append(
                {
                    "name": f"{case.alert} {'fires' if expected else 'stays silent'}",
                    "interval": case.interval,
                    "input_series": _series(series),
                    "alert_rule_test": [
                        {"eval_time": case.eval_time, "alertname": case.alert, "exp_alerts": expected}
                    ],
                }
            )
    return {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": tests}
