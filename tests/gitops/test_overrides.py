"""homelab.yaml owns chart versions and Helm values: what a change of either does to the rendered tree."""

from __future__ import annotations

import difflib
import re
from typing import Any

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.model import Homelab, build
from homelabeazy.model.catalog import REGISTRY, service_entry
from homelabeazy.render import kubernetes, render_all
from tests.gitops.conftest import example_data

VERSION_LINE = re.compile(r"^  (?P<svc>[a-z_]+):\n    version: (?P<version>\S+)$", re.M)


def _bumped(version: str) -> str:
    """The next patch release: `41.3.0` -> `41.3.1`, `v1.19.1` -> `v1.19.2`."""
    head, _, patch = version.rpartition(".")
    return f"{head}.{int(patch) + 1}"


def _tree(text: str) -> dict[str, str]:
    return render_all(build(load_config(text).config))


def _pinned_services() -> list[tuple[str, str]]:
    return [(m["svc"], m["version"]) for m in VERSION_LINE.finditer(example_text())]


def test_the_example_pins_every_service_it_lists_at_the_tested_version(example_loaded) -> None:
    pinned = dict(_pinned_services())
    config = example_loaded.config
    listed = {name for name in REGISTRY if name in yaml.safe_load(example_text())["services"]}
    assert set(pinned) == listed
    assert len(listed) >= 12
    for name, version in pinned.items():
        assert version == REGISTRY[name](config).chart.version, name  # type: ignore[union-attr]


@pytest.mark.slow  # seconds per case: left out of `make check`, run by `make test`
@pytest.mark.parametrize(("service", "version"), _pinned_services())
def test_bumping_one_chart_version_changes_exactly_that_application(service: str, version: str) -> None:
    """What a Renovate pull request does: one `version:` line of homelab.yaml, then a re-render."""
    text = example_text()
    line = f"  {service}:\n    version: {version}\n"
    assert text.count(line) == 1
    before = _tree(text)
    after = _tree(text.replace(line, f"  {service}:\n    version: {_bumped(version)}\n"))
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    app = f"kubernetes/apps/{service.replace('_', '-')}.yaml"
    # ArgoCD is also installed once by K3s (bootstrap/argocd-install.yaml) at the same version.
    expected = [app, "kubernetes/bootstrap/argocd-install.yaml"] if service == "argocd" else [app]
    if not getattr(load_config(text).config.services, service).enabled:
        assert changed == [], "a disabled service renders nothing, at any version"
        return
    assert changed == sorted(expected)
    diff = [
        d
        for d in difflib.unified_diff(before[app].splitlines(), after[app].splitlines(), lineterm="", n=0)
        if d[:1] in "+-" and not d.startswith(("+++", "---"))
    ]
    assert diff == [f"-    targetRevision: {version}", f"+    targetRevision: {_bumped(version)}"]


def test_values_are_merged_over_ours_in_the_values_file(homelab_from) -> None:
    data = example_data()
    data["services"]["traefik"]["values"] = {
        "deployment": {"podAnnotations": {"example.com/owner": "homelab"}},
        "ports": {"websecure": {"http3": {"enabled": False}}},
        "logs": {"general": {"level": "DEBUG"}},
    }
    files = kubernetes.render(homelab_from(data))
    values = yaml.safe_load(files["kubernetes/values/traefik.yaml"])
    assert values["deployment"] == {"replicas": 2, "podAnnotations": {"example.com/owner": "homelab"}}
    assert values["ports"]["websecure"] == {"port": 8443, "http3": {"enabled": False}}
    assert values["ports"]["web"]["http"]["redirections"]["entryPoint"]["to"] == "websecure"
    assert list(values)[-1] == "logs", "keys only the user sets follow ours"
    plain = kubernetes.render(homelab_from(example_data()))
    changed = sorted(p for p in files if files[p] != plain.get(p))
    assert changed == ["kubernetes/values/traefik.yaml"]


def test_argocd_values_reach_its_bootstrap_install_too(homelab_from) -> None:
    data = example_data()
    data["services"]["argocd"]["values"] = {"server": {"replicas": 2}}
    files = kubernetes.render(homelab_from(data))
    assert yaml.safe_load(files["kubernetes/bootstrap/argocd-values.yaml"])["server"] == {"replicas": 2}
    install = yaml.safe_load(files["kubernetes/bootstrap/argocd-install.yaml"])
    assert yaml.safe_load(install["spec"]["valuesContent"])["server"] == {"replicas": 2}


def test_an_omitted_version_is_the_catalog_pin(homelab_from) -> None:
    data = example_data()
    del data["services"]["vault"]["version"]
    homelab = homelab_from(data)
    assert service_entry(homelab.config, "vault").chart == REGISTRY["vault"](homelab.config).chart


def _everything_on() -> dict[str, Any]:
    data = example_data()
    services = data["services"]
    for name in ("monitoring", "dns_gateway", "external_dns", "longhorn"):
        services.setdefault(name, {})["enabled"] = True
    services["cloudflare_tunnel"] = {"enabled": True, "tunnel_id": "0b6c7a48-3b7e-4f3a-9d2e-5c1f8e7a9b10"}
    services["cert_manager"] = {"issuer": "acme", "acme": {"email": "me@example.com"}}
    data["apps"][0].update(public=True, public_without_sso=True)
    return data


def _at(values: Any, path: tuple[str, ...]) -> bool:
    for key in path:
        if not isinstance(values, dict) or key not in values:
            return False
        values = values[key]
    return True


def test_every_owned_value_is_one_the_renderer_really_sets(homelab_from) -> None:
    """A declared path that our values do not hold guards nothing: a renamed key must fail here."""
    homelab: Homelab = homelab_from(_everything_on())
    assert {e.name for e in homelab.services} == set(REGISTRY)
    for bundle in kubernetes.bundles(homelab):
        if bundle.kind != "service" or bundle.chart is None:  # apps, and companions (routes, ...)
            continue
        entry = homelab.service(bundle.owner)
        assert entry is not None
        for owned in entry.owned_values:
            assert _at(bundle.values, owned.path), (bundle.owner, owned.path)
