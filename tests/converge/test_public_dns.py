"""The public-DNS variant converges: real Helm over external-dns, cloudflare-tunnel-remote and the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.model import build
from homelabeazy.render.registry import render_all

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).parents[1] / "fixtures" / "config" / "valid" / "public-dns.yaml"
TUNNEL_POLICIES = "kubernetes/manifests/cloudflare-tunnel/network-policies.yaml"
DNS_POLICIES = "kubernetes/manifests/external-dns/network-policies.yaml"


def _without(files: dict[str, str], path: str, suffix: str) -> dict[str, str]:
    docs = [d for d in yaml.safe_load_all(files[path]) if d]
    kept = [d for d in docs if not d["metadata"]["name"].endswith(suffix)]
    assert len(kept) == len(docs) - 1, f"no policy ending in {suffix} in {path}"
    return {**files, path: yaml.safe_dump_all(kept, sort_keys=False)}


def test_public_dns_fixture_converges_and_needs_its_policies(deep) -> None:
    homelab = build(load_config(FIXTURE.read_text(encoding="utf-8")).config)
    files = render_all(homelab)
    state, report = deep(homelab, files)
    assert [f.message for f in report.findings] == []
    kinds = {(o.kind, o.namespace, o.name) for o in state.objects}
    assert ("Deployment", "cloudflare-tunnel", "cloudflared") in kinds
    assert ("Deployment", "external-dns", "external-dns") in kinds
    assert any(
        kind == "CustomResourceDefinition" and name == "dnsendpoints.externaldns.k8s.io"
        for kind, _, name in kinds
    )
    assert sum(kind == "DNSEndpoint" for kind, _, _ in kinds) == 3
    # without the tunnel's egress to the internet: the edge (UDP and TCP 7844) and the API are denied
    _, broken = deep(homelab, _without(files, TUNNEL_POLICIES, "-internet"))
    messages = sorted(f.message for f in broken.findings if f.check == "flow")
    assert len(messages) == 3, messages
    assert any("UDP/7844" in m for m in messages)
    assert any("TCP/7844" in m for m in messages)
    assert any("TCP/443" in m and "api.cloudflare.com" in m for m in messages)
    # without the egress into Traefik, public requests cannot reach it
    _, broken = deep(homelab, _without(files, TUNNEL_POLICIES, "-egress"))
    assert [f.check for f in broken.findings] == ["flow"]
    assert "public requests into Traefik" in broken.findings[0].message
    # external-dns without its egress cannot write the records
    _, broken = deep(homelab, _without(files, DNS_POLICIES, "-internet"))
    assert [f.check for f in broken.findings] == ["flow"]
    assert "DNS records at Cloudflare" in broken.findings[0].message
