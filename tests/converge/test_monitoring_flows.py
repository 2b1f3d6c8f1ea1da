"""Prometheus may scrape exactly what it needs: on the example's real desired state, each of the
monitoring namespace's allows carries exactly the scrapes the catalog declares through it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from homelabeazy.converge.build import build_state
from homelabeazy.converge.flows import check_flows
from homelabeazy.desired.state import DesiredState
from homelabeazy.model import Homelab
from homelabeazy.model.catalog.monitoring import monitors_find_their_services
from homelabeazy.ops.helm import ChartCache
from homelabeazy.render.registry import render_all

pytestmark = [pytest.mark.integration, pytest.mark.needs_subcharts]


@pytest.fixture(scope="module")
def example_state(
    chart_dir: Path, tmp_path_factory: pytest.TempPathFactory, monitored_homelab: Homelab
) -> DesiredState:
    pulled = tmp_path_factory.mktemp("pulled")
    return build_state(
        monitored_homelab, render_all(monitored_homelab), ChartCache(chart_dir, pulled, pull=False)
    )


def _without_policy(state: DesiredState, name: str, namespace: str = "monitoring") -> DesiredState:
    kept = tuple(
        o
        for o in state.objects
        if not (o.kind == "NetworkPolicy" and (o.namespace, o.name) == (namespace, name))
    )
    assert len(kept) == len(state.objects) - 1
    return replace(state, objects=kept)


def test_the_example_scrapes_everything_it_declares(
    example_state: DesiredState, monitored_homelab: Homelab
) -> None:
    assert example_state.find("Prometheus", "monitoring", "monitoring-prometheus") is not None
    assert [f.text() for f in check_flows(example_state, monitored_homelab)] == []


def test_without_the_node_ports_every_node_scrape_is_denied(
    example_state: DesiredState, monitored_homelab: Homelab
) -> None:
    findings = check_flows(_without_policy(example_state, "allow-monitoring-nodes"), monitored_homelab)
    denied = sorted({(f.message.split(":")[0], f.message.split(" on ")[1].split(" ")[0]) for f in findings})
    nodes = [str(n.ip) for n in monitored_homelab.nodes]
    servers = [str(n.ip) for n in monitored_homelab.servers]
    expected = [
        *(("scrape node-exporter", ip) for ip in nodes),
        *(("scrape the kubelet", ip) for ip in nodes),
        *(("scrape etcd", ip) for ip in servers),
        *(("scrape kube-vip", ip) for ip in servers),
    ]
    assert denied == sorted(expected)
    assert {f.object for f in findings} == {"StatefulSet/monitoring/prometheus-monitoring-prometheus"}


def test_without_the_egress_policy_no_namespace_is_scraped(
    example_state: DesiredState, monitored_homelab: Homelab
) -> None:
    findings = check_flows(_without_policy(example_state, "allow-monitoring-egress"), monitored_homelab)
    scraped = [
        "monitoring-coredns",
        "argocd",
        "cert-manager",
        "external-secrets",
        "traefik",
        "vault",
        "velero",
    ]
    assert sorted(f.message.split(":")[0] for f in findings) == sorted(f"scrape ({s})" for s in scraped)


def test_without_the_api_policy_the_vip_probe_is_denied(
    example_state: DesiredState, monitored_homelab: Homelab
) -> None:
    findings = check_flows(_without_policy(example_state, "allow-monitoring-kube-api"), monitored_homelab)
    assert "probe the API VIP" in {f.message.split(":")[0] for f in findings}


@pytest.mark.parametrize(
    "service", ["velero", "argocd", "traefik", "external-secrets", "cert-manager", "vault"]
)
def test_each_scraped_service_admits_prometheus_exactly_for_its_monitor(
    example_state: DesiredState, monitored_homelab: Homelab, service: str
) -> None:
    findings = check_flows(
        _without_policy(example_state, f"allow-{service}-ingress", service), monitored_homelab
    )
    purposes = [f.message.split(":")[0] for f in findings]
    # the same policy admits the service's other clients: Traefik for a route (ArgoCD's UI), ESO
    others = ("route backend of", "secrets from Vault")
    assert [p for p in purposes if not p.startswith(others)] == [f"scrape ({service})"]


def test_a_monitor_whose_service_is_gone_is_a_health_finding(example_state: DesiredState) -> None:
    """The chart's metrics Service switched off: the ServiceMonitor would scrape nothing, silently."""
    assert list(monitors_find_their_services(example_state)) == []
    kept = tuple(
        o
        for o in example_state.objects
        if not (o.kind == "Service" and o.ident == "Service/cert-manager/cert-manager")
    )
    findings = list(monitors_find_their_services(replace(example_state, objects=kept)))
    assert [(f.object, f.message) for f in findings] == [
        ("ServiceMonitor/cert-manager/cert-manager", "selects no Service in cert-manager: nothing is scraped")
    ]
    assert findings[0].config_path == "services.monitoring"
