"""Every threshold of the alert rules on each side, in the unit Prometheus compares it in.

`time()` and Velero's `velero_backup_last_successful_timestamp` are Unix seconds (Velero sets the
gauge from `time.Unix()`), so a backup rule's threshold is the schedule's allowed age in seconds
(model/schedules.late_after): not minutes, not `timedelta.seconds` (which drops the days). The
unit tests pin the number for schedules on each side of the 12-hour allowance edge; the promtool
tests evaluate the rendered expression with real PromQL exactly at the limit (silent) and one step
past it (late), so a `>` made `>=`, or a threshold in the wrong unit, fails here. The rendered
rules' text is a golden file (tests/golden/monitoring-rules/); the rules' numbers are tested here.
"""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.model import Homelab, build
from homelabeazy.render.k8s.services.monitoring_rules import (
    VELERO_METRIC,
    backup_alerts,
    etcd_quorum_alerts,
    rule_groups,
    span,
)
from tests.conftest import monitored_example_data
from tests.monitoring.conftest import rendered_rules
from tests.support.golden import assert_golden
from tests.support.integration import need_binary

SCHEDULES = [
    # (cron, the allowed age in seconds, as the summary writes it, the longest gap as it writes it)
    ("0 * * * *", 2 * 3600, "2h", "1h"),  # frequent: twice the period
    ("0 */6 * * *", 12 * 3600, "12h", "6h"),
    ("0 0,12 * * *", 14 * 3600, "14h", "12h"),  # exactly 12 h is not frequent: the period + 2 h
    ("0 0,11 * * *", 15 * 3600, "15h", "13h"),
    ("0 3 * * *", 26 * 3600, "26h", "24h"),
    ("0 4 * * 0", 7 * 86400 + 2 * 3600, "7d2h", "7d"),
    ("0 1 1 * *", 31 * 86400 + 2 * 3600, "31d2h", "31d"),
]


def _homelab(data: dict[str, Any]) -> Homelab:
    return build(load_config(yaml.safe_dump(data, sort_keys=False)).config)


def _velero_homelab(crons: list[str]) -> Homelab:
    data = monitored_example_data()
    data["services"]["velero"]["schedules"] = [
        {"name": f"s{i}", "cron": cron, "ttl": "720h"} for i, cron in enumerate(crons)
    ]
    return _homelab(data)


@pytest.fixture(scope="module")
def schedule_rules() -> dict[str, dict[str, Any]]:
    homelab = _velero_homelab([cron for cron, *_ in SCHEDULES])
    return {alert.labels[0][1]: alert.rule() for alert in backup_alerts(homelab)}


@pytest.mark.parametrize(("index", "schedule"), list(enumerate(SCHEDULES)), ids=[s[0] for s in SCHEDULES])
def test_backup_threshold_is_the_allowed_age_in_seconds(
    schedule_rules: dict[str, dict[str, Any]], index: int, schedule: tuple[str, int, str, str]
) -> None:
    cron, seconds, limit, gap = schedule
    rule = schedule_rules[f"s{index}"]
    assert rule["expr"] == (
        f'time() - max by (schedule) ({VELERO_METRIC}{{schedule="s{index}"}}) > {seconds}'
    )
    assert rule["labels"] == {"severity": "critical", "schedule": f"s{index}"}
    assert (rule["alert"], rule["for"]) == ("HomelabBackupMissing", "15m")
    assert rule["annotations"]["summary"] == (
        f"No successful Velero backup of schedule s{index} for {limit}"
        f" (it runs `{cron}`, at most {gap} apart)"
    )


def test_one_backup_rule_per_schedule_and_none_without_velero() -> None:
    homelab = _velero_homelab(["0 3 * * *", "0 3 * * *"])
    assert [a.labels for a in backup_alerts(homelab)] == [(("schedule", "s0"),), (("schedule", "s1"),)]
    data = monitored_example_data()
    data["services"]["velero"]["enabled"] = False
    assert backup_alerts(_homelab(data)) == []


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "0m"),
        (timedelta(minutes=45), "45m"),
        (timedelta(minutes=59, seconds=59), "59m"),
        (timedelta(hours=1), "1h"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(hours=26), "26h"),
        (timedelta(hours=47, minutes=59), "47h59m"),
        (timedelta(hours=48), "2d"),
        (timedelta(days=2, minutes=30), "2d30m"),
        (timedelta(days=7, hours=2), "7d2h"),
        (timedelta(days=7, hours=2, minutes=5), "7d2h5m"),
    ],
)
def test_span_is_how_people_write_it(delta: timedelta, text: str) -> None:
    assert span(delta) == text


@pytest.mark.parametrize(("members", "quorum"), [(1, None), (2, None), (3, 2), (4, 3), (5, 3), (7, 4)])
def test_quorum_at_risk_only_with_a_member_to_spare(members: int, quorum: int | None) -> None:
    """At risk means exactly a quorum is up: with 1 or 2 members no member can be lost at all."""
    homelab = cast(Homelab, SimpleNamespace(servers=[object()] * members))
    alerts = etcd_quorum_alerts(homelab)
    if quorum is None:
        assert alerts == []
        return
    (alert,) = alerts
    assert alert.expr == f'sum(up{{job="kube-etcd"}} == bool 1) == {quorum}'
    assert (alert.name, alert.duration, alert.severity) == ("HomelabEtcdQuorumAtRisk", "5m", "critical")
    assert (
        alert.summary
        == f"Only {{{{ $value }}}} of {members} etcd members are up: one more failure loses quorum"
    )


def test_the_rendered_rules_match_golden(monitored_homelab: Homelab) -> None:
    """Names, durations, summaries and runbooks as the user reads them (the numbers are above)."""
    text = yaml.safe_dump({"groups": rule_groups(monitored_homelab)}, sort_keys=False, width=4096)
    assert_golden({"rules.yaml": text}, "monitoring-rules")
    assert rendered_rules(monitored_homelab) == {"groups": rule_groups(monitored_homelab)}


# --- the expressions in Prometheus's own evaluation, on each side of each threshold -----------------


def _promql(
    tmp_path: Path, series: dict[str, str], checks: list[tuple[str, str, list[dict[str, Any]]]]
) -> None:
    """`promtool test rules` over `series` (1 m steps): each (expr, eval_time, expected samples)."""
    test = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": name, "values": values} for name, values in series.items()],
                "promql_expr_test": [
                    {"expr": expr, "eval_time": at, "exp_samples": samples} for expr, at, samples in checks
                ],
            }
        ],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test, sort_keys=False), encoding="utf-8")
    binary = need_binary("promtool", "Debian package `prometheus` (make test installs it)")
    done = subprocess.run(
        [binary, "test", "rules", "test.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.integration
@pytest.mark.parametrize(
    ("index", "schedule"), list(enumerate(SCHEDULES[:5])), ids=[s[0] for s in SCHEDULES[:5]]
)
def test_backup_rule_is_silent_at_its_limit_and_late_one_minute_past(
    schedule_rules: dict[str, dict[str, Any]], index: int, schedule: tuple[str, int, str, str], tmp_path: Path
) -> None:
    """The last success at time 0 (the gauge holds 0 s): at exactly the limit the age is not more
    than it; a minute later it is, and the sample is the age in seconds."""
    limit = int(schedule_rules[f"s{index}"]["expr"].rsplit("> ", 1)[1])
    minutes = limit // 60
    selector = f'{VELERO_METRIC}{{schedule="s{index}"}}'
    _promql(
        tmp_path,
        {selector: f"0+0x{minutes + 1}"},
        [
            (schedule_rules[f"s{index}"]["expr"], f"{minutes}m", []),
            (
                schedule_rules[f"s{index}"]["expr"],
                f"{minutes + 1}m",
                [{"labels": f'{{schedule="s{index}"}}', "value": limit + 60}],
            ),
        ],
    )


@pytest.mark.integration
@pytest.mark.parametrize(("members", "quorum"), [(3, 2), (5, 3)])
def test_quorum_rule_fires_at_exactly_a_quorum_and_not_one_more(
    members: int, quorum: int, tmp_path: Path
) -> None:
    (alert,) = etcd_quorum_alerts(cast(Homelab, SimpleNamespace(servers=[object()] * members)))
    series = {f'up{{job="kube-etcd",instance="m{i}"}}': "1" if i < quorum else "0" for i in range(members)}
    one_more = {**series, f'up{{job="kube-etcd",instance="m{quorum}"}}': "1"}
    _promql(tmp_path, series, [(alert.expr, "0m", [{"labels": "{}", "value": quorum}])])
    _promql(tmp_path, one_more, [(alert.expr, "0m", [])])


@pytest.mark.integration
def test_fixed_thresholds_on_each_side(monitored_homelab: Homelab, tmp_path: Path) -> None:
    """Disk and volume at 85 % (silent) and just past; a certificate with 14 days left (silent)
    and one second less (fires)."""
    rules = {r["alert"]: r["expr"] for group in rule_groups(monitored_homelab) for r in group["rules"]}
    disk = 'node_filesystem_{}_bytes{{fstype="ext4",instance="n",mountpoint="/"}}'
    volume = 'kubelet_volume_stats_{}_bytes{{namespace="a",persistentvolumeclaim="{}"}}'
    cert = 'certmanager_certificate_expiration_timestamp_seconds{{name="{}",namespace="a"}}'
    _promql(
        tmp_path,
        {
            disk.format("size"): "10000",
            disk.format("avail"): "1500 1499",
            volume.format("capacity", "v"): "10000",
            volume.format("used", "v"): "8500 8501",
            cert.format("at"): str(14 * 86400),
            cert.format("under"): str(14 * 86400 - 1),
        },
        [
            (rules["HomelabNodeDiskFull"], "0m", []),
            (
                rules["HomelabNodeDiskFull"],
                "1m",
                [{"labels": '{fstype="ext4",instance="n",mountpoint="/"}', "value": 0.8501}],
            ),
            (rules["HomelabVolumeFull"], "0m", []),
            (
                rules["HomelabVolumeFull"],
                "1m",
                [{"labels": '{namespace="a",persistentvolumeclaim="v"}', "value": 0.8501}],
            ),
            (
                rules["HomelabCertificateExpiresSoon"],
                "0m",
                [{"labels": '{name="under",namespace="a"}', "value": 14 * 86400 - 1}],
            ),
        ],
    )
