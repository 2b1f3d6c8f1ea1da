"""Outcomes on the effective objects (issue 26): every override that breaks a promise of the homelab
is found by the proof, at the key of homelab.yaml that breaks it; benign overrides are not.

Each attack renders the attacked service's chart with real Helm, with our values and the attack
merged as `homelab render` merges them, in place of that chart's objects in the proof of the
example (or of the variant with every optional service). The config is taken through the shape
check only: several attacks are ones the fast path (`values-conflict`) refuses as well, and the
proof must still catch them (a fast-path rule can miss a chart's sibling key; this cannot).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.config.load import parse_config
from homelabeazy.converge.build import build_proof
from homelabeazy.converge.outcomes import Rerender, check_outcomes
from homelabeazy.converge.recipes import BuiltState
from homelabeazy.desired.state import DesiredObject, DesiredState, Finding, Origin
from homelabeazy.model import Homelab, build
from homelabeazy.model.catalog.overrides import deep_merge
from homelabeazy.ops.helm import ChartCache
from homelabeazy.render.k8s.services import REGISTRY as RENDERERS
from homelabeazy.render.registry import render_all
from tests.gitops.conftest import example_data

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures" / "config" / "valid"


def full_data() -> dict[str, Any]:
    """Every optional service on: the public-DNS variant plus Longhorn, the DNS gateway, monitoring."""
    data: dict[str, Any] = yaml.safe_load((FIXTURES / "public-dns.yaml").read_text(encoding="utf-8"))
    services = data["services"]
    for name in ("longhorn", "dns_gateway", "monitoring", "external_dns", "cloudflare_tunnel"):
        services.setdefault(name, {})["enabled"] = True
    services["longhorn"]["replicas"] = 3
    services["velero"]["volume_backup"] = False
    return data


BASES: dict[str, Callable[[], dict[str, Any]]] = {"example": example_data, "full": full_data}


def shaped(data: dict[str, Any]) -> Homelab:
    """The model of `data`, through the shape check only (see the module's docstring)."""
    return build(parse_config(yaml.safe_dump(data, sort_keys=False)).config)


@dataclass(frozen=True)
class Base:
    data: Callable[[], dict[str, Any]]
    built: BuiltState


@pytest.fixture(scope="module")
def bases(chart_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Base]:
    out = {}
    for name, data in BASES.items():
        homelab = shaped(data())
        cache = ChartCache(chart_dir, tmp_path_factory.mktemp(f"pulled-{name}"), pull=False)
        out[name] = Base(data, build_proof(homelab, render_all(homelab), cache))
    return out


def attack(
    base: Base, service: str, values: dict[str, Any], rerender: Rerender | None = None
) -> list[Finding]:
    """The outcome findings when `services.<service>.values` is `values`, located by re-rendering
    (with `rerender`, the base's when None)."""
    data = base.data()
    data["services"][service]["values"] = values
    homelab = shaped(data)
    entry = homelab.service(service)
    assert entry is not None, service
    merged = deep_merge(RENDERERS[service](homelab, entry).values or {}, values)
    return check_outcomes(spliced(base, service, merged), homelab, rerender or base.built.rerender)


def spliced(base: Base, owner: str, values: dict[str, Any]) -> DesiredState:
    """The base's state with `owner`'s charts rendered with `values` (as `homelab render` writes them)."""
    state = base.built.state
    apps = {r.application for r in base.built.recipes if not r.crds_only} & {
        a.name for a in state.applications if a.owner == owner
    }
    objects = [o for o in state.objects if not (o.origin.application in apps and o.origin.source == "chart")]
    for app in sorted(apps):
        rendered = base.built.rerender(app, values)
        assert rendered is not None, f"Helm refused the values of {app}"
        objects.extend(rendered)
    return replace(state, objects=tuple(objects))


def no_render(application: str, values: Any) -> None:
    raise AssertionError(f"{application} was rendered again although every promise holds")


# (id, base, service, values, words of the finding, the homelab.yaml path it points at)
ATTACKS: list[tuple[str, str, str, dict[str, Any], str, str]] = [
    # OpenLDAP: the admin password, the directory's base and admin, its data
    ("ldap-empty-existing-secret", "example", "openldap", {"global": {"existingSecret": {}}},
     "LDAP_ADMIN_PASSWORD in container openldap-stack-ha of StatefulSet openldap comes from Secret openldap",
     "global.existingSecret"),
    ("ldap-null-existing-secret", "example", "openldap", {"global": {"existingSecret": None}},
     "comes from Secret openldap key LDAP_ADMIN_PASSWORD", "global.existingSecret"),
    ("ldap-existing-secret-elsewhere", "example", "openldap", {"global": {"existingSecret": "mine"}},
     "no container of StatefulSet openldap sets LDAP_ADMIN_PASSWORD", "global.existingSecret"),
    ("ldap-password-in-extra-env", "example", "openldap",
     {"extraEnvVars": [{"name": "LDAP_ADMIN_PASSWORD", "value": "root"}], "podAnnotations": {"a": "b"}},
     "LDAP_ADMIN_PASSWORD in container openldap-stack-ha of StatefulSet openldap comes from a literal value",
     "extraEnvVars"),
    ("ldap-other-base-dn", "example", "openldap", {"env": {"LDAP_ROOT": "dc=evil"}},
     "LDAP_ROOT of container openldap-stack-ha is dc=evil, not dc=home,dc=example,dc=com", "env.LDAP_ROOT"),
    ("ldap-other-admin", "example", "openldap",
     {"extraEnvVars": [{"name": "LDAP_ADMIN_USERNAME", "value": "root"}]},
     "LDAP_ADMIN_USERNAME of container openldap-stack-ha is root, not admin", "extraEnvVars"),
    ("ldap-no-structure", "example", "openldap", {"customLdifFiles": None},
     "StatefulSet openldap loads no custom LDIF ConfigMap", "customLdifFiles"),
    ("ldap-own-command", "example", "openldap", {"command": ["slapd", "-d", "0"]},
     "container openldap-stack-ha runs command slapd -d 0", "command"),
    ("ldap-zero-replicas", "example", "openldap", {"replicaCount": 0},
     "StatefulSet openldap runs 0 replicas, not 1", "replicaCount"),
    ("ldap-unschedulable", "example", "openldap", {"nodeSelector": {"disktype": "ssd"}},
     "no node of the homelab can run its pods (nodeSelector disktype=ssd fits none)",
     "nodeSelector.disktype"),
    ("ldap-too-big", "example", "openldap", {"resources": {"requests": {"cpu": "64"}}},
     "a request of 64000m CPU fits none", "resources.requests.cpu"),
    ("ldap-no-priority-class", "example", "openldap", {"priorityClassName": "vip"},
     "its pods name PriorityClass vip, which nothing makes", "priorityClassName"),
    ("ldap-no-volume", "example", "openldap", {"persistence": {"enabled": False}},
     "/bitnami/openldap in StatefulSet openldap is volume data, which no claim backs", "persistence.enabled"),
    ("ldap-load-balancer", "example", "openldap", {"service": {"type": "LoadBalancer"}},
     "Service openldap is of type LoadBalancer", "service.type"),
    # Vault: no dev mode, Shamir keys, the raft cluster on volumes
    ("vault-dev-extra-args", "example", "vault",
     {"server": {"extraArgs": "-dev -dev-root-token-id=root", "podAnnotations": {"a": "b"}}},
     "vault server is started with -dev", "server.extraArgs"),
    ("vault-dev-enabled", "example", "vault", {"server": {"dev": {"enabled": True}}},
     "VAULT_DEV_ROOT_TOKEN_ID is set in container vault", "server.dev.enabled"),
    ("vault-recovery", "example", "vault", {"server": {"extraArgs": "-recovery"}},
     "vault server is started with -recovery", "server.extraArgs"),
    ("vault-second-config", "example", "vault", {"server": {"extraArgs": "-config=/vault/userconfig/x.hcl"}},
     "vault server reads -config=/tmp/storageconfig.hcl, -config=/vault/userconfig/x.hcl",
     "server.extraArgs"),
    ("vault-auto-unseal", "example", "vault",
     {"server": {"extraEnvironmentVars": {"VAULT_SEAL_TYPE": "transit", "TZ": "UTC"}}},
     "VAULT_SEAL_TYPE is set in container vault", "server.extraEnvironmentVars.VAULT_SEAL_TYPE"),
    ("vault-no-data-volume", "example", "vault", {"server": {"dataStorage": {"enabled": False}}},
     "nothing is mounted at /vault/data in StatefulSet vault", "server.dataStorage.enabled"),
    ("vault-no-server", "example", "vault", {"server": {"enabled": False}},
     "there is no StatefulSet vault", "server.enabled"),
    ("vault-sidecar-host-port", "example", "vault",
     {"server": {"extraContainers": [{"name": "peek", "image": "busybox:1.36",
                                      "ports": [{"containerPort": 8200, "hostPort": 8200}]}]}},
     "StatefulSet vault opens host port 8200 on its node", "server.extraContainers"),
    ("vault-ui-load-balancer", "example", "vault", {"ui": {"serviceType": "LoadBalancer"}},
     "Service vault-ui is of type LoadBalancer", "ui.serviceType"),
    # Traefik: its entry points, its address, only the homelab's routes
    ("traefik-redefined-web", "example", "traefik",
     {"additionalArguments": ["--entrypoints.web.address=:80"]},
     "--entryPoints.web.address is :8000/tcp, :80, not :8000/tcp", "additionalArguments"),
    ("traefik-insecure-api", "example", "traefik", {"additionalArguments": ["--api.insecure=true"]},
     "--api.insecure=true is given", "additionalArguments"),
    ("traefik-ingress-provider", "example", "traefik",
     {"providers": {"kubernetesIngress": {"enabled": True}}},
     "--providers.kubernetesingress=true is given", "providers.kubernetesIngress.enabled"),
    ("traefik-trusts-forwarded-headers", "example", "traefik",
     {"ports": {"websecure": {"forwardedHeaders": {"insecure": True}}}},
     "--entrypoints.websecure.forwardedheaders.insecure=true is given",
     "ports.websecure.forwardedHeaders.insecure"),
    ("traefik-cluster-ip", "example", "traefik", {"service": {"spec": {"type": "ClusterIP"}}},
     "Service traefik is of type ClusterIP, not LoadBalancer", "service.spec.type"),
    ("traefik-other-address", "example", "traefik", {"service": {"spec": {"loadBalancerIP": "10.10.10.201"}}},
     "Service traefik also asks for loadBalancerIP 10.10.10.201", "service.spec.loadBalancerIP"),
    ("traefik-other-pool", "example", "traefik",
     {"service": {"annotations": {"metallb.io/address-pool": "x"}}},
     "Service traefik asks MetalLB for an address of pool x",
     'service.annotations."metallb.io/address-pool"'),
    ("traefik-no-service", "example", "traefik", {"service": {"enabled": False}},
     "there is no Service traefik", "service.enabled"),
    ("traefik-dashboard-route", "example", "traefik", {"ingressRoute": {"dashboard": {"enabled": True}}},
     "the chart adds its own route IngressRoute traefik-dashboard", "ingressRoute.dashboard.enabled"),
    ("traefik-zero-replicas", "example", "traefik", {"deployment": {"replicas": 0}},
     "Deployment traefik runs 0 replicas, not 2", "deployment.replicas"),
    ("traefik-host-network", "example", "traefik", {"hostNetwork": True},
     "Deployment traefik runs on the host network", "hostNetwork"),
    ("traefik-host-port", "example", "traefik", {"ports": {"web": {"hostPort": 80}}},
     "Deployment traefik opens host port 80", "ports.web.hostPort"),
    # ArgoCD: plain HTTP behind Traefik, its own login, its CRDs, its components
    ("argocd-empty-insecure", "example", "argocd", {"configs": {"params": {"server.insecure": {}}}},
     "argocd-cmd-params-cm sets server.insecure to 'map[]', not true", 'configs.params."server.insecure"'),
    ("argocd-insecure-flag", "example", "argocd", {"server": {"extraArgs": ["--insecure=false"]}},
     "argocd-server is started with --insecure=false", "server.extraArgs"),
    ("argocd-anonymous", "example", "argocd", {"configs": {"cm": {"users.anonymous.enabled": True}}},
     "argocd-cm enables the anonymous user", 'configs.cm."users.anonymous.enabled"'),
    ("argocd-admin-default", "example", "argocd", {"configs": {"rbac": {"policy.default": "role:admin"}}},
     "argocd-rbac-cm gives every logged-in user role:admin by default", 'configs.rbac."policy.default"'),
    ("argocd-no-crds", "example", "argocd", {"crds": {"install": False}},
     "render of ArgoCD's chart installs no CRD applications.argoproj.io", "crds.install"),
    ("argocd-node-port", "example", "argocd", {"server": {"service": {"type": "NodePort"}}},
     "Service argocd-server is of type NodePort", "server.service.type"),
    ("argocd-no-controller", "example", "argocd", {"controller": {"replicas": 0}},
     "StatefulSet argocd-application-controller runs 0 replicas", "controller.replicas"),
    # Consul
    ("consul-empty-sync", "example", "consul", {"syncCatalog": {"enabled": {}}},
     "there is no Deployment consul-sync-catalog", "syncCatalog.enabled"),
    ("consul-other-gossip-key", "example", "consul", {"global": {"gossipEncryption": {"secretName": "mine"}}},
     "GOSSIP_KEY in container consul of StatefulSet consul-server comes from Secret mine key key",
     "global.gossipEncryption.secretName"),
    ("consul-clients-host-ports", "example", "consul", {"client": {"enabled": True}},
     "DaemonSet consul-client opens host port 8500", "client.enabled"),
    ("consul-ui-load-balancer", "example", "consul", {"ui": {"service": {"type": "LoadBalancer"}}},
     "Service consul-ui is of type LoadBalancer", "ui.service.type"),
    # Velero
    ("velero-no-backups", "example", "velero", {"backupsEnabled": False},
     "there is no BackupStorageLocation default: no backup is written anywhere", "backupsEnabled"),
    ("velero-other-default-location", "example", "velero",
     {"configuration": {"defaultBackupStorageLocation": "elsewhere"}},
     "velero server writes to location elsewhere by default", "configuration.defaultBackupStorageLocation"),
    ("velero-other-credentials", "example", "velero", {"credentials": {"existingSecret": "mine"}},
     "Deployment velero mounts mine at /credentials", "credentials.existingSecret"),
    ("velero-no-plugin", "example", "velero", {"initContainers": []},
     "no init container installs the velero-plugin-for-aws", "initContainers"),
    ("velero-no-node-agent", "example", "velero", {"deployNodeAgent": False},
     "there is no DaemonSet node-agent: volumes are not backed up", "deployNodeAgent"),
    # External Secrets
    ("eso-one-namespace", "example", "external_secrets", {"scopedNamespace": "external-secrets"},
     "the controller only watches namespace external-secrets", "scopedNamespace"),
    ("eso-no-cluster-store", "example", "external_secrets", {"processClusterStore": False},
     "the controller runs with --enable-cluster-store-reconciler=false", "processClusterStore"),
    ("eso-other-account", "example", "external_secrets", {"serviceAccount": {"name": "other"}},
     "the controller runs as service account other, not external-secrets", "serviceAccount.name"),
    ("eso-no-webhook", "example", "external_secrets", {"webhook": {"create": False}},
     "there is no Deployment external-secrets-webhook", "webhook.create"),
    # Authelia
    ("authelia-bypass-by-env", "example", "authelia",
     {"pod": {"env": [{"name": "AUTHELIA_ACCESS_CONTROL_DEFAULT_POLICY", "value": "bypass"}]}},
     "container authelia sets AUTHELIA_ACCESS_CONTROL_DEFAULT_POLICY", "pod.env"),
    ("authelia-other-config", "example", "authelia", {"configMap": {"existingConfigMap": "mine"}},
     "/configuration.yaml is not ConfigMap authelia-configuration", "configMap.existingConfigMap"),
    ("authelia-daemonset", "example", "authelia", {"pod": {"kind": "DaemonSet"}},
     "there is no Deployment authelia", "pod.kind"),
    ("authelia-no-volume", "example", "authelia", {"persistence": {"enabled": False}},
     "nothing is mounted at /config in Deployment authelia", "persistence.enabled"),
    # cert-manager
    ("cert-manager-resource-namespace", "example", "cert_manager",
     {"clusterResourceNamespace": "kube-system"},
     "the controller's --cluster-resource-namespace is kube-system", "clusterResourceNamespace"),
    ("cert-manager-controllers-off", "example", "cert_manager", {"extraArgs": ["--controllers=*,-issuers"]},
     "the controller runs only controllers *,-issuers", "extraArgs"),
    ("cert-manager-no-cainjector", "example", "cert_manager", {"cainjector": {"enabled": False}},
     "there is no Deployment cert-manager-cainjector", "cainjector.enabled"),
    ("cert-manager-webhook-host-network", "example", "cert_manager", {"webhook": {"hostNetwork": True}},
     "Deployment cert-manager-webhook runs on the host network", "webhook.hostNetwork"),
    # MetalLB
    ("metallb-class", "example", "metallb", {"loadBalancerClass": "metallb"},
     "only handles Services of loadBalancerClass metallb", "loadBalancerClass"),
    ("metallb-no-speaker", "example", "metallb", {"speaker": {"enabled": False}},
     "there is no DaemonSet metallb-speaker", "speaker.enabled"),
    ("metallb-arm-only", "example", "metallb",
     {"controller": {"nodeSelector": {"kubernetes.io/arch": "arm64"}}},
     "nodeSelector kubernetes.io/arch=arm64 fits none", 'controller.nodeSelector."kubernetes.io/arch"'),
    # ECK
    ("eck-other-namespace", "example", "efk", {"managedNamespaces": ["elsewhere"]},
     "eck.yaml manages namespaces elsewhere, not logging", "managedNamespaces"),
    ("eck-no-operator", "example", "efk", {"replicaCount": 0},
     "StatefulSet elastic-operator runs 0 replicas", "replicaCount"),
    # the optional services
    ("longhorn-not-default", "full", "longhorn", {"persistence": {"defaultClass": False}},
     "Longhorn's StorageClass is not the default one", "persistence.defaultClass"),
    ("longhorn-one-replica", "full", "longhorn", {"persistence": {"defaultClassReplicaCount": 1}},
     "Longhorn's StorageClass keeps 1 replicas, not 3", "persistence.defaultClassReplicaCount"),
    ("longhorn-ui-load-balancer", "full", "longhorn", {"service": {"ui": {"type": "LoadBalancer"}}},
     "Service longhorn-frontend is of type LoadBalancer", "service.ui.type"),
    ("dns-gateway-cluster-ip", "full", "dns_gateway", {"service": {"type": "ClusterIP"}},
     "Service dns-gateway-k8s-gateway is of type ClusterIP, not LoadBalancer", "service.type"),
    ("dns-gateway-forwards", "full", "dns_gateway",
     {"extraZonePlugins": [{"name": "forward", "parameters": ". 1.1.1.1"}]},
     "the Corefile forwards queries on", "extraZonePlugins"),
    ("dns-gateway-other-domain", "full", "dns_gateway", {"domain": "evil.com"},
     "the Corefile's k8s_gateway does not serve home.example.com", "domain"),
    ("dns-gateway-other-address", "full", "dns_gateway", {"service": {"loadBalancerIP": "10.10.10.230"}},
     "also asks for loadBalancerIP 10.10.10.230", "service.loadBalancerIP"),
    ("external-dns-second-domain", "full", "external_dns", {"extraArgs": {"domain-filter": "evil.com"}},
     "--domain-filter is home.example.com, evil.com, not home.example.com", "extraArgs.domain-filter"),
    ("external-dns-regex-domain", "full", "external_dns", {"extraArgs": {"regex-domain-filter": ".*"}},
     "--regex-domain-filter=.* is given", "extraArgs.regex-domain-filter"),
    ("external-dns-upsert-only", "full", "external_dns", {"policy": "upsert-only"},
     "--policy is upsert-only, not sync", "policy"),
    ("external-dns-other-owner", "full", "external_dns", {"txtOwnerId": "someone"},
     "--txt-owner-id is someone, not homelabeazy", "txtOwnerId"),
    ("external-dns-no-registry", "full", "external_dns", {"registry": "noop"},
     "--registry is noop, not txt", "registry"),
    ("external-dns-more-sources", "full", "external_dns", {"sources": ["crd", "service"]},
     "--source is crd, service, not crd", "sources"),
    ("cloudflared-none", "full", "cloudflare_tunnel", {"replicaCount": 0},
     "Deployment cloudflared runs 0 replicas", "replicaCount"),
    ("grafana-anonymous-env", "full", "monitoring",
     {"grafana": {"env": {"GF_AUTH_ANONYMOUS_ENABLED": "true"}}},
     "Grafana's GF_AUTH_ANONYMOUS_ENABLED is true", "grafana.env.GF_AUTH_ANONYMOUS_ENABLED"),
    ("grafana-anonymous-ini", "full", "monitoring",
     {"grafana": {"grafana.ini": {"auth.anonymous": {"enabled": True}}}},
     "grafana.ini enables [auth.anonymous]", 'grafana."grafana.ini"."auth.anonymous".enabled'),
    ("grafana-own-password", "full", "monitoring", {"grafana": {"admin": {"existingSecret": ""}}},
     "GF_SECURITY_ADMIN_PASSWORD in container grafana of Deployment monitoring-grafana comes from Secret",
     "grafana.admin.existingSecret"),
    ("prometheus-ignores-monitors", "full", "monitoring",
     {"prometheus": {"prometheusSpec": {"serviceMonitorSelector": {"matchLabels": {"team": "x"}}}}},
     "Prometheus monitoring-prometheus has serviceMonitorSelector",
     "prometheus.prometheusSpec.serviceMonitorSelector.matchLabels.team"),
    ("alertmanager-other-config", "full", "monitoring",
     {"alertmanager": {"alertmanagerSpec": {"configSecret": "mine"}}},
     "Alertmanager monitoring-alertmanager reads its configuration from Secret mine",
     "alertmanager.alertmanagerSpec.configSecret"),
    ("prometheus-zero", "full", "monitoring", {"prometheus": {"prometheusSpec": {"replicas": 0}}},
     "Prometheus monitoring-prometheus runs 0 replicas", "prometheus.prometheusSpec.replicas"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("base", "service", "values", "words", "path"),
    [pytest.param(*case[1:], id=case[0]) for case in ATTACKS],
)
def test_an_override_that_breaks_a_promise_is_found_at_its_key(
    bases: dict[str, Base], base: str, service: str, values: dict[str, Any], words: str, path: str
) -> None:
    findings = attack(bases[base], service, values)
    assert findings, "the attack went unnoticed"
    assert all(f.check == "outcome" for f in findings)
    hits = [f for f in findings if words in f.message]
    assert hits, [f.message for f in findings]
    assert f"services.{service}.values.{path}" in {f.config_path for f in hits}, [
        (f.config_path, f.message) for f in hits
    ]
    assert all(
        f.config_path is not None and f.config_path.startswith(f"services.{service}.values") for f in findings
    )


BENIGN: list[tuple[str, str, str, dict[str, Any]]] = [
    ("traefik-annotations", "example", "traefik", {"deployment": {"podAnnotations": {"example.com/x": "y"}}}),
    # chart 41 reads the Service type from service.spec.type: service.type changes nothing
    ("traefik-ignored-service-type", "example", "traefik", {"service": {"type": "ClusterIP"}}),
    ("traefik-more-args", "example", "traefik", {"additionalArguments": ["--log.level=DEBUG"]}),
    # our Secret comes last among envFrom, so the ConfigMap's variable never wins
    ("ldap-password-in-the-env-configmap", "example", "openldap", {"env": {"LDAP_ADMIN_PASSWORD": "x"}}),
    ("ldap-empty-global", "example", "openldap", {"global": {}}),
    ("ldap-resources", "example", "openldap",
     {"resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}),
    ("vault-log-level", "example", "vault", {"server": {"extraArgs": "-log-level=debug"}}),
    ("vault-env", "example", "vault", {"server": {"extraEnvironmentVars": {"TZ": "UTC"}}}),
    ("argocd-reconciliation", "example", "argocd", {"configs": {"cm": {"timeout.reconciliation": "300s"}}}),
    ("argocd-linux-nodes", "example", "argocd", {"global": {"nodeSelector": {"kubernetes.io/os": "linux"}}}),
    ("velero-resources", "example", "velero", {"resources": {"limits": {"memory": "1Gi"}}}),
    ("metallb-servers-only", "example", "metallb",
     {"controller": {"nodeSelector": {"node-role.kubernetes.io/control-plane": "true"}}}),
    ("external-dns-interval", "full", "external_dns", {"interval": "5m"}),
    # the chart renders its own Secret then, which nothing reads: Authelia keeps reading ours
    ("authelia-chart-secret", "example", "authelia", {"secret": {"disabled": False}}),
    # the chart runs one pod whatever pod.replicas says while the storage is local (SQLite)
    ("authelia-replicas-ignored", "example", "authelia", {"pod": {"replicas": 2}}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("base", "service", "values"), [pytest.param(*case[1:], id=case[0]) for case in BENIGN]
)
def test_an_override_that_keeps_every_promise_is_not_a_finding(
    bases: dict[str, Base], base: str, service: str, values: dict[str, Any]
) -> None:
    """...and costs no render: charts are rendered again only to locate a breach."""
    assert attack(bases[base], service, values, no_render) == []


@pytest.mark.parametrize(
    ("values", "path"),
    [
        ({"env": [{"name": "HOMEPAGE_ALLOWED_HOSTS", "value": "localhost:3000"}], "replicaCount": 1}, "env"),
        ({"env": {"HOMEPAGE_ALLOWED_HOSTS": "other.example.com"}}, "env.HOMEPAGE_ALLOWED_HOSTS"),
    ],
)
def test_homepage_must_answer_for_its_route(
    bases: dict[str, Base], values: dict[str, Any], path: str
) -> None:
    """The homelab completes HOMEPAGE_ALLOWED_HOSTS unless the user's values set it: set otherwise,
    the dashboard is empty behind Traefik."""
    base = bases["example"]
    data = base.data()
    index = next(i for i, app in enumerate(data["apps"]) if app["name"] == "homepage")
    data["apps"][index]["chart"]["values"] = values
    homelab = shaped(data)
    app = next(a for a in homelab.apps if a.name == "homepage")
    assert app.values is not None
    findings = check_outcomes(spliced(base, "homepage", app.values), homelab, base.built.rerender)
    assert [f.config_path for f in findings] == [f"apps[{index}].chart.values.{path}"]
    assert (
        "HOMEPAGE_ALLOWED_HOSTS of Deployment homepage leaves out home.home.example.com"
        in findings[0].message
    )
    for allowed in ("*", "home.home.example.com,localhost:3000"):
        data["apps"][index]["chart"]["values"] = {"env": {"HOMEPAGE_ALLOWED_HOSTS": allowed}}
        homelab = shaped(data)
        app = next(a for a in homelab.apps if a.name == "homepage")
        assert app.values is not None
        assert check_outcomes(spliced(base, "homepage", app.values), homelab, no_render) == []


@pytest.mark.parametrize("base", list(BASES))
def test_every_promise_holds_with_our_values(bases: dict[str, Base], base: str) -> None:
    built = bases[base].built
    homelab = shaped(BASES[base]())
    assert check_outcomes(built.state, homelab, built.rerender) == []


@pytest.mark.parametrize("base", list(BASES))
def test_the_values_file_is_ours_merged_with_the_users(bases: dict[str, Base], base: str) -> None:
    """What attribution relies on: each service's values file is exactly the renderer's values with
    the user's merged over them."""
    data = BASES[base]()
    overrides = {"openldap": {"podAnnotations": {"a": "b"}}, "vault": {"server": {"logLevel": "debug"}}}
    for service, values in overrides.items():
        data["services"][service]["values"] = values
    homelab = shaped(data)
    files = render_all(homelab, ["kubernetes"])
    for entry in homelab.services:
        values = getattr(homelab.config.services, entry.name).values
        ours = RENDERERS[entry.name](homelab, entry).values
        path = (
            "kubernetes/bootstrap/argocd-values.yaml"
            if entry.name == "argocd"
            else (f"kubernetes/values/{entry.name.replace('_', '-')}.yaml")
        )
        if ours:
            assert yaml.safe_load(files[path]) == deep_merge(ours, values), entry.name


def test_the_cli_prints_the_line_of_the_override(cli, tmp_path: Path, chart_dir: Path) -> None:
    """`validate --deep` end to end (the state built from the rendered repo): the finding names the
    line of homelab.yaml where the override that breaks the promise is written."""
    data = example_data()
    data["services"]["vault"]["values"] = {
        "server": {"extraArgs": "-dev -dev-root-token-id=root", "podAnnotations": {"a": "b"}}
    }
    text = yaml.safe_dump(data, sort_keys=False)
    config = tmp_path / "homelab.yaml"
    config.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    line = next(i for i, row in enumerate(lines, 1) if row.strip().startswith("extraArgs:"))
    result = cli("validate", "--deep", "--charts", str(chart_dir), str(config))
    assert result.code == 2, result.err
    out = result.out + result.err
    assert "vault server is started with -dev" in out
    assert f"outcome check; from {config}:{line}: services.vault.values.server.extraArgs" in out


def test_every_core_service_declares_its_outcomes_and_its_confinement(bases: dict[str, Base]) -> None:
    """Each of the 16 services that take `values:` has outcomes; a NodePort Service of its chart (the
    way past Traefik and SSO most charts offer) breaks one of them."""
    from homelabeazy.model.catalog import REGISTRY

    base = bases["full"]
    homelab = shaped(full_data())
    assert {e.name for e in homelab.services} == set(REGISTRY), "the full variant enables every service"
    state = base.built.state
    for entry in homelab.services:
        app = next(a for a in state.applications if a.owner == entry.name and a.name != "bootstrap")
        exposed = DesiredObject(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "exposed"},
                "spec": {"type": "NodePort"},
            },
            Origin(app.name, app.wave, "chart-1.0.0/templates/service.yaml", "chart"),
            entry.namespace,
        )
        findings = check_outcomes(replace(state, objects=(*state.objects, exposed)), homelab)
        assert [f.config_path for f in findings] == [f"services.{entry.name}"], entry.name
        assert "Service exposed is of type NodePort: reachable past Traefik and SSO" in findings[0].message
