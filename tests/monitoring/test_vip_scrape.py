"""The scrape jobs for the API VIP and kube-vip, as rendered: the VIP's job keeps no API server
series (a real Prometheus scrapes a stand-in for `/metrics/slis` on loopback and stores only `up`
and its own scrape series), and kube-vip is scraped on every server's own address."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.model import Homelab
from tests.monitoring.conftest import rendered_values
from tests.support.integration import need_binary
from tests.support.processes import stop

SLIS = """\
# HELP kubernetes_healthcheck [STABLE] This metric records the result of a single healthcheck.
# TYPE kubernetes_healthcheck gauge
kubernetes_healthcheck{name="etcd",type="readyz"} 1
kubernetes_healthcheck{name="ping",type="livez"} 1
# HELP kubernetes_healthchecks_total [STABLE] This metric records the results of all healthcheck.
# TYPE kubernetes_healthchecks_total counter
kubernetes_healthchecks_total{name="etcd",status="success",type="readyz"} 42
"""
"""What the API server answers on `/metrics/slis` (the shape of Kubernetes' component SLI docs)."""


def _jobs(homelab: Homelab) -> dict[str, dict[str, Any]]:
    configs = rendered_values(homelab)["prometheus"]["prometheusSpec"]["additionalScrapeConfigs"]
    return {c["job_name"]: c for c in configs}


def test_kube_vip_is_scraped_on_every_server_and_the_vip_on_its_sli_path(monitored_homelab: Homelab) -> None:
    jobs = _jobs(monitored_homelab)
    assert jobs["kube-vip"]["static_configs"] == [
        {"targets": [f"{s.ip}:2112" for s in monitored_homelab.servers]}
    ]
    vip = jobs["kube-api-vip"]
    assert vip["static_configs"] == [{"targets": [f"{monitored_homelab.cluster.vip}:6443"]}]
    assert vip["metrics_path"] == "/metrics/slis"
    assert not any("6443" in t for t in jobs["kube-vip"]["static_configs"][0]["targets"])
    role = rendered_values(monitored_homelab)["prometheus"]["additionalRulesForClusterRole"]
    assert {"nonResourceURLs": ["/metrics/slis"], "verbs": ["get"]} in role


class _Slis(BaseHTTPRequestHandler):
    paths: list[str]

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        body = SLIS.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def api_server() -> Iterator[tuple[int, list[str]]]:
    handler = type("Slis", (_Slis,), {"paths": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield httpd.server_address[1], handler.paths
    finally:
        httpd.shutdown()
        httpd.server_close()


def _query(port: int, expr: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as answer:
        result: list[dict[str, Any]] = json.loads(answer.read())["data"]["result"]
    return result


@pytest.mark.integration
def test_the_vip_job_stores_only_up(
    monitored_homelab: Homelab,
    api_server: tuple[int, list[str]],
    free_tcp_port_factory: Callable[[], int],
    tmp_path: Path,
) -> None:
    """As rendered, but plain HTTP on loopback without the service account's token (no API server
    runs here) and a 1 s interval."""
    prometheus = need_binary("prometheus", "Debian package `prometheus`")
    port, paths = api_server
    job = dict(_jobs(monitored_homelab)["kube-api-vip"])
    for key in ("authorization", "tls_config"):
        job.pop(key)
    job.update(scheme="http", scrape_interval="1s", static_configs=[{"targets": [f"127.0.0.1:{port}"]}])
    config = {"global": {"scrape_interval": "1s"}, "scrape_configs": [job]}
    (tmp_path / "prometheus.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    prom_port = free_tcp_port_factory()
    with (tmp_path / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                prometheus,
                f"--config.file={tmp_path / 'prometheus.yaml'}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _query(prom_port, 'up{job="kube-api-vip"}'):
                    break
            except OSError:
                pass
            assert process.poll() is None, (tmp_path / "prometheus.log").read_text()
            assert time.monotonic() < deadline, "no scrape within 60 s"
            time.sleep(0.5)
        time.sleep(2)
        stored = {s["metric"]["__name__"] for s in _query(prom_port, '{job="kube-api-vip"}')}
        scraped = _query(prom_port, 'scrape_samples_scraped{job="kube-api-vip"}')
        kept = _query(prom_port, 'scrape_samples_post_metric_relabeling{job="kube-api-vip"}')
        up = _query(prom_port, 'up{job="kube-api-vip"}')
    finally:
        stop(process)
    assert set(paths) == {"/metrics/slis"}
    assert up[0]["value"][1] == "1"
    assert scraped[0]["value"][1] == "3"
    assert kept[0]["value"][1] == "0"
    assert not stored - {"up"} - {n for n in stored if n.startswith("scrape_")}
