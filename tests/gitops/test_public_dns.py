"""services.external_dns and services.cloudflare_tunnel: what the real charts make of our values."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.model import Homelab, build
from homelabeazy.render.kubernetes import render as render_k8s
from tests.support.chart_cache import shared_dir
from tests.support.integration import need_binary, require_tool

FIXTURES = Path(__file__).parents[1] / "fixtures" / "config"
FIXTURE = FIXTURES / "valid" / "public-dns.yaml"
TUNNEL_ID = "0b6c7a48-3b7e-4f3a-9d2e-5c1f8e7a9b10"


@pytest.fixture(scope="module")
def public() -> Homelab:
    return build(load_config(FIXTURE.read_text(encoding="utf-8")).config)


def _docs(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def _template(homelab: Homelab, release: str, chart_dir: str) -> list[dict[str, Any]]:
    helm = need_binary("helm", "see ../shared/charts/README.md")
    chart = shared_dir() / "charts" / chart_dir
    if not (chart / "Chart.yaml").is_file():
        require_tool(f"chart {chart} is missing (set HOMELAB_SHARED to the shared folder)")
    values = render_k8s(homelab)[f"kubernetes/values/{release}.yaml"]
    command = [helm, "template", release, str(chart), "-n", release, "-f", "-"]
    run = subprocess.run(command, input=values, capture_output=True, text=True, check=True, timeout=120)
    return _docs(run.stdout)


def _one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["kind"] == kind]
    return doc


@pytest.mark.integration
def test_external_dns_reads_only_dnsendpoints_and_writes_proxied_records_to_cloudflare(
    public: Homelab,
) -> None:
    docs = _template(public, "external-dns", "external-dns-1.21.1")
    (container,) = _one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert [a for a in args if a.startswith("--source=")] == ["--source=crd"]
    for arg in (
        "--provider=cloudflare",
        "--policy=sync",
        "--registry=txt",
        "--txt-owner-id=homelabeazy",
        "--domain-filter=home.example.com",
        "--cloudflare-proxied",
    ):
        assert arg in args, args
    assert {
        "name": "CF_API_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "external-dns-cloudflare", "key": "api_token"}},
    } in container["env"]
    rules = _one(docs, "ClusterRole")["rules"]
    assert any(
        "dnsendpoints" in r.get("resources", []) and "externaldns.k8s.io" in r["apiGroups"] for r in rules
    )
    # nothing else the crd source does not need
    assert not any("ingressroutes" in r.get("resources", []) for r in rules)


@pytest.mark.integration
def test_the_tunnel_reads_the_secret_the_external_secret_merges_into(public: Homelab) -> None:
    docs = _template(public, "cloudflare-tunnel", "cloudflare-tunnel-remote-0.1.2")
    secret = _one(docs, "Secret")
    (container,) = _one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    (env,) = [e for e in container["env"] if e["name"] == "TUNNEL_TOKEN"]
    ref = env["valueFrom"]["secretKeyRef"]
    assert ref == {"name": secret["metadata"]["name"], "key": "tunnelToken"}
    assert container["image"] == "cloudflare/cloudflared:2025.8.0"
    assert secret["stringData"]["tunnelToken"].startswith(
        "replaced-from-vault"
    )  # a placeholder, never a token
    files = render_k8s(public)
    (external,) = _docs(files["kubernetes/manifests/cloudflare-tunnel/secrets.yaml"])
    target = external["spec"]["target"]
    assert target["name"] == ref["name"]
    assert target["creationPolicy"] == "Merge"
    assert external["spec"]["data"] == [
        {
            "secretKey": "tunnelToken",
            "remoteRef": {"key": "cloudflare-tunnel/token", "property": "tunnel_token"},
        }
    ]
    app = _one(_docs(files["kubernetes/apps/cloudflare-tunnel.yaml"]), "Application")
    assert app["spec"]["ignoreDifferences"][0]["name"] == ref["name"]
    assert "RespectIgnoreDifferences=true" in app["spec"]["syncPolicy"]["syncOptions"]


def test_only_public_routes_and_the_portal_are_published(public: Homelab) -> None:
    files = render_k8s(public)
    endpoints = _docs(files["kubernetes/manifests/external-dns/endpoints.yaml"])
    published = {
        (e["dnsName"], e["recordType"], tuple(e["targets"]))
        for d in endpoints
        for e in d["spec"]["endpoints"]
    }
    target = (f"{TUNNEL_ID}.cfargotunnel.com",)
    # whoami (no SSO, said explicitly), homepage (behind SSO) and so Authelia's portal; no admin UI
    assert published == {
        ("auth.home.example.com", "CNAME", target),
        ("home.home.example.com", "CNAME", target),
        ("whoami.home.example.com", "CNAME", target),
    }


def test_public_dns_is_off_by_default() -> None:
    example = FIXTURES / "valid" / "example.yaml"
    files = render_k8s(build(load_config(example.read_text(encoding="utf-8")).config))
    assert not [p for p in files if "external-dns" in p or "cloudflare" in p]
    assert "DNSEndpoint" not in "".join(files.values())


def test_the_docs_say_what_to_do_at_cloudflare(public: Homelab) -> None:
    from homelabeazy.render.docs import render as render_docs

    docs = render_docs(public)
    readme, architecture = docs["README.md"], docs["docs/ARCHITECTURE.md"]
    for text in (
        "homelab/cloudflare-tunnel/token",
        "homelab/external-dns/cloudflare",
        "*Zone → Zone → Read*",
        "*Zone → DNS → Edit*",
        "https://traefik.traefik.svc:443",
        f"{TUNNEL_ID}.cfargotunnel.com",
        "Published names: `auth.home.example.com`, `home.home.example.com`, `whoami.home.example.com`.",
        "Without any login (`public_without_sso: true`): `whoami.home.example.com`.",
    ):
        assert text in readme, text
    assert "| home.home.example.com | group: admins |" in architecture
    example = FIXTURES / "valid" / "example.yaml"
    plain = render_docs(build(load_config(example.read_text(encoding="utf-8")).config))
    assert "Cloudflare" not in plain["README.md"] + plain["docs/ARCHITECTURE.md"]


def test_both_cloudflare_tokens_are_external_secrets_seed_asks_for(public: Homelab) -> None:
    from homelabeazy.model import secrets_plan

    plan = secrets_plan.plan_seed(public.secrets, {})
    assert ("cloudflare-tunnel/token", ("tunnel_token",)) in plan.missing_external
    assert ("external-dns/cloudflare", ("api_token",)) in plan.missing_external
    assert not [a for a in plan.generate if "cloudflare" in a.path]
