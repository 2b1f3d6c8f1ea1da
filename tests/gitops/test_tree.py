"""The shape of the GitOps tree: golden files, Applications, routes, policies, on/off behaviour."""

from __future__ import annotations

import difflib
from typing import Any

import pytest
import yaml

from homelabeazy.model import Homelab
from homelabeazy.render import render_all
from tests.gitops.conftest import documents, example_data, render_k8s
from tests.support.golden import assert_golden


def _load(files: dict[str, str], path: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(files[path]) if d]


def _authelia_rules(files: dict[str, str]) -> list[dict[str, Any]]:
    configmap = _load(files, "kubernetes/manifests/authelia/configuration.yaml")[0]
    config = yaml.safe_load(configmap["data"]["configuration.yaml"])
    rules: list[dict[str, Any]] = config["access_control"]["rules"]
    assert config["access_control"]["default_policy"] == "deny"
    return rules


def test_golden(example_homelab: Homelab) -> None:
    assert_golden(render_k8s(example_homelab), "kubernetes")


def test_render_is_deterministic(example_homelab: Homelab, homelab_from) -> None:
    again = homelab_from(example_data())
    assert render_k8s(example_homelab) == render_k8s(again)


def test_root_application_points_at_apps(example_homelab: Homelab) -> None:
    files = render_k8s(example_homelab)
    root = _load(files, "kubernetes/bootstrap/root.yaml")[0]
    gitops = example_homelab.config.gitops
    assert root["spec"]["source"] == {
        "repoURL": gitops.repo_url,
        "targetRevision": gitops.revision,
        "path": "kubernetes/apps",
    }
    apps = {p for p in files if p.startswith("kubernetes/apps/")}
    # ArgoCD manages itself: its own Application is one of the root's children, with the install values.
    assert "kubernetes/apps/argocd.yaml" in apps
    argocd = _load(files, "kubernetes/apps/argocd.yaml")[0]
    assert argocd["spec"]["sources"][0]["helm"]["valueFiles"] == [
        "$values/kubernetes/bootstrap/argocd-values.yaml"
    ]


def _wave(app: dict[str, Any]) -> int:
    return int(app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])


def test_one_application_per_service_and_app_with_pins_and_waves(monitored_homelab: Homelab) -> None:
    example_homelab = monitored_homelab
    files = render_k8s(example_homelab)
    expected = {e.name.replace("_", "-"): e for e in example_homelab.services}
    apps = {a.name: a for a in example_homelab.apps}
    names = {
        p.removeprefix("kubernetes/apps/").removesuffix(".yaml")
        for p in files
        if p.startswith("kubernetes/apps/")
    }
    # ArgoCD and EFK need not wait for Traefik: their routes sync in a companion Application; the
    # ServiceMonitors of services syncing before monitoring do the same.
    monitored = ("argocd", "cert-manager", "external-secrets", "traefik", "vault", "velero")
    companions = {"argocd-routes", "efk-routes", *(f"{name}-monitors" for name in monitored)}
    assert names == set(expected) | set(apps) | companions
    core = set(expected) | companions
    core_waves = [_wave(_load(files, f"kubernetes/apps/{name}.yaml")[0]) for name in core]
    for name in names - companions:
        app = _load(files, f"kubernetes/apps/{name}.yaml")[0]
        spec = app["spec"]
        policy = spec["syncPolicy"]
        assert policy["automated"] == {"prune": True, "selfHeal": True}
        assert "CreateNamespace=true" in policy["syncOptions"]
        assert policy["retry"]["limit"] > 0
        chart_source = spec["sources"][0]
        if name in expected:
            entry = expected[name]
            assert spec["destination"]["namespace"] == entry.namespace
            assert entry.chart is not None
            assert (chart_source["repoURL"], chart_source["chart"], chart_source["targetRevision"]) == (
                entry.chart.repo,
                entry.chart.name,
                entry.chart.version,
            )
        else:
            chart = apps[name].config.chart
            assert chart is not None
            assert chart_source["targetRevision"] == chart.version
            assert _wave(app) == max(core_waves) + 1


def test_every_route_has_certificate_and_ingressroute(example_homelab: Homelab) -> None:
    docs = [d for _, d in documents(render_k8s(example_homelab))]
    routes = {r["spec"]["routes"][0]["match"]: r for r in docs if r["kind"] == "IngressRoute"}
    certificates = {
        (c["metadata"]["namespace"], c["spec"]["secretName"]): c
        for c in docs
        if c["kind"] == "Certificate" and not c["spec"].get("isCA")
    }
    assert len(routes) == len(example_homelab.routes)
    for route in example_homelab.routes:
        ingress = routes[f"Host(`{route.host}`)"]
        assert ingress["spec"]["entryPoints"] == ["websecure"]
        assert ingress["metadata"]["namespace"] == route.namespace
        secret = ingress["spec"]["tls"]["secretName"]
        certificate = certificates[(route.namespace, secret)]
        assert certificate["spec"]["dnsNames"] == [route.host]
        assert certificate["spec"]["issuerRef"]["name"] == "homelab-ca"
        middlewares = ingress["spec"]["routes"][0].get("middlewares", [])
        if route.protected:
            assert middlewares == [{"name": "authelia", "namespace": "authelia"}]
        else:
            assert middlewares == []


def test_authelia_rules_follow_routes(example_homelab: Homelab) -> None:
    rules = _authelia_rules(render_k8s(example_homelab))
    assert [r["domain"] for r in rules] == [[route.host] for route in example_homelab.routes]
    by_host = {r["domain"][0]: r for r in rules}
    assert by_host["whoami.home.example.com"] == {"domain": ["whoami.home.example.com"], "policy": "bypass"}
    assert by_host["home.home.example.com"] == {
        "domain": ["home.home.example.com"],
        "policy": "two_factor",
        "subject": ["group:admins"],
    }


def test_authelia_ldap_uses_the_shared_layout(example_homelab: Homelab) -> None:
    configmap = _load(render_k8s(example_homelab), "kubernetes/manifests/authelia/configuration.yaml")[0]
    ldap = yaml.safe_load(configmap["data"]["configuration.yaml"])["authentication_backend"]["ldap"]
    layout = example_homelab.ldap
    assert ldap["base_dn"] == layout.base_dn
    assert ldap["users_filter"] == layout.users_filter
    assert ldap["groups_filter"] == layout.groups_filter
    assert ldap["user"] == layout.authelia_bind_dn
    assert f"{ldap['additional_users_dn']},{layout.base_dn}" == layout.people_dn
    assert f"{ldap['additional_groups_dn']},{layout.base_dn}" == layout.groups_dn
    assert ldap["attributes"]["username"] == layout.username_attribute
    assert ldap["address"] == "ldap://openldap.openldap.svc.cluster.local:389"


@pytest.mark.parametrize("access", ["two_factor", "one_factor"])
def test_user_app_access_gets_middleware_and_rule(access: str, homelab_from) -> None:
    data = example_data()
    data["apps"].append(
        {
            "name": "notes",
            "chart": {"repo": "https://example.org/charts", "name": "notes", "version": "1.2.3"},
            "host": "notes",
            "port": 8080,
            "access": access,
        }
    )
    files = render_k8s(homelab_from(data))
    ingress = next(
        d for d in _load(files, "kubernetes/manifests/notes/routes.yaml") if d["kind"] == "IngressRoute"
    )
    rule = ingress["spec"]["routes"][0]
    assert rule["middlewares"] == [{"name": "authelia", "namespace": "authelia"}]
    assert rule["services"] == [{"name": "notes", "port": 8080}]
    assert {"domain": ["notes.home.example.com"], "policy": access} in _authelia_rules(files)


def _policies(files: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for _, doc in documents(files):
        if doc["kind"] == "NetworkPolicy":
            found.setdefault(doc["metadata"]["namespace"], []).append(doc)
    return found


def test_every_namespace_denies_by_default(example_homelab: Homelab) -> None:
    policies = _policies(render_k8s(example_homelab))
    namespaces = {e.namespace for e in example_homelab.services} | {a.namespace for a in example_homelab.apps}
    assert set(policies) == namespaces
    for namespace, docs in policies.items():
        deny = [d for d in docs if d["metadata"]["name"] == "default-deny"]
        assert len(deny) == 1, namespace
        assert deny[0]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        assert any(d["metadata"]["name"] == "allow-dns" for d in docs), namespace


def _allowed_namespaces(docs: list[dict[str, Any]], direction: str) -> set[str]:
    peers = set()
    for doc in docs:
        for rule in doc["spec"].get(direction, []):
            for peer in rule.get("from" if direction == "ingress" else "to", []):
                label = (
                    peer.get("namespaceSelector", {})
                    .get("matchLabels", {})
                    .get("kubernetes.io/metadata.name")
                )
                if label and "podSelector" not in peer:
                    peers.add(label)
    return peers


def test_policies_allow_what_services_need(monitored_homelab: Homelab) -> None:
    example_homelab = monitored_homelab
    policies = _policies(render_k8s(example_homelab))
    route_namespaces = {r.namespace for r in example_homelab.routes} - {"traefik"}
    for namespace in route_namespaces:
        assert "traefik" in _allowed_namespaces(policies[namespace], "ingress"), namespace
    assert _allowed_namespaces(policies["traefik"], "egress") == route_namespaces
    assert _allowed_namespaces(policies["authelia"], "egress") == {"openldap"}
    assert _allowed_namespaces(policies["openldap"], "ingress") == {"authelia"}
    assert _allowed_namespaces(policies["vault"], "ingress") == {"external-secrets", "monitoring", "traefik"}
    assert _allowed_namespaces(policies["external-secrets"], "egress") == {"vault"}
    # Apps get nothing beyond their route, DNS and their own namespace.
    assert _allowed_namespaces(policies["whoami"], "egress") == set()
    world = [d for d in policies["traefik"] if d["metadata"]["name"].endswith("-world")]
    assert world[0]["spec"]["ingress"] == [
        {"ports": [{"protocol": "TCP", "port": 8000}, {"protocol": "TCP", "port": 8443}]}
    ]


def _changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0):
        if line.startswith("-") and not line.startswith("---"):
            removed.append(line[1:])
        elif line.startswith("+") and not line.startswith("+++"):
            added.append(line[1:])
    return removed, added


@pytest.mark.parametrize(
    ("service", "namespace", "host"),
    [("consul", "consul", "consul"), ("efk", "logging", "kibana"), ("velero", "velero", None)],
)
def test_disabling_a_service_removes_its_parts_and_nothing_else(
    service: str, namespace: str, host: str | None, example_homelab: Homelab, homelab_from
) -> None:
    data = example_data()
    data["services"][service] = {"enabled": False}
    before, after = render_k8s(example_homelab), render_k8s(homelab_from(data))
    name = service.replace("_", "-")
    apps = (name, f"{name}-routes", f"{name}-monitors")  # with its companion Applications, if any
    own = {
        p
        for p in before
        if p in {f"kubernetes/apps/{a}.yaml" for a in apps} | {f"kubernetes/values/{name}.yaml"}
        or p.startswith(tuple(f"kubernetes/manifests/{a}/" for a in apps))
    }
    assert set(before) - set(after) == own
    assert set(after) <= set(before)
    changed = {p for p in after if before[p] != after[p]}
    allowed = {
        "kubernetes/manifests/authelia/configuration.yaml",  # its access rule
        "kubernetes/values/authelia.yaml",  # the configuration hash that rolls Authelia
        "kubernetes/manifests/traefik/network-policies.yaml",  # Traefik's egress to it
        "kubernetes/manifests/monitoring/network-policies.yaml",  # Prometheus's egress to it
    }
    assert changed <= allowed
    for path in changed:
        removed, added = _changed_lines(before[path], after[path])
        if path.endswith("authelia.yaml"):
            assert [line.split(":")[0].strip() for line in removed + added] == [
                "homelabeazy/configuration-sha256"
            ] * 2
            continue
        assert added == [], path
        assert removed, path
        if path.endswith("network-policies.yaml"):
            assert [line.strip() for line in removed] == [
                f"kubernetes.io/metadata.name: {namespace}",
                "- namespaceSelector:",
                "matchLabels:",
            ] or all(
                namespace in line or "namespaceSelector" in line or "matchLabels" in line for line in removed
            ), removed
        else:
            assert f"{host}.home.example.com" in "\n".join(removed)
    if host is not None:
        hosts = [r["domain"][0] for r in _authelia_rules(after)]
        assert f"{host}.home.example.com" not in hosts
        assert len(hosts) == len(_authelia_rules(before)) - 1


def test_docs_list_every_chart_version_and_kubernetes(example_homelab: Homelab) -> None:
    """One table in docs/ARCHITECTURE.md names K3s/Kubernetes and every pinned chart: the key of
    homelab.yaml that pins it and the tested version (the example's pins are the tested ones)."""
    files = render_all(example_homelab)
    table = files["docs/ARCHITECTURE.md"].split("## Versions", 1)[1].split("##", 1)[0]
    cluster = example_homelab.cluster
    assert (
        f"| K3s | github.com/k3s-io/k3s | {cluster.k3s_version} (Kubernetes {cluster.kubernetes_version}) | |"
        in table
    )
    for path, doc in documents(files):
        if doc["kind"] == "Application" and path.startswith("kubernetes/apps/") and "sources" in doc["spec"]:
            source = doc["spec"]["sources"][0]
            names = {e.name.replace("_", "-"): e.name for e in example_homelab.services}
            if doc["metadata"]["name"] in names:
                key = f"services.{names[doc['metadata']['name']]}.version"
                row = f"`{source['chart']}` | `{key}` | {source['targetRevision']} |"
                assert row in table, source["chart"]


def test_app_named_like_a_core_application_is_refused(cli, tmp_path) -> None:
    data = example_data()
    data["apps"][0]["name"] = "vault"
    data["apps"][0]["namespace"] = "my-vault"
    config = tmp_path / "homelab.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    result = cli("validate", str(config))
    assert result.code == 2
    assert "apps[0].name: 'vault' is the name of a core service" in result.err
    assert "ArgoCD Application would replace the service's" in result.err


def test_dependencies_sync_in_earlier_waves(example_homelab: Homelab) -> None:
    files = render_k8s(example_homelab)
    waves = {
        doc["metadata"]["name"]: int(doc["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
        for path, doc in documents(files)
        if path.startswith("kubernetes/apps/")
    }
    for entry in example_homelab.services:
        for dependency in entry.depends_on:
            if not example_homelab.enabled(dependency):
                continue
            assert waves[dependency.replace("_", "-")] < waves[entry.name.replace("_", "-")], (
                entry.name,
                dependency,
            )


def test_without_authelia_no_protected_route_is_rendered(homelab_from) -> None:
    """(`validate --deep` of this variant: tests/converge/test_deep_example.py.)"""
    data = example_data()
    data["services"]["authelia"] = {"enabled": False}
    data["apps"] = [app for app in data["apps"] if app["access"] == "public"]
    homelab = homelab_from(data)
    files = render_k8s(homelab)
    assert not any(p.startswith("kubernetes/manifests/authelia/") for p in files)
    hosts = sorted(r.host for r in homelab.routes)
    assert hosts == ["vault.home.example.com", "whoami.home.example.com"]
    for _, doc in documents(files):
        if doc["kind"] == "IngressRoute":
            assert "middlewares" not in doc["spec"]["routes"][0]


def test_gitops_path_and_argocd_managed_elsewhere(homelab_from) -> None:
    """(`validate --deep` of this variant: tests/converge/test_deep_example.py.)"""
    data = example_data()
    data["gitops"]["path"] = "clusters/home"
    data["services"]["argocd"] = {"enabled": False}
    homelab = homelab_from(data)
    files = render_k8s(homelab)
    assert all(p.startswith("clusters/home/") for p in files)
    assert "clusters/home/bootstrap/argocd-values.yaml" not in files
    root = yaml.safe_load(files["clusters/home/bootstrap/root.yaml"])
    assert root["spec"]["source"]["path"] == "clusters/home/apps"
