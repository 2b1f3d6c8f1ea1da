"""check_flows on the example's real desired state (every chart rendered by real Helm).

The catalog's client labels and the flows it reads must meet the pods the pinned charts really
start; a policy taken out of the real state must show up as exactly the flows it carried.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from homelabeazy.converge.build import build_state
from homelabeazy.converge.flows import check_flows
from homelabeazy.desired.state import DesiredState, Finding
from homelabeazy.model import Homelab
from homelabeazy.model.catalog.openldap import EXPORT_LABELS
from homelabeazy.ops.helm import ChartCache
from homelabeazy.render.registry import render_all

pytestmark = pytest.mark.integration

OPEN_DEFECTS: set[tuple[str, str]] = set()
"""Known flow defects of the example (issue 12): the ECK certificate names were fixed in the efk
renderer; keep it empty."""


@pytest.fixture(scope="module")
def example_state(
    chart_dir: Path, tmp_path_factory: pytest.TempPathFactory, example_homelab: Homelab
) -> DesiredState:
    pulled = tmp_path_factory.mktemp("pulled")
    return build_state(
        example_homelab, render_all(example_homelab), ChartCache(chart_dir, pulled, pull=False)
    )


def _without_policy(state: DesiredState, namespace: str, name: str) -> DesiredState:
    kept = tuple(
        o
        for o in state.objects
        if not (o.kind == "NetworkPolicy" and (o.namespace, o.name) == (namespace, name))
    )
    assert len(kept) == len(state.objects) - 1
    return replace(state, objects=kept)


def _known(finding: Finding) -> bool:
    return any(finding.object == obj and finding.message.startswith(start) for obj, start in OPEN_DEFECTS)


def test_example_has_no_flow_finding_but_the_open_defects(
    example_state: DesiredState, example_homelab: Homelab
) -> None:
    findings = check_flows(example_state, example_homelab)
    assert [f.text() for f in findings if not _known(f)] == []
    assert not [f for f in findings if f.message.startswith("no pod of the state is")]


def test_removing_openldap_ingress_breaks_exactly_authelia_to_ldap(
    example_state: DesiredState, example_homelab: Homelab
) -> None:
    findings = check_flows(
        _without_policy(example_state, "openldap", "allow-openldap-ingress"), example_homelab
    )
    new = [f for f in findings if not _known(f)]
    assert [(f.object, f.application, f.file) for f in new] == [
        ("Deployment/authelia/authelia", "openldap", "kubernetes/manifests/openldap/network-policies.yaml")
    ]
    # the Service listens on 389 and targets the chart's named port, 1389 on the pod
    assert new[0].message.startswith(
        "LDAP authentication backend: Deployment/authelia/authelia cannot open TCP/1389 on "
        "Service/openldap/openldap port 389"
    )


def test_removing_traefik_egress_breaks_every_routed_backend_and_forward_auth(
    example_state: DesiredState, example_homelab: Homelab
) -> None:
    findings = check_flows(_without_policy(example_state, "traefik", "allow-traefik-egress"), example_homelab)
    purposes = sorted({f.message.split(":")[0] for f in findings if not _known(f)})
    failed = {f.application for f in example_state.findings if f.check == "helm"}
    unrendered = {a.namespace for a in example_state.applications if a.name in failed}
    routed = sorted(
        f"route backend of IngressRoute/{o.namespace}/{o.name}"
        for o in example_state.of_kind("IngressRoute", "traefik.io")
        if o.namespace not in {"traefik", *unrendered}  # the dashboard is api@internal
    )
    assert len(routed) >= 5
    assert purposes == sorted([*routed, "forwardAuth of Middleware/authelia/authelia"])


def test_removing_velero_internet_breaks_backups_of_server_and_node_agents(
    example_state: DesiredState, example_homelab: Homelab
) -> None:
    findings = check_flows(_without_policy(example_state, "velero", "allow-velero-internet"), example_homelab)
    assert sorted(f.object for f in findings if not _known(f)) == [
        "DaemonSet/velero/node-agent",
        "Deployment/velero/velero",
    ]


def test_removing_the_snapshot_egress_breaks_exactly_vault_snapshots_to_s3(
    example_state: DesiredState, example_homelab: Homelab
) -> None:
    without = _without_policy(example_state, "vault", "allow-vault-snapshot-s3")
    findings = check_flows(without, example_homelab)
    assert [(f.object, f.message.split(":")[0]) for f in findings if not _known(f)] == [
        ("CronJob/vault/vault-snapshot", "raft snapshots to S3")
    ]


def test_snapshot_cronjob_needs_vaults_leader_and_the_bucket(
    example_state: DesiredState, example_homelab: Homelab
) -> None:
    """The catalog reads both servers from the CronJob's env, and they are what the renderer wrote."""
    from homelabeazy.model.catalog.vault import flow_needs

    needs = [(n.host, n.port, n.purpose) for n in flow_needs(example_state, example_homelab)]
    assert needs == [
        ("vault-active.vault.svc", 8200, "raft snapshots from Vault"),
        ("minio.home.example.com", 443, "raft snapshots to S3"),
    ]


def test_the_directory_export_needs_its_own_s3_egress_and_only_it_has_one(
    example_state: DesiredState, example_homelab: Homelab
) -> None:
    findings = check_flows(
        _without_policy(example_state, "openldap", "allow-ldap-export-s3"), example_homelab
    )
    new = [f for f in findings if not _known(f)]
    assert [(f.object, f.file) for f in new] == [
        ("CronJob/openldap/ldap-export", "kubernetes/manifests/openldap/network-policies.yaml")
    ]
    assert new[0].message.startswith(
        "upload of the export to S3: CronJob/openldap/ldap-export cannot open TCP/443 on "
        "minio.home.example.com"
    )
    policy = next(
        o for o in example_state.objects if o.ident == "NetworkPolicy/openldap/allow-ldap-export-s3"
    )
    assert policy.doc["spec"]["podSelector"] == {"matchLabels": dict(EXPORT_LABELS)}


def test_the_directory_export_reads_ldap_on_the_pod_port_within_its_namespace(
    example_state: DesiredState, example_homelab: Homelab
) -> None:
    findings = check_flows(
        _without_policy(example_state, "openldap", "allow-same-namespace"), example_homelab
    )
    export = [f for f in findings if f.object == "CronJob/openldap/ldap-export"]
    assert [f.message.split(" (")[0] for f in export] == [
        "LDIF export of the directory: CronJob/openldap/ldap-export cannot open TCP/1389 on "
        "Service/openldap/openldap port 389"
    ]


# --- TLS to the directory (issue 25, defect 10) -------------------------------------------------------------

LDAP_HOST = "openldap.openldap.svc.cluster.local"


def _changed(state: DesiredState, ident: str, change) -> DesiredState:
    """The state with one object's document edited (a planted defect)."""
    import copy

    objects = []
    for obj in state.objects:
        if obj.ident == ident:
            doc = copy.deepcopy(dict(obj.doc))
            change(doc)
            objects.append(replace(obj, doc=doc))
        else:
            objects.append(obj)
    return replace(state, objects=tuple(objects))


def test_every_ldap_client_verifies_the_directory_against_the_ca_that_signs_it(
    example_state: DesiredState, example_homelab: Homelab
) -> None:
    """The proof sees both TLS connections: the name each client uses, and the CA it trusts."""
    from homelabeazy.model.catalog import authelia, openldap

    needs = [
        *authelia.flow_needs(example_state, example_homelab),
        *openldap.flow_needs(example_state, example_homelab),
    ]
    ldap = [(n.clients.namespace, n.host, n.port, n.tls_verify, n.trusts) for n in needs if n.port == 389]
    assert ldap == [
        ("authelia", LDAP_HOST, 389, True, (("authelia", "homelab-ca-trust"),)),
        ("openldap", LDAP_HOST, 389, True, (("openldap", "openldap-tls"),)),
    ]
    from homelabeazy.model.catalog.cert_manager import tls_issuers, tls_secrets

    assert LDAP_HOST in tls_secrets(example_state, example_homelab)[("openldap", "openldap-tls")]
    issuers = tls_issuers(example_state, example_homelab)
    assert (
        issuers[("openldap", "openldap-tls")]
        == issuers[("authelia", "homelab-ca-trust")]
        == ("ClusterIssuer/homelab-ca")
    )


def test_a_wrong_san_on_the_directory_certificate_is_a_finding_for_each_client(
    example_state: DesiredState, example_homelab: Homelab
) -> None:
    planted = _changed(
        example_state,
        "Certificate/openldap/openldap-tls",
        lambda doc: doc["spec"].update(dnsNames=["ldap.home.example.com"]),
    )
    findings = [f for f in check_flows(planted, example_homelab) if not _known(f)]
    as_name = f" the certificate of Service openldap/openldap as '{LDAP_HOST}'"
    assert sorted((f.object, f.message.split(" verifies")[1].split(" (")[0]) for f in findings) == [
        ("ConfigMap/authelia/authelia-configuration", as_name),
        ("CronJob/openldap/ldap-export", as_name),
    ]
    assert all("it names: ldap.home.example.com" in f.message for f in findings)


def test_a_client_trusting_another_ca_is_a_finding(
    example_state: DesiredState, example_homelab: Homelab
) -> None:
    planted = _changed(
        example_state,
        "Certificate/authelia/homelab-ca-trust",
        lambda doc: doc["spec"]["issuerRef"].update(name="letsencrypt"),
    )
    [finding] = [f for f in check_flows(planted, example_homelab) if not _known(f)]
    assert finding.object == "ConfigMap/authelia/authelia-configuration"
    assert finding.message.endswith(
        "with the CA of Secret authelia/homelab-ca-trust (ClusterIssuer/letsencrypt), but "
        "ClusterIssuer/homelab-ca signed it: the handshake fails"
    )


def test_without_certificates_directory_authelia_trusts_no_private_ca(
    example_state: DesiredState, example_homelab: Homelab
) -> None:
    def drop(doc) -> None:
        text = doc["data"]["configuration.yaml"]
        doc["data"]["configuration.yaml"] = "\n".join(
            line for line in text.splitlines() if not line.startswith("certificates_directory:")
        )

    planted = _changed(example_state, "ConfigMap/authelia/authelia-configuration", drop)
    [finding] = [f for f in check_flows(planted, example_homelab) if not _known(f)]
    assert "with the CA of Secret none (no managed issuer)" in finding.message
