"""services.dns_gateway: k8s-gateway's Corefile and Service from the real chart, and pfSense's side."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.model import Homelab, build
from homelabeazy.render.kubernetes import render as render_k8s
from homelabeazy.render.network import render as render_network
from tests.support.chart_cache import shared_dir
from tests.support.integration import need_binary, require_tool

FIXTURE = Path(__file__).parents[1] / "fixtures" / "config" / "valid" / "dns-gateway.yaml"
CHART = "k8s-gateway-2.4.0"


@pytest.fixture(scope="module")
def gateway() -> Homelab:
    return build(load_config(FIXTURE.read_text(encoding="utf-8")).config)


def _template(homelab: Homelab) -> list[dict[str, Any]]:
    helm = need_binary("helm", "see ../shared/charts/README.md")
    chart = shared_dir() / "charts" / CHART
    if not (chart / "Chart.yaml").is_file():
        require_tool(f"chart {chart} is missing (set HOMELAB_SHARED to the shared folder)")
    values = render_k8s(homelab)["kubernetes/values/dns-gateway.yaml"]
    command = [helm, "template", "dns-gateway", str(chart), "-n", "dns-gateway", "-f", "-"]
    run = subprocess.run(command, input=values, capture_output=True, text=True, check=True, timeout=120)
    return [doc for doc in yaml.safe_load_all(run.stdout) if doc]


def _blocks(corefile: str) -> list[str]:
    """The plugin lines of the one server block, stripped, in order."""
    return [line.strip() for line in corefile.splitlines() if line.strip()]


@pytest.mark.integration
def test_corefile_answers_routes_first_then_the_cluster(gateway: Homelab) -> None:
    docs = _template(gateway)
    (config_map,) = [d for d in docs if d["kind"] == "ConfigMap"]
    lines = _blocks(config_map["data"]["Corefile"])
    assert lines[0] == ".:1053 {"
    assert "k8s_gateway home.example.com {" in lines
    start, end = lines.index("hosts {"), lines.index("fallthrough")
    expected = [f"10.10.10.200 {r.host}" for r in gateway.routes]
    assert lines[start + 1 : end] == [*expected, "ttl 300"]
    assert "whoami.home.example.com" in " ".join(expected)
    # pfSense forwards only the domain here: nothing is forwarded on, so no resolver loop
    assert not any(line.startswith(("forward", "loop", "prometheus")) for line in lines)
    assert {"reload", "health {", "ready"} <= set(lines)


@pytest.mark.integration
def test_service_is_udp_53_on_its_own_metallb_address(gateway: Homelab) -> None:
    docs = _template(gateway)
    (service,) = [d for d in docs if d["kind"] == "Service"]
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "10.10.10.201"
    assert [(p["port"], p["protocol"]) for p in service["spec"]["ports"]] == [(53, "UDP")]
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    ports = deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert {"containerPort": 1053, "name": "dns-udp", "protocol": "UDP"} in ports


def test_the_network_policy_admits_dns_from_anywhere(gateway: Homelab) -> None:
    text = render_k8s(gateway)["kubernetes/manifests/dns-gateway/network-policies.yaml"]
    world = [d for d in yaml.safe_load_all(text) if d and d["metadata"]["name"].endswith("-world")]
    assert [d["spec"]["ingress"] for d in world] == [[{"ports": [{"protocol": "UDP", "port": 1053}]}]]


def test_pfsense_forwards_the_domain_and_keeps_only_api_and_nodes(gateway: Homelab) -> None:
    data = yaml.safe_load(render_network(gateway)["network/pfsense/vars/homelab.yml"])
    names = {f"{h['host']}.{h['domain']}" for h in data["homelab_dns_hosts"]}
    # the declared hosts (outside the cluster) stay overrides: the S3 store must resolve while the
    # cluster, and with it k8s-gateway, is down
    hosts = {r.name for r in gateway.dns if r.kind == "host"}
    assert hosts == {"minio.home.example.com"}
    assert names == {gateway.cluster.api_host, *(n.fqdn for n in gateway.nodes), *hosts}
    assert data["homelab_dns_domains"] == [
        {
            "domain": "home.example.com",
            "ip": "10.10.10.201",
            "descr": "homelabeazy: homelab DNS gateway (k8s-gateway)",
        }
    ]
    readme = render_network(gateway)["network/README.md"]
    assert "k8s-gateway answers the route names in the cluster at\n10.10.10.201" in readme


def test_off_by_default(example_homelab: Homelab) -> None:
    assert example_homelab.cluster.dns_gateway_ip is None
    assert not example_homelab.enabled("dns_gateway")
    data = yaml.safe_load(render_network(example_homelab)["network/pfsense/vars/homelab.yml"])
    assert data["homelab_dns_domains"] == []
    assert len(data["homelab_dns_hosts"]) == len(example_homelab.dns)
