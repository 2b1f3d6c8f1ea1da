"""Sync waves are derived: every custom resource syncs after the Application that installs its CRD
(and serves the webhook validating it), every dependency before its dependant."""

from __future__ import annotations

from typing import Any

import pytest

from homelabeazy.model import Homelab
from homelabeazy.render.k8s.waves import (
    AFTER_WEBHOOK,
    WAVE_ANNOTATION,
    crd_providers,
    service_waves,
)
from tests.gitops.conftest import documents, example_data, render_k8s


def _app_waves(files: dict[str, str]) -> dict[str, int]:
    """Application name -> wave, and manifests folder -> Application name."""
    return {
        doc["metadata"]["name"]: int(doc["metadata"]["annotations"][WAVE_ANNOTATION])
        for path, doc in documents(files)
        if path.startswith("kubernetes/apps/")
    }


def _manifest_apps(files: dict[str, str]) -> dict[str, str]:
    """manifests folder -> the Application reading it."""
    result: dict[str, str] = {}
    for path, doc in documents(files):
        if path.startswith("kubernetes/apps/"):
            for source in doc["spec"]["sources"]:
                if source.get("path", "").startswith("kubernetes/manifests/"):
                    result[source["path"]] = doc["metadata"]["name"]
    return result


def _late_custom_resources(homelab: Homelab) -> list[str]:
    """Custom resources whose CRD comes from an Application that does not sync before theirs."""
    files = render_k8s(homelab)
    waves = _app_waves(files)
    readers = _manifest_apps(files)
    providers = {group: name.replace("_", "-") for group, name in crd_providers(homelab).items()}
    late = []
    for path, doc in documents(files):
        if not path.startswith("kubernetes/manifests/"):
            continue
        app = readers[path.rpartition("/")[0]]
        group = doc["apiVersion"].rpartition("/")[0]
        provider = providers.get(group)
        if provider is None or provider == app:
            continue
        if waves[provider] >= waves[app]:
            late.append(f"{doc['kind']}/{doc['metadata']['name']} in {app} needs {provider}")
    return late


def _variant(**services: dict[str, Any]) -> dict[str, Any]:
    data = example_data()
    for name, settings in services.items():
        data["services"][name] = {**data["services"].get(name, {}), **settings}
    return data


VARIANTS = {
    "example": {},
    "longhorn": {"longhorn": {"enabled": True}},
    "monitoring": {"monitoring": {"enabled": True}},
    "acme": {
        "cert_manager": {
            "issuer": "acme",
            "acme": {"email": "admin@example.com", "dns_provider": "cloudflare"},
        }
    },
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_custom_resources_sync_after_their_crds(variant: str, homelab_from) -> None:
    homelab = homelab_from(_variant(**VARIANTS[variant]))
    assert _late_custom_resources(homelab) == []


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_declared_dependencies_sync_first(variant: str, homelab_from) -> None:
    homelab = homelab_from(_variant(**VARIANTS[variant]))
    waves = _app_waves(render_k8s(homelab))
    for entry in homelab.services:
        for dependency in entry.depends_on:
            if homelab.enabled(dependency):
                assert waves[dependency.replace("_", "-")] < waves[entry.name.replace("_", "-")]


def test_the_example_waves(monitored_homelab: Homelab) -> None:
    """Vault waits for Traefik (`up` unseals it through its route), ESO for Vault, their consumers
    for ESO; ArgoCD and EFK start at once, their routes once Traefik is there; the ServiceMonitors
    of services before monitoring once monitoring is there."""
    assert _app_waves(render_k8s(monitored_homelab)) == {
        "argocd": 0,
        "cert-manager": 0,
        "metallb": 0,
        "efk": 0,
        "traefik": 1,
        "vault": 2,
        "argocd-routes": 2,
        "efk-routes": 2,
        "external-secrets": 3,
        "openldap": 4,
        "consul": 4,
        "velero": 4,
        "vault-backups": 4,  # after External Secrets (its bucket keys), with Vault up
        "monitoring": 4,
        "authelia": 5,
        "argocd-monitors": 5,
        "cert-manager-monitors": 5,
        "external-secrets-monitors": 5,
        "traefik-monitors": 5,
        "vault-monitors": 5,
        "velero-monitors": 5,
        "homepage": 6,
        "whoami": 6,
    }


def test_acme_issuer_waits_for_external_secrets(homelab_from) -> None:
    files = render_k8s(homelab_from(_variant(**VARIANTS["acme"])))
    waves = _app_waves(files)
    assert waves["cert-manager"] == 0
    assert waves["cert-manager-issuers"] > waves["external-secrets"]
    assert "kubernetes/manifests/cert-manager-issuers/issuers.yaml" in files


def test_stateful_services_wait_for_longhorn(homelab_from) -> None:
    waves = _app_waves(render_k8s(homelab_from(_variant(**VARIANTS["longhorn"]))))
    for name in ("vault", "openldap", "consul", "efk"):
        assert waves[name] > waves["longhorn"]


def test_webhook_validated_resources_wait_for_the_webhook(example_homelab: Homelab) -> None:
    """The chart's objects (the webhook Deployment) are resource wave 0; what it validates is later."""
    validated = {"IPAddressPool", "L2Advertisement", "ClusterIssuer", "Certificate", "ClusterSecretStore"}
    validated |= {"Elasticsearch", "Kibana"}
    files = render_k8s(example_homelab)
    readers = _manifest_apps(files)
    own = {"metallb", "cert-manager", "external-secrets", "efk"}
    seen = set()
    for path, doc in documents(files):
        app = readers.get(path.rpartition("/")[0])
        if app not in own or doc["kind"] not in validated:
            continue
        seen.add(doc["kind"])
        assert int(doc["metadata"]["annotations"][WAVE_ANNOTATION]) >= AFTER_WEBHOOK, doc["metadata"]
    assert seen == validated


def test_efk_ships_logs_only_after_the_index_template(example_homelab: Homelab) -> None:
    files = render_k8s(example_homelab)
    wave = {
        doc["kind"]: int(doc["metadata"].get("annotations", {}).get(WAVE_ANNOTATION, 0))
        for path, doc in documents(files)
        if path.startswith("kubernetes/manifests/efk/")
    }
    assert wave["Elasticsearch"] < wave["Job"] < wave["DaemonSet"]


def test_a_dependency_cycle_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="cycle"):
        service_waves({"a": {"b"}, "b": {"a"}})


def test_waves_are_longest_paths() -> None:
    assert service_waves({"c": {"a", "b"}, "b": {"a"}, "a": set()}) == {"a": 0, "b": 1, "c": 2}
