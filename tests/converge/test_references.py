"""Every reference resolves: pods, Services, IngressRoutes, Certificates, ExternalSecrets."""

from __future__ import annotations

from typing import Any

import pytest

from homelabeazy.converge.references import check_references
from homelabeazy.converge.secret_refs import seeded_keys
from homelabeazy.desired.state import Finding
from homelabeazy.model import Homelab
from tests.converge.states import StateFixture, deployment, doc, service, valid_homelab

FILE = "kubernetes/manifests/web/objects.yaml"


def texts(fx: StateFixture, homelab: Homelab) -> list[str]:
    return [f.text() for f in check_references(fx.state(), homelab)]


def web() -> StateFixture:
    return StateFixture().app("web", 5, "web")


def external_secret(name: str, key: str, prop: str, store: str = "vault") -> dict[str, Any]:
    spec = {
        "secretStoreRef": {"kind": "ClusterSecretStore", "name": store},
        "target": {"name": name},
        "data": [{"secretKey": prop, "remoteRef": {"key": key, "property": prop}}],
    }
    return doc("external-secrets.io/v1", "ExternalSecret", name, spec=spec)


def vault_store(path: str = "homelab") -> dict[str, Any]:
    return doc(
        "external-secrets.io/v1", "ClusterSecretStore", "vault", spec={"provider": {"vault": {"path": path}}}
    )


# ---------------------------------------------------------------------------- pod templates


def test_every_kind_of_pod_reference_resolves(example_homelab: Homelab) -> None:
    container = {
        "name": "app",
        "image": "example/app:1",
        "env": [
            {"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "authelia-keys", "key": "jwt_secret"}}}
        ],
        "envFrom": [
            {"configMapRef": {"name": "settings"}},
            {"secretRef": {"name": "extra", "optional": True}},
        ],
    }
    volumes = [
        {"name": "tls", "secret": {"secretName": "web-tls"}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
        {"name": "ca", "projected": {"sources": [{"configMap": {"name": "kube-root-ca.crt"}}]}},
    ]
    fx = web().add("external-secrets", vault_store(), wave=3)
    fx.add("web", external_secret("authelia-keys", "authelia/keys", "jwt_secret"))
    fx.add("web", doc("cert-manager.io/v1", "Certificate", "web", spec={"secretName": "web-tls"}))
    fx.add("web", doc("v1", "ConfigMap", "settings", data={"a": "b"}))
    fx.add("web", doc("v1", "PersistentVolumeClaim", "data"))
    fx.add("web", doc("v1", "ServiceAccount", "app"))
    fx.add("web", deployment("app", containers=[container], volumes=volumes, serviceAccountName="app"))
    assert [t for t in texts(fx, example_homelab) if "Certificate/" not in t] == []


def test_missing_secret_of_a_volume(example_homelab: Homelab) -> None:
    fx = web().add("web", deployment("app", volumes=[{"name": "tls", "secret": {"secretName": "web-tls"}}]))
    assert texts(fx, example_homelab) == [
        f"{FILE}: Deployment/web/app: Secret web-tls (volume tls) does not exist in namespace web"
        " (render a Secret, an ExternalSecret or a Certificate that makes it, or mark it optional)"
    ]


def test_optional_secret_may_be_missing(example_homelab: Homelab) -> None:
    volume = {"name": "tls", "secret": {"secretName": "web-tls", "optional": True}}
    assert texts(web().add("web", deployment("app", volumes=[volume])), example_homelab) == []


def test_missing_key_of_a_secret(example_homelab: Homelab) -> None:
    env = [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]
    fx = web().add("web", doc("v1", "Secret", "db", stringData={"username": "x"}))
    fx.add("web", deployment("app", containers=[{"name": "app", "env": env}]))
    assert texts(fx, example_homelab) == [
        f"{FILE}: Deployment/web/app: Secret db has no key password (env PW of container app;"
        " it has: username) (render a Secret, an ExternalSecret or a Certificate that makes it,"
        " or mark it optional)"
    ]


@pytest.mark.parametrize(
    ("pod", "message"),
    [
        (
            {"serviceAccountName": "app"},
            "ServiceAccount app (serviceAccountName) does not exist in namespace web",
        ),
        (
            {"imagePullSecrets": [{"name": "regcred"}]},
            "Secret regcred (imagePullSecrets) does not exist in namespace web",
        ),
        (
            {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]},
            "PersistentVolumeClaim data (volume d) does not exist in namespace web",
        ),
        (
            {"containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "env"}}]}]},
            "ConfigMap env (envFrom of container c) does not exist in namespace web",
        ),
    ],
    ids=["service-account", "pull-secret", "pvc", "env-from"],
)
def test_missing_pod_references(example_homelab: Homelab, pod: dict[str, Any], message: str) -> None:
    [found] = check_references(web().add("web", deployment("app", **pod)).state(), example_homelab)
    assert found.message == message


def test_cronjob_templates_are_checked(example_homelab: Homelab) -> None:
    template = {"spec": {"containers": [{"name": "c"}], "serviceAccountName": "cleaner"}}
    cron = doc("batch/v1", "CronJob", "clean", spec={"jobTemplate": {"spec": {"template": template}}})
    assert [f.object for f in check_references(web().add("web", cron).state(), example_homelab)] == [
        "CronJob/web/clean"
    ]


def test_operator_made_secrets_resolve(example_homelab: Homelab) -> None:
    env = [
        {
            "name": "PW",
            "valueFrom": {"secretKeyRef": {"name": "elasticsearch-es-elastic-user", "key": "elastic"}},
        }
    ]
    fx = StateFixture().app("efk", 5, "logging", owner="efk")
    fx.add("efk", doc("elasticsearch.k8s.elastic.co/v1", "Elasticsearch", "elasticsearch"))
    fx.add("efk", deployment("shipper", containers=[{"name": "c", "env": env}]))
    assert texts(fx, example_homelab) == []


# ---------------------------------------------------------------------------- Services


def test_service_selecting_nothing(example_homelab: Homelab) -> None:
    fx = web().add("web", deployment("app")).add("web", service("app", {"app": "ap"}, [{"port": 80}]))
    assert texts(fx, example_homelab) == [
        f"{FILE}: Service/web/app: selects no pod (app=ap) (make the selector match a workload's pod labels)"
    ]


def test_service_target_port_by_name(example_homelab: Homelab) -> None:
    containers = [{"name": "app", "ports": [{"name": "http", "containerPort": 8080}]}]
    fx = web().add("web", deployment("app", containers=containers))
    fx.add(
        "web",
        service(
            "app", {"app": "app"}, [{"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": "web"}]
        ),
    )
    assert texts(fx, example_homelab) == [
        f"{FILE}: Service/web/app: targetPort web is not a port of the pods it selects"
        " (point targetPort at a containerPort (number or name) of the selected pods)"
    ]


# ---------------------------------------------------------------------------- IngressRoutes


def ingress_route(
    services: list[dict[str, Any]], middlewares: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    route = {"kind": "Rule", "match": "Host(`web.example.com`)", "services": services}
    if middlewares is not None:
        route["middlewares"] = middlewares
    return doc(
        "traefik.io/v1alpha1",
        "IngressRoute",
        "web",
        spec={"routes": [route], "tls": {"secretName": "web-tls"}},
    )


def routed() -> StateFixture:
    fx = web().add("web", deployment("app", containers=[{"name": "app", "ports": [{"containerPort": 80}]}]))
    fx.add("web", service("app", {"app": "app"}, [{"name": "http", "port": 80}]))
    fx.add("cert-manager", doc("cert-manager.io/v1", "ClusterIssuer", "ca"), wave=1)
    issuer = {"kind": "ClusterIssuer", "name": "ca"}
    return fx.add(
        "web",
        doc("cert-manager.io/v1", "Certificate", "web", spec={"secretName": "web-tls", "issuerRef": issuer}),
    )


def test_ingress_route_to_a_missing_port(example_homelab: Homelab) -> None:
    fx = routed().add("web", ingress_route([{"name": "app", "port": 8080}]))
    assert texts(fx, example_homelab) == [
        f"{FILE}: IngressRoute/web/web: Service web/app has no port 8080 (it has: http)"
        " (route to a Service and port the chart or manifests create)"
    ]


def test_ingress_route_by_port_name_and_number(example_homelab: Homelab) -> None:
    fx = routed().add("web", ingress_route([{"name": "app", "port": 80}, {"name": "app", "port": "http"}]))
    assert texts(fx, example_homelab) == []


def test_ingress_route_middlewares(example_homelab: Homelab) -> None:
    middlewares = [
        {"name": "authelia", "namespace": "authelia"},
        {"name": "authelia-authelia@kubernetescrd"},
        {"name": "compress@file"},
    ]
    fx = routed().add("web", ingress_route([{"name": "app", "port": 80}], middlewares))
    found = [
        f.message
        for f in check_references(fx.state(), example_homelab)
        if f.object.startswith("IngressRoute")
    ]
    assert found == [
        "Middleware authelia/authelia is in another namespace",
        "Middleware authelia/authelia does not exist",
        "Middleware authelia-authelia@kubernetescrd does not exist",
    ]
    fx.app("authelia", 4, "authelia").add("authelia", doc("traefik.io/v1alpha1", "Middleware", "authelia"))
    traefik_args = ["--providers.kubernetescrd.allowCrossNamespace=true"]
    fx.add(
        "authelia", deployment("traefik", "traefik", containers=[{"name": "traefik", "args": traefik_args}])
    )
    assert [
        f for f in check_references(fx.state(), example_homelab) if f.object.startswith("IngressRoute")
    ] == []


def test_ingress_route_tls_secret_made_by_nothing(example_homelab: Homelab) -> None:
    fx = web().add("web", ingress_route([{"name": "api@internal", "kind": "TraefikService"}]))
    assert texts(fx, example_homelab) == [
        f"{FILE}: IngressRoute/web/web: TLS Secret web-tls is made by nothing in namespace web"
        " (render a Secret, an ExternalSecret or a Certificate that makes it)"
    ]


# ---------------------------------------------------------------------------- Certificates


def test_certificate_names_a_missing_issuer(example_homelab: Homelab) -> None:
    issuer = {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "homelab-ca"}
    fx = web().add(
        "web", doc("cert-manager.io/v1", "Certificate", "web", spec={"secretName": "t", "issuerRef": issuer})
    )
    assert texts(fx, example_homelab) == [
        f"{FILE}: Certificate/web/web: ClusterIssuer homelab-ca does not exist"
        " (enable cert_manager or name an issuer it renders)"
    ]
    fx.add("web", doc("cert-manager.io/v1", "ClusterIssuer", "homelab-ca"))
    assert texts(fx, example_homelab) == []


# ---------------------------------------------------------------------------- ExternalSecrets


def test_seeded_keys_come_from_the_seed_plan(example_homelab: Homelab) -> None:
    keys = seeded_keys(example_homelab)
    assert keys["authelia/keys"] == {"jwt_secret", "session_secret", "storage_encryption_key"}
    assert set(keys) == {s.path for s in example_homelab.secrets}


def test_external_secret_with_an_unknown_key(example_homelab: Homelab) -> None:
    fx = web().add("external-secrets", vault_store(), wave=3)
    fx.add("web", external_secret("keys", "authelia/keys", "jwt"))
    fx.add("web", external_secret("other", "authelia/nothing", "x"))
    assert texts(fx, example_homelab) == [
        f"{FILE}: ExternalSecret/web/keys: Vault path authelia/keys has no key jwt (seeded keys: jwt_secret,"
        " session_secret, storage_encryption_key) (add the key to the service's SecretSpec in its catalog"
        " module, or fix the remoteRef)",
        f"{FILE}: ExternalSecret/web/other: Vault path authelia/nothing is not written by"
        " `homelab secrets seed` (add the key to the service's SecretSpec in its catalog module,"
        " or fix the remoteRef)",
    ]


def test_external_secret_store_missing_or_on_another_mount(example_homelab: Homelab) -> None:
    fx = web().add("web", external_secret("keys", "authelia/keys", "jwt_secret"))
    assert [f.message for f in check_references(fx.state(), example_homelab)] == [
        "ClusterSecretStore vault does not exist"
    ]
    fx.add("external-secrets", vault_store("kv"), wave=3)
    assert [f.message for f in check_references(fx.state(), example_homelab)] == [
        "store ClusterSecretStore/vault reads KV mount kv, not homelab"
    ]


def test_secrets_made_by_argocd_and_metallb_resolve(example_homelab: Homelab) -> None:
    env = [{"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "argocd-redis", "key": "auth"}}}]
    init = {"containers": [{"name": "secret-init", "command": ["argocd", "admin", "redis-initial-password"]}]}
    fx = StateFixture().app("argocd", 0, "argocd", owner="argocd")
    fx.add("argocd", deployment("argocd-server", containers=[{"name": "server", "env": env}]))
    speaker_volume = {"name": "memberlist", "secret": {"secretName": "metallb-memberlist"}}
    fx.app("metallb", 1, "metallb-system", owner="metallb")
    fx.add("metallb", deployment("speaker", volumes=[speaker_volume]))
    assert [f.message for f in check_references(fx.state(), example_homelab)] == [
        "Secret argocd-redis (env REDIS_PASSWORD of container server) does not exist in namespace argocd",
        "Secret metallb-memberlist (volume memberlist) does not exist in namespace metallb-system",
    ]
    fx.add("argocd", doc("batch/v1", "Job", "redis-secret-init", spec={"template": {"spec": init}}))
    controller_env = [{"name": "METALLB_ML_SECRET_NAME", "value": "metallb-memberlist"}]
    fx.add("metallb", deployment("controller", containers=[{"name": "controller", "env": controller_env}]))
    assert texts(fx, example_homelab) == []


def test_vault_pods_label_themselves_active_or_standby(example_homelab: Homelab) -> None:
    labels = {"app": "vault", "component": "server"}
    env = [{"name": "VAULT_K8S_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    pod = {"containers": [{"name": "vault", "env": env, "ports": [{"name": "http", "containerPort": 8200}]}]}
    server = doc(
        "apps/v1", "StatefulSet", "vault", spec={"template": {"metadata": {"labels": labels}, "spec": pod}}
    )
    fx = StateFixture().app("vault", 2, "vault", owner="vault")
    fx.add("vault", service("vault-active", {**labels, "vault-active": "true"}, [{"port": 8200}]))
    fx.add("vault", service("vault-standby", {**labels, "vault-active": "false"}, [{"port": 8200}]))
    plain = {
        **server,
        "spec": {"template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "v"}]}}},
    }
    assert [
        f.message.split(" (")[0] for f in check_references(fx.add("vault", plain).state(), example_homelab)
    ] == [
        "selects no pod",
        "selects no pod",
    ]
    fx = StateFixture().app("vault", 2, "vault", owner="vault").add("vault", server)
    fx.add("vault", service("vault-active", {**labels, "vault-active": "true"}, [{"port": 8200}]))
    fx.add("vault", service("vault-standby", {**labels, "vault-active": "false"}, [{"port": 8200}]))
    # Without Kubernetes service registration in its configuration no pod labels itself.
    assert len(texts(fx, example_homelab)) == 2
    registration = 'service_registration "kubernetes" {}\n'
    fx.add(
        "vault", doc("v1", "ConfigMap", "vault-config", data={"extraconfig-from-values.hcl": registration})
    )
    assert texts(fx, example_homelab) == []


def test_longhorn_manager_pods_label_themselves() -> None:
    longhorn_homelab = valid_homelab("three-hosts")
    assert longhorn_homelab.enabled("longhorn")
    manager = deployment("longhorn-manager", containers=[{"name": "longhorn-manager"}])
    manager["kind"] = "DaemonSet"
    fx = StateFixture().app("longhorn", 1, "longhorn-system", owner="longhorn")
    selector = {"longhorn.io/admission-webhook": "longhorn-admission-webhook"}
    fx.add("longhorn", service("longhorn-admission-webhook", selector, [{"port": 9502}]))
    assert len(texts(fx, longhorn_homelab)) == 1
    assert texts(fx.add("longhorn", manager), longhorn_homelab) == []


def test_references_into_a_users_own_manifest_folder() -> None:
    minimal_homelab = valid_homelab("minimal")
    route = doc(
        "traefik.io/v1alpha1",
        "IngressRoute",
        "blog",
        spec={"routes": [{"services": [{"name": "blog", "port": 80}]}]},
    )
    fx = StateFixture().app("blog", 6, "blog", owner="blog").add("blog", route)
    assert texts(fx, minimal_homelab) == []
    fx.add("blog", doc("v1", "ConfigMap", "seen"), file="apps/blog/config.yaml")
    assert [f.message for f in check_references(fx.state(), minimal_homelab)] == [
        "Service blog/blog does not exist"
    ]


def test_references_into_an_application_helm_could_not_render(example_homelab: Homelab) -> None:
    route = doc(
        "traefik.io/v1alpha1",
        "IngressRoute",
        "ui",
        spec={"routes": [{"services": [{"name": "ui", "port": 80}]}]},
    )
    fx = StateFixture().app("vault", 2, "vault", owner="vault").add("vault", route)
    assert [f.message for f in check_references(fx.state(), example_homelab)] == [
        "Service vault/ui does not exist"
    ]
    fx.builder.findings.append(
        Finding("helm", "helm template of vault failed", "values/vault.yaml", application="vault")
    )
    assert texts(fx, example_homelab) == []


def test_keys_picked_by_volume_items(example_homelab: Homelab) -> None:
    items = [{"key": "ca.crt", "path": "ca.crt"}, {"key": "ca.pem", "path": "ca.pem"}]
    volume = {"name": "ca", "projected": {"sources": [{"secret": {"name": "web-tls", "items": items}}]}}
    fx = web().add("web", doc("cert-manager.io/v1", "Certificate", "web", spec={"secretName": "web-tls"}))
    fx.add("web", deployment("app", volumes=[volume]))
    assert [
        f.message for f in check_references(fx.state(), example_homelab) if f.object.startswith("Deploy")
    ] == ["Secret web-tls has no key ca.pem (volume ca; it has: ca.crt, tls.crt, tls.key)"]


def test_ingress_route_to_a_service_of_another_namespace(example_homelab: Homelab) -> None:
    fx = routed().app("edge", 6, "edge")
    fx.add(
        "edge",
        doc(
            "traefik.io/v1alpha1",
            "IngressRoute",
            "r",
            spec={"routes": [{"services": [{"name": "app", "namespace": "web", "port": "http"}]}]},
        ),
    )
    assert [f.message for f in check_references(fx.state(), example_homelab)] == [
        "Service web/app is in another namespace"
    ]
