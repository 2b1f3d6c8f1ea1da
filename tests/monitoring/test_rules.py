"""The rendered alert rules pass real `promtool check rules`, and `promtool test rules` proves
each alert fires on the series that mean trouble and stays silent on healthy ones."""

from __future__ import annotations

import dataclasses
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.monitoring.cases import CASES
from tests.monitoring.promtool_tests import expand, unit_tests
from tests.support.integration import need_binary

PROMTOOL_HINT = "Debian package `prometheus` (make test installs it)"


def _alerts(rules: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for g in rules["groups"] for r in g["rules"] if "alert" in r]


def _write(tmp_path: Path, rules: dict[str, Any], cases: Any = CASES) -> Path:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    test_file = tmp_path / "alerts_test.yaml"
    test_file.write_text(
        yaml.safe_dump(unit_tests("rules.yaml", rules, cases), sort_keys=False), encoding="utf-8"
    )
    return test_file


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = need_binary("promtool", PROMTOOL_HINT)
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_every_alert_has_a_runbook_a_summary_and_a_severity(example_rules: dict[str, Any]) -> None:
    alerts = _alerts(example_rules)
    assert len(alerts) >= 12
    for alert in alerts:
        assert alert["annotations"]["runbook"].strip(), alert["alert"]
        assert alert["annotations"]["summary"].strip(), alert["alert"]
        assert alert["labels"]["severity"] in ("critical", "warning"), alert["alert"]


def test_every_alert_has_a_firing_and_a_silent_case(example_rules: dict[str, Any]) -> None:
    assert {a["alert"] for a in _alerts(example_rules)} == {c.alert for c in CASES}


@pytest.mark.integration
def test_promtool_check_rules_accepts_the_rendered_rules(
    example_rules: dict[str, Any], tmp_path: Path
) -> None:
    _write(tmp_path, example_rules)
    result = _promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_alerts(example_rules))} rules found" in result.stdout


@pytest.mark.integration
def test_promtool_check_rules_refuses_a_broken_expression(
    example_rules: dict[str, Any], tmp_path: Path
) -> None:
    broken = {"groups": [{"name": "homelab", "rules": [{**_alerts(example_rules)[0], "expr": "up == == 0"}]}]}
    _write(tmp_path, broken, ())
    result = _promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert result.returncode != 0


@pytest.mark.integration
def test_each_alert_fires_on_trouble_and_stays_silent_when_healthy(
    example_rules: dict[str, Any], tmp_path: Path
) -> None:
    test_file = _write(tmp_path, example_rules)
    started = time.monotonic()
    result = _promtool("test", "rules", test_file.name, cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    print(f"promtool test rules: {2 * len(CASES)} groups in {elapsed:.2f}s")


@pytest.mark.integration
@pytest.mark.parametrize("case", CASES[:3] + CASES[-2:], ids=lambda c: c.alert)
def test_the_unit_tests_catch_an_alert_that_fires_when_healthy(
    example_rules: dict[str, Any], tmp_path: Path, case: Any
) -> None:
    """Healthy series that are really trouble: the silent group must fail, so it can fail."""
    swapped = dataclasses.replace(case, healthy=case.trouble)
    result = _promtool("test", "rules", _write(tmp_path, example_rules, (swapped,)).name, cwd=tmp_path)
    assert result.returncode != 0
    assert "stays silent" in result.stdout + result.stderr


def test_annotation_templates_expand_labels_and_value() -> None:
    assert expand("{{ $labels.a }}/{{$labels.b}} is {{ $value }}", {"a": "x", "b": "y"}, "2") == "x/y is 2"
