"""The proof as one `promtool test rules` file: a healthy group and one group per fault.

The healthy group runs the world for longer than the longest backup schedule allows and asks, at
its end, for every alert that fired at any evaluation (`max_over_time(ALERTS{alertstate="firing"}
[window])`, which sees each evaluation's result since promtool writes the ALERTS series back):
there must be none. Each fault's group asks the same question and expects exactly the fault's own
alerts, label for label; an `alert_rule_test` at its end also checks their annotations as
Prometheus expands them.
"""

from __future__ import annotations

import re
import resource
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from homelabeazy.model.schedules import late_after
from tests.support.alert_proof.faults import FAULTS, Fault, Firing, Scene
from tests.support.alert_proof.world import DAY, Value, World, build_world, schedules_of

RULE_FILE = "rules.yaml"
TEST_FILE = "alerts_test.yaml"
FIRED = 'max_over_time(ALERTS{alertstate="firing"}[%dm])'
_TEMPLATE = re.compile(r"\{\{\s*\$(labels\.([A-Za-z_]+)|value)\s*\}\}")


def alerts_of(rules: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The alerting rules of a rule file."""
    return [r for g in rules["groups"] for r in g["rules"] if "alert" in r]


def missing_faults(scene: Scene) -> list[str]:
    """Alerts the rules render that have no fault, or whose fault finds nothing to break here."""
    missing = []
    for name in sorted({r["alert"] for r in alerts_of(scene.rules)}):
        if name not in FAULTS or not FAULTS[name](scene):
            missing.append(name)
    return missing


def healthy_minutes(scene: Scene) -> int:
    """Longer than the longest time any schedule's newest backup may age, and at least a day."""
    ages = [int(late_after(s.cron).total_seconds()) // 60 for s in schedules_of(scene.objects)]
    return max([DAY, *ages]) + 60


def step_minutes(scene: Scene) -> int:
    """One minute, or five where a monthly schedule makes the window a month long."""
    return 1 if healthy_minutes(scene) <= 10 * DAY else 5


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def encode(values: list[Value]) -> str:
    """promtool's expanding notation, run-length: `1x59 0x60`, `_x3` for missing samples."""
    parts: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        count = j - i + 1
        value = values[i]
        if value is None:
            parts.append("_" if count == 1 else f"_x{count}")
        else:
            parts.append(_number(value) if count == 1 else f"{_number(value)}x{count - 1}")
        i = j + 1
    return " ".join(parts)


def expand(text: str, labels: Mapping[str, str], value: str) -> str:
    """An annotation as Prometheus expands it (the rules use only `$labels.x` and `$value`)."""
    return _TEMPLATE.sub(lambda m: value if m.group(1) == "value" else labels.get(m.group(2), ""), text)


def _labels_text(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _rule_for(scene: Scene, firing: Firing) -> dict[str, Any]:
    """The rule raising `firing`: the only one of its name, or the one naming its labels (one
    `HomelabBackupMissing` rule per schedule)."""
    rules = [r for r in alerts_of(scene.rules) if r["alert"] == firing.alert]
    if len(rules) > 1:
        rules = [r for r in rules if all(f'{k}="{v}"' in r["expr"] for k, v in firing.labels.items())]
    assert len(rules) == 1, f"{firing.alert}{firing.labels}: {len(rules)} rules could raise it"
    return rules[0]


def _group(name: str, world: World, checks: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "interval": f"{world.step}m",
        "input_series": [{"series": key, "values": encode(s.values)} for key, s in world.series.items()],
        **checks,
    }


def healthy_group(scene: Scene, name: str, minutes: int | None = None) -> dict[str, Any]:
    """The healthy world over the whole window (or `minutes`): nothing fires, ever."""
    length = minutes or healthy_minutes(scene)
    world = build_world(scene.homelab, scene.objects, length, step_minutes(scene))
    expr = {"expr": FIRED % (length + world.step), "eval_time": f"{length}m", "exp_samples": []}
    return _group(f"{name}: healthy for {length // 60}h, nothing fires", world, {"promql_expr_test": [expr]})


def fault_group(scene: Scene, name: str, fault: Fault) -> dict[str, Any]:
    """The world broken by `fault` from its start: `within` minutes later its alerts fire, and
    nothing else fired at any time."""
    step = step_minutes(scene)
    length = -(-(fault.start + fault.within) // step) * step
    world = build_world(scene.homelab, scene.objects, length, step)
    before = world.metrics()
    firings = fault.breaks(world)
    assert world.metrics() == before, f"{fault.name}: a fault may not add a metric"
    samples = []
    for firing in firings:
        rule_labels = _rule_for(scene, firing)["labels"]
        full = {**firing.labels, **rule_labels, "alertname": firing.alert, "alertstate": "firing"}
        samples.append({"labels": _labels_text(full), "value": 1})
    checks: dict[str, Any] = {
        "promql_expr_test": [
            {"expr": FIRED % (length + step), "eval_time": f"{length}m", "exp_samples": samples}
        ],
        "alert_rule_test": [
            {
                "eval_time": f"{length}m",
                "alertname": alert,
                "exp_alerts": [_expected_alert(scene, f) for f in firings if f.alert == alert],
            }
            for alert in sorted({f.alert for f in firings})
        ],
    }
    return _group(
        f"{name}: {fault.name} raises {', '.join(sorted({f.alert for f in firings}))}", world, checks
    )


def _expected_alert(scene: Scene, firing: Firing) -> dict[str, Any]:
    rule = _rule_for(scene, firing)
    return {
        "exp_labels": {**firing.labels, **rule["labels"]},
        "exp_annotations": {
            k: expand(v, firing.labels, firing.value) for k, v in rule["annotations"].items()
        },
    }


def unit_test_file(
    scene: Scene, name: str, faults: bool = True, minutes: int | None = None
) -> dict[str, Any]:
    """The promtool test file for `scene`: its healthy group (over `minutes` if given), then (with
    `faults`) every fault's."""
    groups = [healthy_group(scene, name, minutes)]
    if faults:
        for alert in sorted({r["alert"] for r in alerts_of(scene.rules)}):
            groups += [fault_group(scene, name, fault) for fault in FAULTS[alert](scene)]
    return {"rule_files": [RULE_FILE], "evaluation_interval": f"{step_minutes(scene)}m", "tests": groups}


@dataclass(frozen=True)
class Outcome:
    """What promtool said, and how long it took."""

    passed: bool
    output: str
    seconds: float
    """Wall time of the promtool run."""
    cpu_seconds: float
    """promtool's own CPU time (user + system): the figure that does not depend on the load."""
    groups: int


def run(
    promtool: str, folder: Path, scene: Scene, name: str, faults: bool = True, minutes: int | None = None
) -> Outcome:
    """Write the rules and the test file into `folder` and run `promtool test rules` on them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RULE_FILE).write_text(yaml.safe_dump(scene.rules, sort_keys=False), encoding="utf-8")
    tests = unit_test_file(scene, name, faults, minutes)
    (folder / TEST_FILE).write_text(yaml.safe_dump(tests, sort_keys=False, width=1 << 20), encoding="utf-8")
    started, used = time.monotonic(), _children_cpu()
    result = subprocess.run(
        [promtool, "test", "rules", TEST_FILE],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return Outcome(
        result.returncode == 0,
        result.stdout + result.stderr,
        time.monotonic() - started,
        _children_cpu() - used,
        len(tests["tests"]),
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
