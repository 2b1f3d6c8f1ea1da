"""`homelab status` shows firing alerts: judged from what a real Alertmanager (running the
rendered configuration) answers on the API path the status probe reads."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.lifecycle.status import ALERTS_PATH, StatusClients, StatusTargets, build_probes, judge_alerts
from homelabeazy.model import Homelab
from homelabeazy.ops.probes import ProbeError
from tests.conftest import monitored_example_data
from tests.monitoring.conftest import rendered_values
from tests.support.integration import need_binary
from tests.support.processes import stop


def _alert(name: str, severity: str, summary: str) -> dict[str, Any]:
    return {"labels": {"alertname": name, "severity": severity}, "annotations": {"summary": summary}}


def _http(url: str, data: Any = None) -> Any:
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        text = answer.read().decode()
    return json.loads(text) if text else None


@pytest.mark.integration
def test_firing_alerts_become_rows_critical_first(
    monitored_homelab: Homelab, free_tcp_port_factory: Callable[[], int], tmp_path: Path
) -> None:
    binary = need_binary("prometheus-alertmanager", "Debian package `prometheus-alertmanager`")
    config = rendered_values(monitored_homelab)["alertmanager"]["config"]
    (tmp_path / "alertmanager.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_tcp_port_factory()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "am.log").open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={tmp_path / 'alertmanager.yaml'}",
                f"--storage.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                assert _http(f"{base}/api/v2/alerts") == []
                break
            except OSError:
                assert process.poll() is None, (tmp_path / "am.log").read_text()
                assert time.monotonic() < deadline, "Alertmanager did not answer within 20 s"
                time.sleep(0.2)
        _http(
            f"{base}/api/v2/alerts",
            [
                _alert("HomelabVolumeFull", "warning", "Volume vault/data-vault-0 is more than 85 % full"),
                _alert("HomelabVaultSealed", "critical", "Vault pod vault-0 is sealed"),
                _alert("Watchdog", "none", "always firing"),
            ],
        )
        rows = judge_alerts(_http(f"{base}/{ALERTS_PATH}"))
    finally:
        stop(process)
    assert [(r.name, r.health, r.detail) for r in rows] == [
        ("HomelabVaultSealed", "down", "critical: Vault pod vault-0 is sealed"),
        ("HomelabVolumeFull", "degraded", "warning: Volume vault/data-vault-0 is more than 85 % full"),
    ]


def test_no_alert_is_one_ok_row() -> None:
    (row,) = judge_alerts([_alert("Watchdog", "none", "heartbeat")])
    assert (row.layer, row.health, row.detail) == ("alerts", "ok", "no alert firing")


def test_an_answer_that_is_not_a_list_is_a_probe_error() -> None:
    with pytest.raises(ProbeError, match="not a list"):
        judge_alerts({"status": "error"})


def test_the_alerts_probe_runs_only_with_monitoring(
    monitored_homelab: Homelab, homelab_from: Callable[[dict[str, Any]], Homelab]
) -> None:
    kube: Any = object()
    names = {p.layer for p in build_probes(monitored_homelab, StatusTargets(), StatusClients(kube=kube))}
    assert "alerts" in names
    data = monitored_example_data()
    data["services"]["monitoring"] = {"enabled": False}
    off = {p.layer for p in build_probes(homelab_from(data), StatusTargets(), StatusClients(kube=kube))}
    assert "alerts" not in off
