"""check_flows on small hand-built desired states: exact findings for each kind of defect."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from homelabeazy.converge.flows import certificate_covers, check_flows
from homelabeazy.desired.needs import Clients, need_from_url
from homelabeazy.desired.state import DesiredObject, DesiredState, Origin
from homelabeazy.model import Homelab
from homelabeazy.render.k8s.netpol import namespace_baseline

Doc = dict[str, Any]


def obj(doc: Doc, app: str, file: str = "") -> DesiredObject:
    namespace = doc.get("metadata", {}).get("namespace")
    return DesiredObject(
        doc, Origin(app, 0, file or f"kubernetes/manifests/{app}/x.yaml", "manifest"), namespace
    )


def state(*objects: DesiredObject) -> DesiredState:
    return DesiredState((), tuple(objects))


def meta(name: str, namespace: str | None = None) -> Doc:
    return {"name": name, **({"namespace": namespace} if namespace else {})}


def workload(
    kind: str, name: str, ns: str, labels: dict[str, str], ports: list[Doc] | None = None, **spec: Any
) -> Doc:
    container = {"name": name, "image": "x", "ports": ports or []}
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": meta(name, ns),
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container], **spec}},
        },
    }


def service(name: str, ns: str, selector: dict[str, str], ports: list[Doc]) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(name, ns),
        "spec": {"selector": selector, "ports": ports},
    }


def netpol(name: str, ns: str, spec: Doc) -> Doc:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(name, ns),
        "spec": spec,
    }


def to_namespace(ns: str) -> list[Doc]:
    return [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}]


DNS_OBJECTS = [
    obj(
        workload(
            "Deployment",
            "coredns",
            "kube-system",
            {"k8s-app": "kube-dns"},
            [
                {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
            ],
        ),
        "k3s",
    ),
    obj(
        service(
            "kube-dns",
            "kube-system",
            {"k8s-app": "kube-dns"},
            [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            ],
        ),
        "k3s",
    ),
]

ESO = {"app.kubernetes.io/name": "external-secrets"}
VAULT = {"app.kubernetes.io/name": "vault"}


def baseline(ns: str, app: str) -> list[DesiredObject]:
    return [
        obj(dict(p), app, f"kubernetes/manifests/{app}/network-policies.yaml") for p in namespace_baseline(ns)
    ]


def eso_vault_state(
    *,
    vault_ingress: bool = True,
    target_port: Any = 8200,
    pod_port_name: str = "http",
    ingress_ports: list[Doc] | None = None,
    server: str = "http://vault-active.vault.svc.cluster.local:8200",
    vault_secret: str | None = None,
) -> DesiredState:
    store = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ClusterSecretStore",
        "metadata": meta("vault"),
        "spec": {"provider": {"vault": {"server": server}}},
    }
    ingress_rule: Doc = {"from": to_namespace("external-secrets")}
    if ingress_ports is not None:
        ingress_rule["ports"] = ingress_ports
    objects = [
        *DNS_OBJECTS,
        obj(workload("Deployment", "external-secrets", "external-secrets", ESO), "external-secrets"),
        obj(
            workload(
                "StatefulSet",
                "vault",
                "vault",
                VAULT,
                [{"name": pod_port_name, "containerPort": 8200}],
                volumes=[{"name": "tls", "secret": {"secretName": vault_secret}}] if vault_secret else [],
            ),
            "vault",
        ),
        obj(
            service(
                "vault-active", "vault", VAULT, [{"name": "http", "port": 8200, "targetPort": target_port}]
            ),
            "vault",
        ),
        obj(store, "external-secrets", "kubernetes/manifests/external-secrets/store.yaml"),
        *baseline("external-secrets", "external-secrets"),
        *baseline("vault", "vault"),
        obj(
            netpol(
                "allow-eso-egress",
                "external-secrets",
                {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": to_namespace("vault")}]},
            ),
            "external-secrets",
        ),
    ]
    if vault_ingress:
        spec = {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [ingress_rule]}
        objects.append(obj(netpol("allow-vault-ingress", "vault", spec), "vault"))
    return state(*objects)


def test_allowed_flows_give_no_finding(example_homelab: Homelab) -> None:
    assert check_flows(eso_vault_state(), example_homelab) == []


def test_blocked_eso_to_vault_is_one_named_finding(example_homelab: Homelab) -> None:
    findings = check_flows(eso_vault_state(vault_ingress=False), example_homelab)
    assert len(findings) == 1
    finding = findings[0]
    assert finding.check == "flow"
    assert finding.object == "Deployment/external-secrets/external-secrets"
    assert finding.file == "kubernetes/manifests/vault/network-policies.yaml"
    assert finding.application == "vault"
    assert finding.message == (
        "secrets from Vault: Deployment/external-secrets/external-secrets cannot open TCP/8200 on "
        "Service/vault/vault-active port 8200 (pod port of StatefulSet/vault/vault, named in "
        "ClusterSecretStore/vault): ingress of StatefulSet/vault/vault is isolated by "
        "NetworkPolicy/vault/default-deny, NetworkPolicy/vault/allow-same-namespace and none of them "
        "allows TCP/8200 from Deployment/external-secrets/external-secrets"
    )
    assert finding.hint == (
        "missing: an ingress rule in namespace vault allowing TCP/8200 from namespace external-secrets"
    )


def test_named_target_port_is_checked_on_the_pod_port(example_homelab: Homelab) -> None:
    # the Service listens on 8200 and targets the pod's port named `http` (8200)
    allowed = eso_vault_state(target_port="http", ingress_ports=[{"port": 8200}])
    assert check_flows(allowed, example_homelab) == []
    # a policy that opens only a different pod port denies the flow
    wrong = eso_vault_state(target_port="http", ingress_ports=[{"port": 8201}])
    assert [f.object for f in check_flows(wrong, example_homelab)] == [
        "Deployment/external-secrets/external-secrets"
    ]
    # ... and a policy naming the pod port works too
    named = eso_vault_state(target_port="http", ingress_ports=[{"port": "http"}])
    assert check_flows(named, example_homelab) == []


def test_service_port_is_translated_to_target_port(example_homelab: Homelab) -> None:
    # Service port 8200 -> targetPort 8300 on the pod: a policy opening 8200 does not admit it
    st = eso_vault_state(target_port=8300, ingress_ports=[{"port": 8200}])
    findings = check_flows(st, example_homelab)
    assert len(findings) == 1
    assert "cannot open TCP/8300 on Service/vault/vault-active port 8200" in findings[0].message


def test_missing_named_target_port_is_a_finding(example_homelab: Homelab) -> None:
    findings = check_flows(eso_vault_state(target_port="http", pod_port_name="api"), example_homelab)
    assert [f.message for f in findings] == [
        "the External Secrets controller cannot reach vault-active.vault.svc.cluster.local (secrets from "
        "Vault): Service/vault/vault-active targets port 'http', which StatefulSet/vault/vault "
        "does not declare"
    ]


def test_blocked_dns_names_both_protocols(example_homelab: Homelab) -> None:
    st = eso_vault_state()
    objects = [o for o in st.objects if not (o.name == "allow-dns" and o.namespace == "vault")]
    findings = check_flows(state(*objects), example_homelab)
    assert sorted((f.object, f.message.split(" on ")[0]) for f in findings) == [
        ("StatefulSet/vault/vault", "name resolution: StatefulSet/vault/vault cannot open TCP/53"),
        ("StatefulSet/vault/vault", "name resolution: StatefulSet/vault/vault cannot open UDP/53"),
    ]
    assert all(
        f.hint == f"missing: an egress rule in namespace vault allowing {p}/53 to namespace kube-system"
        for f, p in zip(sorted(findings, key=lambda f: f.message), ("TCP", "UDP"), strict=True)
    )


def _binding(ns: str, account: str) -> DesiredObject:
    doc = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": meta(f"{ns}-{account}"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "x"},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": ns}],
    }
    return obj(doc, "x")


def test_controllers_need_every_api_server(example_homelab: Homelab) -> None:
    st = eso_vault_state()
    with_binding = state(*st.objects, _binding("external-secrets", "default"))
    findings = check_flows(with_binding, example_homelab)
    servers = [str(n.ip) for n in example_homelab.servers]
    assert len(findings) == len(servers) >= 1
    assert all(f.object == "Deployment/external-secrets/external-secrets" for f in findings)
    assert [f.message.split(":")[0] for f in findings] == ["Kubernetes API"] * len(servers)
    for finding, node in zip(findings, example_homelab.servers, strict=True):
        assert f"cannot open TCP/6443 on API server on {node.name} ({node.ip}): egress of" in finding.message
    api = netpol(
        "kube-api",
        "external-secrets",
        {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"ipBlock": {"cidr": f"{ip}/32"}} for ip in servers], "ports": [{"port": 6443}]}
            ],
        },
    )
    assert check_flows(state(*with_binding.objects, obj(api, "external-secrets")), example_homelab) == []
    # a pod that does not mount its token does not talk to the API
    no_token = copy.deepcopy(
        next(o.doc for o in st.objects if o.name == "external-secrets" and o.kind == "Deployment")
    )
    no_token["spec"]["template"]["spec"]["automountServiceAccountToken"] = False
    others = [
        o for o in with_binding.objects if not (o.name == "external-secrets" and o.kind == "Deployment")
    ]
    assert check_flows(state(*others, obj(no_token, "external-secrets")), example_homelab) == []


def _efk_state(host: str, verify: str = "true") -> DesiredState:
    es = {
        "apiVersion": "elasticsearch.k8s.elastic.co/v1",
        "kind": "Elasticsearch",
        "metadata": meta("elasticsearch", "logging"),
        "spec": {"version": "8.19.0", "nodeSets": [{"name": "default", "count": 1}]},
    }
    conf = (
        f"<match **>\n  @type elasticsearch\n  host {host}\n  port 9200\n  scheme https\n"
        f"  ssl_verify {verify}\n</match>\n"
    )
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta("fluentd", "logging"),
        "data": {"fluent.conf": conf},
    }
    fluentd = workload("DaemonSet", "fluentd", "logging", {"app.kubernetes.io/name": "fluentd"})
    operator = workload(
        "StatefulSet", "elastic-operator", "logging", {"app.kubernetes.io/name": "elastic-operator"}
    )
    return state(
        *DNS_OBJECTS,
        obj(es, "efk", "kubernetes/manifests/efk/elastic.yaml"),
        obj(config_map, "efk", "kubernetes/manifests/efk/fluentd.yaml"),
        obj(fluentd, "efk", "kubernetes/manifests/efk/fluentd.yaml"),
        obj(operator, "efk", "eck-operator-3.2.0/templates/statefulset.yaml"),
        *baseline("logging", "efk"),
    )


def test_tls_name_outside_the_eck_certificate_is_a_finding(example_homelab: Homelab) -> None:
    findings = check_flows(_efk_state("elasticsearch-es-http.logging.svc.cluster.local"), example_homelab)
    assert len(findings) == 1
    finding = findings[0]
    assert finding.object == "ConfigMap/logging/fluentd"
    assert finding.file == "kubernetes/manifests/efk/fluentd.yaml"
    assert finding.message.startswith(
        "Fluentd verifies the certificate of Service logging/elasticsearch-es-http as "
        "'elasticsearch-es-http.logging.svc.cluster.local' (log shipping to Elasticsearch), a name the "
        "certificate does not carry (it names: elasticsearch-es-http.logging.es.local, "
        "elasticsearch-es-http, "
        "elasticsearch-es-http.logging.svc, elasticsearch-es-http.logging, "
    )
    assert finding.hint == "connect to one of the certificate's names, e.g. elasticsearch-es-http.logging.svc"


@pytest.mark.parametrize("host", ["elasticsearch-es-http.logging.svc", "elasticsearch-es-http"])
def test_tls_names_the_eck_certificate_carries(example_homelab: Homelab, host: str) -> None:
    assert check_flows(_efk_state(host), example_homelab) == []


def test_tls_name_not_checked_without_verification(example_homelab: Homelab) -> None:
    assert (
        check_flows(_efk_state("elasticsearch-es-http.logging.svc.cluster.local", "false"), example_homelab)
        == []
    )


def test_outside_host_needs_an_egress_allow(example_homelab: Homelab) -> None:
    location = {
        "apiVersion": "velero.io/v1",
        "kind": "BackupStorageLocation",
        "metadata": meta("default", "velero"),
        "spec": {"config": {"s3Url": "https://s3.example.net:9000"}},
    }
    velero = obj(workload("Deployment", "velero", "velero", {"app.kubernetes.io/name": "velero"}), "velero")
    internet = netpol(
        "internet",
        "velero",
        {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.42.0.0/16"]}}],
                    "ports": [{"port": 443}],
                }
            ],
        },
    )
    base = [
        *DNS_OBJECTS,
        velero,
        obj(location, "velero"),
        *baseline("velero", "velero"),
        obj(internet, "velero"),
    ]
    findings = check_flows(state(*base), example_homelab)
    assert [f.message.split(":")[0] for f in findings] == ["backups to S3"]
    assert "cannot open TCP/9000 on s3.example.net (outside address) (192.0.2.1)" in findings[0].message
    location["spec"]["config"]["s3Url"] = "https://s3.example.net"
    assert check_flows(state(*base[:-3], obj(location, "velero"), *base[-2:]), example_homelab) == []


def test_client_labels_matching_no_pod_is_a_finding(example_homelab: Homelab) -> None:
    st = eso_vault_state()
    objects = [o for o in st.objects if o.kind != "Deployment" or o.name != "external-secrets"]
    findings = check_flows(state(*objects), example_homelab)
    assert [f.message for f in findings] == [
        "no pod of the state is the External Secrets controller, which needs "
        "vault-active.vault.svc.cluster.local:8200 (secrets from Vault)"
    ]


def test_need_from_url_ports_and_tls() -> None:
    clients = Clients("ns")
    assert need_from_url("https://h", clients, "p").port == 443
    assert need_from_url("https://h", clients, "p").tls_verify
    assert need_from_url("ldap://h", clients, "p").port == 389
    assert need_from_url("http://h:8200/x", clients, "p").port == 8200
    scp = need_from_url("git@github.com:me/repo.git", clients, "p")
    assert (scp.host, scp.port) == ("github.com", 22)
    with pytest.raises(ValueError, match="names no host"):
        need_from_url("foo://h", clients, "p")


@pytest.mark.parametrize(
    ("host", "carried"),
    [
        ("elasticsearch-es-default-0.elasticsearch-es-default.logging.svc", True),
        ("ELASTICSEARCH-ES-DEFAULT-0.elasticsearch-es-default.logging.svc.", True),
        ("a.b.elasticsearch-es-default.logging.svc", False),
        ("elasticsearch-es-default.logging.svc", False),
        ("elasticsearch-es-http.logging.svc", True),
        ("elasticsearch-es-http.logging.svc.cluster.local", False),
    ],
)
def test_certificate_covers_exact_names_and_one_label_wildcards(host: str, carried: bool) -> None:
    names = ["*.elasticsearch-es-default.logging.svc", "elasticsearch-es-http.logging.svc"]
    assert certificate_covers(host, names) is carried


def _vault_registration(text: str) -> DesiredObject:
    doc = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta("vault-config", "vault"),
        "data": {"x.hcl": text},
    }
    return obj(doc, "vault")


def _with_active_selector(st: DesiredState) -> list[DesiredObject]:
    """The chart's vault-active Service selects the label Vault sets on its leader at run time."""
    objects = [o for o in st.objects if not (o.kind == "Service" and o.name == "vault-active")]
    selector = {**VAULT, "component": "server", "vault-active": "true"}
    objects.append(obj(service("vault-active", "vault", selector, [{"name": "http", "port": 8200}]), "vault"))
    for i, o in enumerate(objects):
        if o.kind == "StatefulSet":
            doc = copy.deepcopy(o.doc)
            doc["spec"]["template"]["metadata"]["labels"] = {**VAULT, "component": "server"}
            objects[i] = obj(doc, "vault")
    return objects


@pytest.mark.parametrize(
    "config",
    ['{"service_registration":{"kubernetes":{}}}', 'service_registration "kubernetes" {}\n'],
)
def test_vault_labels_its_active_pod_with_kubernetes_registration(
    example_homelab: Homelab, config: str
) -> None:
    objects = _with_active_selector(eso_vault_state())
    assert check_flows(state(*objects, _vault_registration(config)), example_homelab) == []


def test_without_registration_vault_active_selects_no_pod(example_homelab: Homelab) -> None:
    objects = _with_active_selector(eso_vault_state())
    findings = check_flows(state(*objects, _vault_registration('storage "raft" {}')), example_homelab)
    assert len(findings) == 1
    assert findings[0].object == "Service/vault/vault-active"
    assert findings[0].message.endswith(
        "Service/vault/vault-active selects no pod ({'app.kubernetes.io/name': 'vault', "
        "'component': 'server', 'vault-active': 'true'})"
    )


def test_a_chart_that_did_not_render_is_not_reported_again(example_homelab: Homelab) -> None:
    from homelabeazy.desired.state import ApplicationInfo, Finding

    st = eso_vault_state()
    without_vault = tuple(o for o in st.objects if o.namespace != "vault")
    assert len(check_flows(DesiredState((), without_vault), example_homelab)) == 1  # no Service vault-active
    failed = Finding(
        "helm", "helm template of vault failed", "kubernetes/values/vault.yaml", application="vault"
    )
    apps = (ApplicationInfo("vault", 2, "vault", "kubernetes/apps/vault.yaml"),)
    assert check_flows(DesiredState(apps, without_vault, (failed,)), example_homelab) == []


def _traefik_state(*, egress: bool) -> DesiredState:
    route = {
        "apiVersion": "traefik.io/v1alpha1",
        "kind": "IngressRoute",
        "metadata": meta("whoami", "whoami"),
        "spec": {"routes": [{"match": "Host(`w`)", "services": [{"name": "whoami", "port": "web"}]}]},
    }
    auth = {
        "apiVersion": "traefik.io/v1alpha1",
        "kind": "Middleware",
        "metadata": meta("authelia", "authelia"),
        "spec": {"forwardAuth": {"address": "http://authelia.authelia.svc.cluster.local/api/authz"}},
    }
    traefik_labels = {"app.kubernetes.io/name": "traefik"}
    objects = [
        *DNS_OBJECTS,
        obj(workload("Deployment", "traefik", "traefik", traefik_labels), "traefik"),
        obj(
            workload(
                "Deployment", "whoami", "whoami", {"app": "whoami"}, [{"name": "http", "containerPort": 8080}]
            ),
            "whoami",
        ),
        obj(
            service(
                "whoami", "whoami", {"app": "whoami"}, [{"name": "web", "port": 80, "targetPort": "http"}]
            ),
            "whoami",
        ),
        obj(
            workload(
                "Deployment",
                "authelia",
                "authelia",
                {"app.kubernetes.io/name": "authelia"},
                [{"name": "http", "containerPort": 9091}],
            ),
            "authelia",
        ),
        obj(
            service(
                "authelia",
                "authelia",
                {"app.kubernetes.io/name": "authelia"},
                [{"port": 80, "targetPort": "http"}],
            ),
            "authelia",
        ),
        obj(route, "whoami"),
        obj(auth, "authelia"),
        *baseline("traefik", "traefik"),
    ]
    if egress:
        spec = {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {"to": to_namespace("whoami")},
                {"to": to_namespace("authelia"), "ports": [{"port": 9091}]},
            ],
        }
        objects.append(obj(netpol("allow-traefik-egress", "traefik", spec), "traefik"))
    return state(*objects)


def test_traefik_reaches_route_backends_and_forward_auth(example_homelab: Homelab) -> None:
    assert check_flows(_traefik_state(egress=True), example_homelab) == []
    findings = check_flows(_traefik_state(egress=False), example_homelab)
    assert [f.message.split(":")[0] for f in findings] == [
        "route backend of IngressRoute/whoami/whoami",
        "forwardAuth of Middleware/authelia/authelia",
    ]
    assert "cannot open TCP/8080 on Service/whoami/whoami port web" in findings[0].message
    assert "cannot open TCP/9091 on Service/authelia/authelia port 80" in findings[1].message
    assert {f.file for f in findings} == {"kubernetes/manifests/traefik/network-policies.yaml"}


def test_api_server_reaches_webhooks(example_homelab: Homelab) -> None:
    hook = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": meta("eso-validate"),
        "webhooks": [
            {
                "name": "v.eso.io",
                "clientConfig": {
                    "service": {"namespace": "external-secrets", "name": "eso-webhook", "port": 8443}
                },
            }
        ],
    }
    webhook = workload(
        "Deployment",
        "eso-webhook",
        "external-secrets",
        {"app": "hook"},
        [{"name": "webhook", "containerPort": 10250}],
    )
    svc = service(
        "eso-webhook", "external-secrets", {"app": "hook"}, [{"port": 8443, "targetPort": "webhook"}]
    )
    base = [
        *eso_vault_state().objects,
        obj(hook, "external-secrets"),
        obj(webhook, "external-secrets"),
        obj(svc, "external-secrets"),
    ]
    findings = check_flows(state(*base), example_homelab)
    assert len(findings) == len(example_homelab.servers)
    assert {f.object for f in findings} == {"ValidatingWebhookConfiguration/eso-validate"}
    assert all(
        "cannot open TCP/10250 on Service/external-secrets/eso-webhook port 8443" in f.message
        for f in findings
    )
    from_nodes = netpol(
        "from-nodes",
        "external-secrets",
        {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"ipBlock": {"cidr": f"{n.ip}/32"}} for n in example_homelab.servers]}],
        },
    )
    assert check_flows(state(*base, obj(from_nodes, "external-secrets")), example_homelab) == []


def _certificate(ns: str, secret: str, names: list[str]) -> DesiredObject:
    doc = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": meta(secret, ns),
        "spec": {"secretName": secret, "dnsNames": names},
    }
    return obj(doc, "x")


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["vault-active.vault.svc"], 0),
        (["*.vault.svc"], 0),
        (["vault.vault.svc", "vault-active.vault.svc.cluster.local"], 1),
    ],
)
def test_tls_client_checked_against_the_mounted_cert_manager_certificate(
    example_homelab: Homelab, names: list[str], expected: int
) -> None:
    st = eso_vault_state(server="https://vault-active.vault.svc:8200", vault_secret="vault-tls")
    findings = check_flows(state(*st.objects, _certificate("vault", "vault-tls", names)), example_homelab)
    assert len(findings) == expected
    if expected:
        assert findings[0].object == "ClusterSecretStore/vault"
        assert "as 'vault-active.vault.svc' (secrets from Vault), a name the certificate does not carry" in (
            findings[0].message
        )


def test_tls_client_of_an_unmanaged_certificate_is_not_checked(example_homelab: Homelab) -> None:
    st = eso_vault_state(server="https://vault-active.vault.svc:8200", vault_secret="vault-tls")
    assert check_flows(st, example_homelab) == []


def _route(hosts: str, secret: str = "w-tls") -> DesiredObject:
    doc = {
        "apiVersion": "traefik.io/v1alpha1",
        "kind": "IngressRoute",
        "metadata": meta("w", "whoami"),
        "spec": {"routes": [{"match": hosts, "services": []}], "tls": {"secretName": secret}},
    }
    return obj(doc, "whoami", "kubernetes/manifests/whoami/routes.yaml")


def test_routed_hosts_must_be_in_their_certificate(example_homelab: Homelab) -> None:
    cert = _certificate("whoami", "w-tls", ["w.example.com"])
    assert check_flows(state(*DNS_OBJECTS, cert, _route("Host(`w.example.com`)")), example_homelab) == []
    findings = check_flows(
        state(*DNS_OBJECTS, cert, _route("Host(`w.example.com`, `x.example.com`) && PathPrefix(`/`)")),
        example_homelab,
    )
    assert [(f.file, f.object, f.message, f.hint) for f in findings] == [
        (
            "kubernetes/manifests/whoami/routes.yaml",
            "IngressRoute/whoami/w",
            "serves 'x.example.com' with the certificate in Secret whoami/w-tls, which names only "
            "w.example.com: clients verifying the name refuse it",
            "add 'x.example.com' to the dnsNames of the Certificate whose secretName is w-tls",
        )
    ]
    # a Secret no Certificate manages is not cert-manager's to name
    other = _route("Host(`x.example.com`)", "user-tls")
    assert check_flows(state(*DNS_OBJECTS, cert, other), example_homelab) == []


def test_load_balancer_ports_admit_outside_clients(example_homelab: Homelab) -> None:
    proxy = workload(
        "Deployment", "traefik", "traefik", {"app": "t"}, [{"name": "websecure", "containerPort": 8443}]
    )
    lb = service(
        "traefik", "traefik", {"app": "t"}, [{"name": "websecure", "port": 443, "targetPort": "websecure"}]
    )
    lb["spec"]["type"] = "LoadBalancer"
    world = netpol(
        "world",
        "traefik",
        {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"ports": [{"port": 8443}]}]},
    )
    base = [*DNS_OBJECTS, obj(proxy, "traefik"), obj(lb, "traefik"), *baseline("traefik", "traefik")]
    assert check_flows(state(*base, obj(world, "traefik")), example_homelab) == []
    findings = check_flows(state(*base), example_homelab)
    assert [(f.object, f.message.split(": ingress")[0]) for f in findings] == [
        (
            "Service/traefik/traefik",
            "LoadBalancer Service: a client outside the cluster cannot open TCP/8443 on "
            "Service/traefik/traefik port 443 (pod port of Deployment/traefik/traefik)",
        )
    ]
    assert findings[0].hint == (
        "missing: an ingress rule in namespace traefik allowing TCP/8443 from a client outside the "
        "cluster (192.0.2.1)"
    )
