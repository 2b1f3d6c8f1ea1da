"""The DNS gateway variant converges: real Helm over k8s-gateway and every other pinned chart."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.model import build
from homelabeazy.render.registry import render_all

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).parents[1] / "fixtures" / "config" / "valid" / "dns-gateway.yaml"
POLICIES = "kubernetes/manifests/dns-gateway/network-policies.yaml"


def test_dns_gateway_fixture_converges_and_needs_its_udp_policy(deep) -> None:
    homelab = build(load_config(FIXTURE.read_text(encoding="utf-8")).config)
    files = render_all(homelab)
    state, report = deep(homelab, files)
    assert [f.message for f in report.findings] == []
    assert any(o.kind == "Service" and o.name == "dns-gateway-k8s-gateway" for o in state.objects)
    # without the policy admitting DNS from outside, the LoadBalancer Service is unreachable
    docs = [d for d in yaml.safe_load_all(files[POLICIES]) if d]
    kept = [d for d in docs if not d["metadata"]["name"].endswith("-world")]
    assert len(kept) == len(docs) - 1
    _, broken = deep(homelab, {**files, POLICIES: yaml.safe_dump_all(kept, sort_keys=False)})
    assert [(f.check, f.object) for f in broken.findings] == [
        ("flow", "Service/dns-gateway/dns-gateway-k8s-gateway")
    ]
