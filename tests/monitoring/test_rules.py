"""The rendered alert rules: real `promtool check rules` accepts them, each has a runbook, and the
thresholds that depend on the homelab come from the model (the silence-and-fire proof of every rule
is tests/monitoring/test_alert_proof.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.model import Homelab
from tests.conftest import monitored_example_data
from tests.monitoring.conftest import rendered_rules
from tests.support.alert_proof.promtool import alerts_of
from tests.support.integration import need_binary

PROMTOOL_HINT = "Debian package `prometheus` (make test installs it)"


def _write(tmp_path: Path, rules: dict[str, Any]) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = need_binary("promtool", PROMTOOL_HINT)
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def _named(rules: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [r for r in alerts_of(rules) if r["alert"] == name]


def test_every_alert_has_a_runbook_a_summary_and_a_severity(example_rules: dict[str, Any]) -> None:
    alerts = alerts_of(example_rules)
    assert len(alerts) >= 12
    for alert in alerts:
        assert alert["annotations"]["runbook"].strip(), alert["alert"]
        assert alert["annotations"]["summary"].strip(), alert["alert"]
        assert alert["labels"]["severity"] in ("critical", "warning"), alert["alert"]


def test_each_velero_schedule_is_late_after_its_own_period(example_rules: dict[str, Any]) -> None:
    """The example's weekly schedule is not late on day two (one 26 h limit fired six days in seven)."""
    rules = {
        r["expr"].split('schedule="')[1].split('"')[0]: r
        for r in _named(example_rules, "HomelabBackupMissing")
    }
    assert sorted(rules) == ["daily", "weekly"]
    assert rules["daily"]["expr"].endswith(f"> {26 * 3600}")
    assert rules["weekly"]["expr"].endswith(f"> {7 * 86400 + 2 * 3600}")
    assert "for 7d2h" in rules["weekly"]["annotations"]["summary"]


@pytest.mark.parametrize(("servers", "quorum"), [(1, None), (3, 2), (5, 3)])
def test_etcd_quorum_is_at_risk_only_where_a_member_can_be_lost(
    homelab_from: Callable[[dict[str, Any]], Homelab], servers: int, quorum: int | None
) -> None:
    """One server has no margin to watch: the old rule (1 < floor(1/2)+1+1) fired forever there."""
    data = monitored_example_data()
    data["cluster"]["servers"]["count"] = servers
    rules = _named(rendered_rules(homelab_from(data)), "HomelabEtcdQuorumAtRisk")
    if quorum is None:
        assert rules == []
        return
    (rule,) = rules
    assert rule["expr"] == f'sum(up{{job="kube-etcd"}} == bool 1) == {quorum}'
    assert f"of {servers} etcd members" in rule["annotations"]["summary"]


def test_alerts_of_services_that_do_not_run_are_not_rendered(
    homelab_from: Callable[[dict[str, Any]], Homelab],
) -> None:
    data = monitored_example_data()
    data["services"]["velero"]["enabled"] = False
    names = {r["alert"] for r in alerts_of(rendered_rules(homelab_from(data)))}
    assert not names & {"HomelabBackupMissing", "HomelabBackupLocationUnavailable"}
    assert "HomelabNodeDown" in names


@pytest.mark.integration
def test_promtool_check_rules_accepts_the_rendered_rules(
    example_rules: dict[str, Any], tmp_path: Path
) -> None:
    _write(tmp_path, example_rules)
    result = _promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts_of(example_rules))} rules found" in result.stdout


@pytest.mark.integration
def test_promtool_check_rules_refuses_a_broken_expression(
    example_rules: dict[str, Any], tmp_path: Path
) -> None:
    broken = {
        "groups": [{"name": "homelab", "rules": [{**alerts_of(example_rules)[0], "expr": "up == == 0"}]}]
    }
    _write(tmp_path, broken)
    result = _promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert result.returncode != 0
