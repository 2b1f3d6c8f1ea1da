"""A real Prometheus on loopback loads the rendered rules, scrapes a real OpenBao started from the
rendered Vault configuration (sealed, as every Vault starts) the way the rendered ServiceMonitor
does (its path and parameters), and the alert travels through a real Alertmanager, running the
rendered configuration, to a webhook receiver in the test.

Two timings are shortened so the test takes seconds, not minutes: each rule's `for` (promtool's
unit tests check the durations) and the route's `group_wait`. Everything else is as rendered.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.model import Homelab
from homelabeazy.model.catalog.vault import METRICS as VAULT_METRICS
from tests.conftest import monitored_example_data
from tests.monitoring.conftest import rendered_rules, rendered_values
from tests.support.bao import rendered_bao
from tests.support.integration import need_binary
from tests.support.processes import stop

pytestmark = pytest.mark.integration

DEADLINE = 60.0


class _Recorder(BaseHTTPRequestHandler):
    """Records what is POSTed (the webhook receiver)."""

    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def server() -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """The test's HTTP server on loopback: (port, the webhook payloads received)."""
    handler = type("Recorder", (_Recorder,), {"received": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], handler.received
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def vault(monitored_homelab: Homelab, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real OpenBao running the rendered Vault configuration (sealed, not initialised)."""
    with rendered_bao(monitored_homelab, tmp_path / "bao") as server:
        yield server


def _process(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)


def _alertmanager_config(homelab: Homelab) -> dict[str, Any]:
    config: dict[str, Any] = rendered_values(homelab)["alertmanager"]["config"]
    config["route"]["group_wait"] = "1s"
    return config


def _fast_rules(homelab: Homelab) -> dict[str, Any]:
    rules = rendered_rules(homelab)
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["for"] = "0s"
    return rules


def _sealed(received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The notifications about the sealed Vault (the absent API VIP job fires too, grouped apart)."""
    return [p for p in received if p.get("commonLabels", {}).get("alertname") == "HomelabVaultSealed"]


def test_a_sealed_vault_reaches_the_webhook_through_prometheus_and_alertmanager(
    homelab_from: Callable[[dict[str, Any]], Homelab],
    server: tuple[int, list[dict[str, Any]]],
    vault: tuple[str, Path],
    free_tcp_port_factory: Callable[[], int],
    tmp_path: Path,
) -> None:
    prometheus = need_binary("prometheus", "Debian package `prometheus`")
    alertmanager = need_binary("prometheus-alertmanager", "Debian package `prometheus-alertmanager`")
    port, received = server
    data = monitored_example_data()
    data["services"].setdefault("monitoring", {})["notify"] = {
        "webhook": {"url": f"http://127.0.0.1:{port}/hook"}
    }
    homelab = homelab_from(data)
    am_port, prom_port = free_tcp_port_factory(), free_tcp_port_factory()

    (tmp_path / "alertmanager.yaml").write_text(
        yaml.safe_dump(_alertmanager_config(homelab)), encoding="utf-8"
    )
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(_fast_rules(homelab)), encoding="utf-8")
    vault_url, _ = vault
    vault_job = {
        "job_name": "vault-internal",
        "metrics_path": VAULT_METRICS.path,
        "params": {key: [value] for key, value in VAULT_METRICS.params},
        "static_configs": [{"targets": [vault_url.removeprefix("http://")]}],
    }
    prometheus_config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp_path / "rules.yaml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [vault_job],
    }
    (tmp_path / "prometheus.yaml").write_text(yaml.safe_dump(prometheus_config), encoding="utf-8")

    started = time.monotonic()
    am = _process(
        [
            alertmanager,
            f"--config.file={tmp_path / 'alertmanager.yaml'}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
        ],
        tmp_path / "alertmanager.log",
    )
    prom = _process(
        [
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yaml'}",
            f"--storage.tsdb.path={tmp_path / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        tmp_path / "prometheus.log",
    )
    try:
        while time.monotonic() - started < DEADLINE and not _sealed(received):
            assert am.poll() is None, (tmp_path / "alertmanager.log").read_text()
            assert prom.poll() is None, (tmp_path / "prometheus.log").read_text()
            time.sleep(0.5)
    finally:
        stop(prom)
        stop(am)
    elapsed = time.monotonic() - started
    assert _sealed(received), (
        f"no notification within {DEADLINE}s:\n" + (tmp_path / "alertmanager.log").read_text()
    )
    payload = _sealed(received)[0]
    assert payload["status"] == "firing"
    assert payload["receiver"] == "homelab"
    (alert,) = payload["alerts"]
    assert alert["labels"]["alertname"] == "HomelabVaultSealed"
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["job"] == "vault-internal"
    assert "homelab secrets unseal" in alert["annotations"]["runbook"]
    print(f"Prometheus -> Alertmanager -> webhook: {elapsed:.1f}s")
