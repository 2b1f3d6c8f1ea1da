"""Ordering as ArgoCD applies it: CRDs, namespaces, admission webhooks, ExternalSecrets."""

from __future__ import annotations

from typing import Any

import pytest

from homelabeazy.converge.ordering import check_ordering
from homelabeazy.converge.schema import check_schema
from homelabeazy.model import Homelab
from tests.converge.states import StateFixture, crd, deployment, doc, service

CERT_CRD = crd("cert-manager.io", "Certificate", "certificates")


def texts(fixture: StateFixture, homelab: Homelab) -> list[str]:
    return [f.text() for f in check_ordering(fixture.state(), homelab)]


def certificate(**meta: Any) -> dict[str, Any]:
    return doc("cert-manager.io/v1", "Certificate", "web", **meta, spec={"secretName": "web-tls"})


# ---------------------------------------------------------------------------- CRDs


def test_cr_in_a_later_wave_than_its_crd_is_fine(example_homelab: Homelab) -> None:
    fx = StateFixture().app("cert-manager", 1, "cert-manager").app("web", 2, "web")
    fx.add("cert-manager", CERT_CRD, file="cert-manager-v1.19.1/templates/crds.yaml", source="chart")
    fx.add("web", certificate())
    assert texts(fx, example_homelab) == []


def test_cr_one_wave_before_its_crd(example_homelab: Homelab) -> None:
    fx = StateFixture().app("cert-manager", 1, "cert-manager").app("web", 1, "web")
    fx.add("cert-manager", CERT_CRD, file="cert-manager-v1.19.1/templates/crds.yaml", source="chart")
    fx.add("web", certificate())
    assert texts(fx, example_homelab) == [
        "kubernetes/manifests/web/objects.yaml: Certificate/web/web: its CRD certificates.cert-manager.io"
        " comes from application cert-manager (wave 1), not before application web (wave 1)"
        " (move the resource to a later sync wave than the Application installing its CRD)"
    ]


def test_cr_beside_its_crd_in_one_application_is_fine(example_homelab: Homelab) -> None:
    fx = StateFixture().app("cert-manager", 1, "cert-manager")
    fx.add("cert-manager", CERT_CRD).add("cert-manager", certificate())
    assert texts(fx, example_homelab) == []


def test_cr_in_an_earlier_resource_wave_than_its_crd_in_one_application(example_homelab: Homelab) -> None:
    fx = StateFixture().app("cert-manager", 1, "cert-manager")
    late_crd = {
        **CERT_CRD,
        "metadata": {**CERT_CRD["metadata"], "annotations": {"argocd.argoproj.io/sync-wave": "1"}},
    }
    fx.add("cert-manager", late_crd)
    fx.add("cert-manager", certificate())
    assert texts(fx, example_homelab) == [
        "kubernetes/manifests/cert-manager/objects.yaml: Certificate/cert-manager/web: its CRD"
        " certificates.cert-manager.io is applied in a later sync wave of cert-manager"
        " (move the resource to a later sync wave than the Application installing its CRD)"
    ]


def test_cr_without_any_crd_is_the_schema_checks_finding_only(example_homelab: Homelab) -> None:
    """One finding per cause: no CRD at all is what the schema check says (nothing to validate it
    against); ordering speaks only of a CRD that exists but comes too late."""
    fx = StateFixture().app("web", 2, "web").add("web", certificate())
    assert check_ordering(fx.state(), example_homelab) == []
    found = [f for f in check_schema(fx.state(), example_homelab) if f.object == "Certificate/web/web"]
    assert [(f.check, f.message) for f in found] == [
        ("schema", "no CRD in the desired state installs Certificate of cert-manager.io")
    ]


def test_finding_names_the_config_entry(example_homelab: Homelab) -> None:
    fx = (
        StateFixture().app("cert-manager", 4, "cert-manager").app("authelia", 4, "authelia", owner="authelia")
    )
    fx.add("cert-manager", CERT_CRD, file="cert-manager-v1.19.1/templates/crds.yaml", source="chart")
    fx.add("authelia", certificate())
    [found] = check_ordering(fx.state(), example_homelab)
    assert found.config_path == "services.authelia"


# ---------------------------------------------------------------------------- namespaces


def test_namespace_created_by_nobody(example_homelab: Homelab) -> None:
    fx = StateFixture().app("web", 2, "web").add("web", doc("v1", "ConfigMap", "settings", "elsewhere"))
    assert texts(fx, example_homelab) == [
        "kubernetes/manifests/web/objects.yaml: ConfigMap/elsewhere/settings: namespace elsewhere does not"
        " exist yet when application web (wave 2) applies it (create the namespace in an earlier wave"
        " (a Namespace object or CreateNamespace=true))"
    ]


def test_namespace_from_an_earlier_namespace_object_or_k3s(example_homelab: Homelab) -> None:
    fx = StateFixture().app("base", 0, "base").app("web", 2, "web")
    fx.add("base", doc("v1", "Namespace", "elsewhere"))
    fx.add("web", doc("v1", "ConfigMap", "settings", "elsewhere"))
    fx.add("web", doc("v1", "ConfigMap", "settings", "kube-system"))
    assert texts(fx, example_homelab) == []


def test_namespace_object_in_a_later_wave(example_homelab: Homelab) -> None:
    fx = StateFixture().app("base", 3, "base").app("web", 2, "web")
    fx.add("base", doc("v1", "Namespace", "elsewhere"))
    fx.add("web", doc("v1", "ConfigMap", "settings", "elsewhere"))
    assert len(texts(fx, example_homelab)) == 1


# ---------------------------------------------------------------------------- admission webhooks


def webhook_app(fx: StateFixture, **hook: Any) -> StateFixture:
    """external-secrets (wave 3) with a validating webhook for its stores, served by `eso-webhook`."""
    rule = {"apiGroups": ["external-secrets.io"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"]}
    rule["resources"] = ["clustersecretstores"]
    webhook = {
        "name": "validate.clustersecretstore.external-secrets.io",
        "clientConfig": {"service": {"name": "eso-webhook", "namespace": "external-secrets"}},
        "rules": [rule],
        **hook,
    }
    fx.app("external-secrets", 3, "external-secrets")
    fx.add("external-secrets", crd("external-secrets.io", "ClusterSecretStore", "clustersecretstores"))
    fx.add("external-secrets", deployment("eso-webhook"))
    fx.add("external-secrets", service("eso-webhook", {"app": "eso-webhook"}, [{"port": 443}]))
    config = doc(
        "admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "eso", webhooks=[webhook]
    )
    return fx.add("external-secrets", config)


def store(**meta: Any) -> dict[str, Any]:
    return doc("external-secrets.io/v1", "ClusterSecretStore", "vault", **meta, spec={"provider": {}})


def test_resource_validated_before_its_webhook_serves(example_homelab: Homelab) -> None:
    fx = webhook_app(StateFixture()).add("external-secrets", store())
    assert texts(fx, example_homelab) == [
        "kubernetes/manifests/external-secrets/objects.yaml: ClusterSecretStore/vault: admission webhook"
        " validate.clustersecretstore.external-secrets.io (ValidatingWebhookConfiguration/eso) is served by"
        " Deployment/external-secrets/eso-webhook, not ready before application external-secrets (wave 3)"
        " (apply the resource in a later sync wave than the webhook's Deployment)"
    ]


def test_resource_in_a_later_resource_wave_than_the_webhook_is_fine(example_homelab: Homelab) -> None:
    fx = webhook_app(StateFixture())
    fx.add("external-secrets", store(annotations={"argocd.argoproj.io/sync-wave": "1"}))
    assert texts(fx, example_homelab) == []


@pytest.mark.parametrize(
    "hook",
    [
        {"failurePolicy": "Ignore"},
        {"objectSelector": {"matchLabels": {"validate": "yes"}}},
        {"rules": [{"apiGroups": ["*"], "resources": ["secretstores"], "operations": ["CREATE"]}]},
        {"rules": [{"apiGroups": ["*"], "resources": ["*"], "operations": ["DELETE"]}]},
        {"rules": [{"apiGroups": ["cert-manager.io"], "resources": ["*/*"], "operations": ["CREATE"]}]},
    ],
    ids=["ignore", "object-selector", "other-resource", "delete-only", "other-group"],
)
def test_webhooks_that_do_not_intercept_the_resource(example_homelab: Homelab, hook: dict[str, Any]) -> None:
    fx = webhook_app(StateFixture(), **hook).add("external-secrets", store())
    assert texts(fx, example_homelab) == []


@pytest.mark.parametrize("resources", [["*"], ["*/*"], ["clustersecretstores/*"]])
def test_webhook_resource_wildcards(example_homelab: Homelab, resources: list[str]) -> None:
    rule = {"apiGroups": ["external-secrets.io"], "resources": resources, "operations": ["CREATE"]}
    fx = webhook_app(StateFixture(), rules=[rule]).add("external-secrets", store())
    assert [f.object for f in check_ordering(fx.state(), example_homelab)] == ["ClusterSecretStore/vault"]


def test_namespace_selector_of_a_webhook(example_homelab: Homelab) -> None:
    selector = {
        "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["web"]}]
    }
    rule = {"apiGroups": [""], "resources": ["configmaps"], "operations": ["*"]}
    fx = webhook_app(StateFixture(), namespaceSelector=selector, rules=[rule])
    fx.app("web", 3, "web").add("web", doc("v1", "ConfigMap", "a")).add(
        "web", doc("v1", "ConfigMap", "b", "external-secrets")
    )
    found = check_ordering(fx.state(), example_homelab)
    assert [f.object for f in found if "admission webhook" in f.message] == ["ConfigMap/external-secrets/b"]


# ---------------------------------------------------------------------------- ExternalSecrets


def external_secret(namespace: str = "web") -> dict[str, Any]:
    ref = {"kind": "ClusterSecretStore", "name": "vault"}
    return doc("external-secrets.io/v1", "ExternalSecret", "db", namespace, spec={"secretStoreRef": ref})


def eso_fixture(web_wave: int, crd_app: str = "external-secrets") -> StateFixture:
    fx = StateFixture().app("crds", 1, "crds").app("external-secrets", 3, "external-secrets")
    fx.app("web", web_wave, "web")
    fx.add(crd_app, crd("external-secrets.io", "ExternalSecret", "externalsecrets"))
    fx.add(crd_app, crd("external-secrets.io", "ClusterSecretStore", "clustersecretstores"))
    fx.add("external-secrets", deployment("external-secrets"))
    fx.add("external-secrets", store())
    return fx.add("web", external_secret())


def test_external_secret_after_operator_and_store(example_homelab: Homelab) -> None:
    assert texts(eso_fixture(4), example_homelab) == []


def test_external_secret_beside_operator_and_store(example_homelab: Homelab) -> None:
    found = [f.message for f in check_ordering(eso_fixture(3, crd_app="crds").state(), example_homelab)]
    assert found == [
        "the External Secrets operator (Deployment/external-secrets/external-secrets) is not running before"
        " application web (wave 3)",
        "its store ClusterSecretStore/vault comes from application external-secrets (wave 3), not before"
        " application web (wave 3)",
    ]


def test_external_secret_before_its_crd_is_reported_once(example_homelab: Homelab) -> None:
    found = [f.message for f in check_ordering(eso_fixture(3).state(), example_homelab)]
    assert found == [
        "its CRD externalsecrets.external-secrets.io comes from application external-secrets (wave 3),"
        " not before application web (wave 3)"
    ]


# ---------------------------------------------------------------------------- hooks


def test_hooks_argocd_never_applies_are_not_checked(example_homelab: Homelab) -> None:
    fx = StateFixture().app("web", 2, "web")
    fx.add("web", doc("cert-manager.io/v1", "Certificate", "t", annotations={"helm.sh/hook": "test"}))
    assert texts(fx, example_homelab) == []


def test_a_pre_sync_hook_comes_before_the_crd_of_its_own_application(example_homelab: Homelab) -> None:
    fx = StateFixture().app("cert-manager", 1, "cert-manager").add("cert-manager", CERT_CRD)
    fx.add(
        "cert-manager", certificate(annotations={"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "5"})
    )
    [found] = check_ordering(fx.state(), example_homelab)
    assert (
        found.message
        == "its CRD certificates.cert-manager.io is applied in a later sync wave of cert-manager"
    )


def test_the_destination_namespace_exists_before_pre_sync_hooks(example_homelab: Homelab) -> None:
    fx = StateFixture().app("web", 2, "web")
    fx.add("web", doc("v1", "ConfigMap", "c", annotations={"argocd.argoproj.io/hook": "PreSync"}))
    assert texts(fx, example_homelab) == []


def test_a_cr_before_its_crd_is_not_also_reported_for_the_crds_webhook(example_homelab: Homelab) -> None:
    fx = webhook_app(StateFixture()).app("web", 3, "web")
    fx.add("web", store())
    assert [f.message.split(" comes")[0] for f in check_ordering(fx.state(), example_homelab)] == [
        "its CRD clustersecretstores.external-secrets.io"
    ]


def test_webhook_whose_service_selects_no_workload(example_homelab: Homelab) -> None:
    fx = webhook_app(StateFixture())
    fx.builder.objects = [o for o in fx.builder.objects if o.kind != "Deployment"]
    fx.add("external-secrets", store(annotations={"argocd.argoproj.io/sync-wave": "1"}))
    assert [f.message for f in check_ordering(fx.state(), example_homelab)] == [
        "admission webhook validate.clustersecretstore.external-secrets.io"
        " (ValidatingWebhookConfiguration/eso) has no Deployment serving it"
    ]
