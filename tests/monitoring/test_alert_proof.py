"""Alerts in a healthy homelab stay silent, and each fires on its own fault (tests/support/alert_proof).

From the model and the rendered tree, a healthy homelab's series over a window longer than the
longest backup schedule allows, run with the rendered rules through real `promtool test rules`:
no alert fires at any evaluation; each alert's fault raises that alert and nothing else. On the
example and on variants with 1 and 5 servers and hourly, uneven, daily and weekly schedules.
Planted bugs (the rules as they were: one 26 h backup threshold, a quorum rule that counts one
server as at risk) must make the proof fail.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.model import Homelab, build
from homelabeazy.render import kubernetes
from homelabeazy.render.k8s.services.monitoring_rules import ETCD_JOB
from tests.conftest import monitored_example_data
from tests.gitops.conftest import documents
from tests.monitoring.conftest import rendered_rules
from tests.support.alert_proof import FAULTS, Scene, missing_faults, run
from tests.support.alert_proof.promtool import alerts_of, encode
from tests.support.integration import need_binary

PROMTOOL_HINT = "Debian package `prometheus` (make test installs it)"


def _example(data: dict[str, Any]) -> None:
    """The example as it is: 3 servers, a daily and a weekly Velero schedule."""


def _one_server(data: dict[str, Any]) -> None:
    data["cluster"]["servers"]["count"] = 1
    data["services"]["velero"]["schedules"] = [{"name": "hourly", "cron": "0 * * * *", "ttl": "72h"}]


def _five_servers(data: dict[str, Any]) -> None:
    data["cluster"]["servers"]["count"] = 5
    data["services"]["velero"]["schedules"] = [
        {"name": "hourly", "cron": "@hourly", "ttl": "72h"},
        # two runs close together: the longest gap is the 22 h between them, not 12 h
        {"name": "uneven", "cron": "0 3,5 * * *", "ttl": "720h"},
    ]


VARIANTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "example": _example,
    "one-server-hourly": _one_server,
    "five-servers-hourly-uneven": _five_servers,
}
"""The example is the weekly one (its healthy window is a week long); the others stay near a day."""


def homelab_of(variant: str) -> Homelab:
    data = monitored_example_data()
    VARIANTS[variant](data)
    return build(load_config(yaml.safe_dump(data, sort_keys=False)).config)


def scene_of(homelab: Homelab) -> Scene:
    objects = [doc for _path, doc in documents(kubernetes.render(homelab))]
    return Scene(homelab, objects, rendered_rules(homelab))


@pytest.fixture(scope="module")
def scenes() -> dict[str, Scene]:
    return {name: scene_of(homelab_of(name)) for name in VARIANTS}


def _with_rules(scene: Scene, rules: list[dict[str, Any]]) -> Scene:
    return Scene(scene.homelab, scene.objects, {"groups": [{"name": "homelab", "rules": rules}]})


def _promtool() -> str:
    return need_binary("promtool", PROMTOOL_HINT)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_rendered_alert_has_its_fault(scenes: dict[str, Scene], variant: str) -> None:
    scene = scenes[variant]
    assert alerts_of(scene.rules)
    assert missing_faults(scene) == []


def test_an_alert_without_a_fault_fails_the_proof(scenes: dict[str, Scene]) -> None:
    scene = scenes["example"]
    new = {"alert": "HomelabSomethingNew", "expr": "up == 0", "for": "5m", "labels": {"severity": "warning"}}
    assert missing_faults(_with_rules(scene, [*alerts_of(scene.rules), new])) == ["HomelabSomethingNew"]


def test_every_fault_belongs_to_an_alert_some_variant_renders(scenes: dict[str, Scene]) -> None:
    rendered = {r["alert"] for scene in scenes.values() for r in alerts_of(scene.rules)}
    assert set(FAULTS) == rendered


@pytest.mark.integration
@pytest.mark.parametrize("variant", VARIANTS)
def test_healthy_homelab_is_silent_and_each_alert_fires_on_its_fault(
    scenes: dict[str, Scene], variant: str, tmp_path: Path
) -> None:
    outcome = run(_promtool(), tmp_path, scenes[variant], variant)
    assert outcome.passed, outcome.output
    print(
        f"promtool test rules, {variant}: {outcome.groups} groups in {outcome.seconds:.1f}s"
        f" ({outcome.cpu_seconds:.1f}s CPU)"
    )


# ------------------------------------------------------------------ planted bugs


def _planted(scene: Scene, name: str, replacement: list[dict[str, Any]]) -> Scene:
    """The rendered rules with every rule called `name` replaced by `replacement`."""
    rules = [copy.deepcopy(r) for r in alerts_of(scene.rules) if r["alert"] != name]
    return _with_rules(scene, [*rules, *replacement])


OLD_BACKUP_RULE = {
    "alert": "HomelabBackupMissing",
    "expr": 'time() - max by (schedule) (velero_backup_last_successful_timestamp{schedule!=""}) > 26 * 3600',
    "for": "15m",
    "labels": {"severity": "critical"},
    "annotations": {"summary": "No successful Velero backup of {{ $labels.schedule }} in 26 hours"},
}
"""Defect 8 as it was: one 26 h threshold for every schedule."""

OLD_QUORUM_RULE = {
    "alert": "HomelabEtcdQuorumAtRisk",
    "expr": f'count(up{{job="{ETCD_JOB}"}} == 1) < (floor(count(up{{job="{ETCD_JOB}"}}) / 2) + 1) + 1',
    "for": "5m",
    "labels": {"severity": "critical"},
    "annotations": {"summary": "Only {{ $value }} etcd members are up"},
}
"""Defect 9 as it was: on one server, 1 < floor(1/2) + 1 + 1 is always true."""


@pytest.mark.integration
def test_the_proof_catches_one_backup_threshold_for_every_schedule(
    scenes: dict[str, Scene], tmp_path: Path
) -> None:
    scene = _planted(scenes["example"], "HomelabBackupMissing", [OLD_BACKUP_RULE])
    # two days hold the weekly schedule's day-long gaps (the whole week is the healthy test's)
    outcome = run(_promtool(), tmp_path, scene, "example", faults=False, minutes=2 * 24 * 60)
    assert not outcome.passed
    assert 'alertname="HomelabBackupMissing"' in outcome.output
    assert 'schedule="weekly"' in outcome.output
    assert 'schedule="daily"' not in outcome.output


@pytest.mark.integration
def test_the_proof_catches_a_quorum_rule_that_counts_one_server_at_risk(
    scenes: dict[str, Scene], tmp_path: Path
) -> None:
    scene = _planted(scenes["one-server-hourly"], "HomelabEtcdQuorumAtRisk", [OLD_QUORUM_RULE])
    outcome = run(_promtool(), tmp_path, scene, "one-server", faults=False)
    assert not outcome.passed
    assert 'alertname="HomelabEtcdQuorumAtRisk"' in outcome.output


@pytest.mark.integration
def test_the_proof_catches_an_alert_that_misses_its_fault(scenes: dict[str, Scene], tmp_path: Path) -> None:
    scene = scenes["one-server-hourly"]
    (node_down,) = [r for r in alerts_of(scene.rules) if r["alert"] == "HomelabNodeDown"]
    blind = {**node_down, "expr": 'up{job="node-exporter"} < 0'}
    outcome = run(_promtool(), tmp_path, _planted(scene, "HomelabNodeDown", [blind]), "one-server")
    assert not outcome.passed
    assert "raises HomelabNodeDown" in outcome.output


@pytest.mark.integration
def test_the_proof_catches_an_alert_that_fires_on_anothers_fault(
    scenes: dict[str, Scene], tmp_path: Path
) -> None:
    """A disk alert that counts tmpfs fires in the healthy world (a full /run is normal)."""
    scene = scenes["one-server-hourly"]
    (disk,) = [r for r in alerts_of(scene.rules) if r["alert"] == "HomelabNodeDiskFull"]
    careless = {**disk, "expr": "1 - node_filesystem_avail_bytes / node_filesystem_size_bytes > 0.85"}
    outcome = run(_promtool(), tmp_path, _planted(scene, "HomelabNodeDiskFull", [careless]), "one-server")
    assert not outcome.passed
    assert 'fstype="tmpfs"' in outcome.output


def test_series_are_written_in_promtools_expanding_notation() -> None:
    """`ax2` is three samples of a, `_x3` three missing ones (checked against promtool 2.42)."""
    assert encode([1.0, None, None, None, 2.0, 2.0, 2.0]) == "1 _x3 2x2"
    assert encode([0.5, 0.5, None, -3600.0]) == "0.5x1 _ -3600"
