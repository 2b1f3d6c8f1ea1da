"""Every rendered manifest validates against the upstream schemas, and the validator can fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.model import Homelab
from homelabeazy.model.catalog import authelia, traefik, vault, velero
from homelabeazy.render.k8s.validate import kube_version, merge_values, shipped_versions, validate_tree
from tests.gitops.conftest import example_data, render_k8s


def _variant(name: str) -> dict[str, Any]:
    data = example_data()
    services = data["services"]
    if name == "acme-cloudflare":
        services["cert_manager"] = {"issuer": "acme", "acme": {"email": "admin@example.com"}}
    elif name == "acme-route53":
        services["cert_manager"] = {
            "issuer": "acme",
            "acme": {"email": "admin@example.com", "dns_provider": "route53"},
        }
    elif name == "longhorn-no-volume-backup":
        services["longhorn"] = {"enabled": True, "replicas": 3}
        services["velero"]["volume_backup"] = False
        services["velero"]["target"]["prefix"] = "cluster-a"
    elif name == "aws-s3-one-factor":
        services["velero"]["target"] = {"bucket": "backups", "region": "eu-west-1"}
        services["authelia"]["default_policy"] = "one_factor"
        data["apps"].append(
            {"name": "wiki", "manifests": {"path": "apps/wiki"}, "host": "wiki", "access": "one_factor"}
        )
    elif name == "minimal":
        for svc in ("consul", "efk", "velero"):
            services[svc] = {"enabled": False}
        data["apps"] = []
    return data


def test_example_validates_completely(example_homelab: Homelab, schemas: Path) -> None:
    report = validate_tree(example_homelab, render_k8s(example_homelab), schemas)
    assert report.problems == []
    assert report.notes == []
    # Every kind of check ran: core kinds, custom resources, the four chart schemas, Authelia's.
    for what in (
        "core NetworkPolicy",
        "core DaemonSet",
        "core Job",
        "custom Application",
        "custom IngressRoute",
        "custom Middleware",
        "custom Certificate",
        "custom ClusterIssuer",
        "custom ExternalSecret",
        "custom ClusterSecretStore",
        "custom IPAddressPool",
        "custom L2Advertisement",
        "custom Schedule",
        "custom Elasticsearch",
        "custom Kibana",
        "helm values traefik",
        "helm values vault",
        "helm values velero",
        "helm values authelia",
        "authelia configuration",
    ):
        assert report.checked.get(what, 0) >= 1, what


@pytest.mark.parametrize(
    "variant",
    ["acme-cloudflare", "acme-route53", "longhorn-no-volume-backup", "aws-s3-one-factor", "minimal"],
)
def test_variants_validate(variant: str, homelab_from, schemas: Path) -> None:
    homelab = homelab_from(_variant(variant))
    report = validate_tree(homelab, render_k8s(homelab), schemas)
    assert report.problems == []


def _edit(files: dict[str, str], path: str, change) -> dict[str, str]:
    docs = list(yaml.safe_load_all(files[path]))
    change(docs)
    return {**files, path: yaml.safe_dump_all(docs, sort_keys=False)}


@pytest.mark.parametrize(
    ("path", "change", "expected"),
    [
        (
            "kubernetes/manifests/whoami/network-policies.yaml",
            lambda docs: docs[0]["spec"].update(podSelecter={}),
            "NetworkPolicy/default-deny: spec: Additional properties are not allowed ('podSelecter'",
        ),
        (
            "kubernetes/manifests/efk/fluentd.yaml",
            lambda docs: docs[-1]["spec"]["template"]["spec"]["containers"][0].update(image=7),
            "DaemonSet/fluentd: spec.template.spec.containers.0.image: 7 is not of type 'string'",
        ),
        (
            "kubernetes/manifests/whoami/routes.yaml",
            lambda docs: docs[1]["spec"].update(entrypoints=["websecure"]),
            "IngressRoute/whoami-home-example-com: spec: Additional properties are not allowed "
            "('entrypoints'",
        ),
        (
            "kubernetes/manifests/metallb/pool.yaml",
            lambda docs: docs[0]["spec"].update(addresses="10.10.10.200"),
            "IPAddressPool/homelab: spec.addresses: '10.10.10.200' is not of type 'array'",
        ),
        (
            "kubernetes/values/traefik.yaml",
            lambda docs: docs[0].update(dashbord=True),
            "values of traefik 41.3.0: (root): Additional properties are not allowed ('dashbord'",
        ),
        (
            "kubernetes/values/vault.yaml",
            lambda docs: docs[0]["server"]["ha"].update(replicas="three"),
            "values of vault 0.34.1: server.ha.replicas: 'three' is not of type 'integer'",
        ),
        (
            "kubernetes/values/velero.yaml",
            lambda docs: docs[0].update(credentials=None),
            "values of velero 12.1.0: (root): 'credentials' is a required property",
        ),
        (
            "kubernetes/values/authelia.yaml",
            lambda docs: docs[0]["pod"].update(kind="ReplicaSet"),
            "values of authelia 0.11.5: pod.kind",
        ),
        (
            "kubernetes/manifests/authelia/configuration.yaml",
            lambda docs: docs[0]["data"].update(
                {
                    "configuration.yaml": docs[0]["data"]["configuration.yaml"].replace(
                        "default_policy: deny", "default_policy: allow"
                    )
                }
            ),
            "Authelia configuration: access_control.default_policy: 'allow' is not one of",
        ),
    ],
    ids=[
        "core-unknown-field",
        "core-wrong-type",
        "crd-unknown-field",
        "crd-wrong-type",
        "traefik-values",
        "vault-values",
        "velero-required",
        "authelia-values",
        "authelia-configuration",
    ],
)
def test_validator_reports_broken_files(
    example_homelab: Homelab, schemas: Path, path, change, expected
) -> None:
    files = _edit(render_k8s(example_homelab), path, change)
    problems = validate_tree(example_homelab, files, schemas).problems
    assert any(expected in p and p.startswith(path) for p in problems), problems


def test_unknown_kind_and_wrong_pin_are_problems(example_homelab: Homelab, schemas: Path) -> None:
    files = render_k8s(example_homelab)
    files["kubernetes/manifests/whoami/extra.yaml"] = (
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n"
    )
    files = _edit(
        files,
        "kubernetes/apps/traefik.yaml",
        lambda docs: docs[0]["spec"]["sources"][0].update(targetRevision="40.0.0"),
    )
    problems = validate_tree(example_homelab, files, schemas).problems
    assert "kubernetes/manifests/whoami/extra.yaml: no schema for Gadget example.com/v1" in problems
    assert any("chart traefik is pinned to 40.0.0 but the schema folder holds 41.3.0" in p for p in problems)


def test_missing_schema_folder_is_one_clear_problem(example_homelab: Homelab, tmp_path: Path) -> None:
    problems = validate_tree(example_homelab, render_k8s(example_homelab), tmp_path).problems
    assert problems == [
        f"{tmp_path}: not a schema folder (no crds/ inside); pass --schemas DIR or set HOMELAB_SCHEMAS"
    ]


def test_kubernetes_version_selection() -> None:
    versions = shipped_versions()
    assert kube_version("1.33.5") == ("1.33", None)
    newest, note = kube_version("1.99.0")
    assert newest == versions[-1]
    assert note is not None
    assert "no schemas for Kubernetes 1.99" in note
    assert f"against {versions[-1]}" in note


def test_newer_kubernetes_than_shipped_is_noted_not_failed(homelab_from, schemas: Path) -> None:
    data = example_data()
    data["cluster"]["k3s_version"] = "v1.99.1+k3s1"
    homelab = homelab_from(data)
    report = validate_tree(homelab, render_k8s(homelab), schemas)
    assert report.problems == []
    assert len(report.notes) == 1


def test_merge_follows_helm() -> None:
    defaults = {"a": {"b": 1, "c": [1, 2]}, "d": "x", "e": {"f": 1}}
    assert merge_values(defaults, {"a": {"c": [3]}, "d": None, "e": "flat"}) == {
        "a": {"b": 1, "c": [3]},
        "e": "flat",
    }


def test_schema_pins_match_catalog(schemas: Path) -> None:
    """The four charts with published schemas are pinned to exactly the schema folder's versions."""
    for chart in (traefik.CHART, vault.CHART, velero.CHART, authelia.CHART):
        chart_yaml = yaml.safe_load((schemas / "helm" / chart.name / "Chart.yaml").read_text())
        assert chart_yaml["version"] == chart.version, chart.name


def test_cli_validate_deep(cli, tmp_path: Path, schemas: Path) -> None:
    assert cli("init", str(tmp_path)).code == 0
    config = str(tmp_path / "homelab.yaml")
    result = cli("validate", "--deep", "--schemas", str(schemas), config)
    assert result.code == 0, result.err
    result = cli("validate", "--deep", "--schemas", str(tmp_path / "nowhere"), config)
    assert result.code == 1
    assert "not a schema folder" in result.err


def test_core_kinds_pass_kubernetes_validate_itself(example_homelab: Homelab) -> None:
    """The cached validator agrees with the package's own entry point, strict, one object per kind."""
    import kubernetes_validate

    from homelabeazy.render.k8s.validate import is_core
    from tests.gitops.conftest import documents

    version = example_homelab.cluster.kubernetes_version
    seen: dict[str, dict[str, Any]] = {}
    for _, doc in documents(render_k8s(example_homelab)):
        if is_core(doc["apiVersion"]):
            seen.setdefault(doc["kind"], doc)
    assert {"NetworkPolicy", "ConfigMap", "DaemonSet", "Job", "ServiceAccount", "ClusterRole"} <= set(seen)
    for doc in seen.values():
        assert kubernetes_validate.validate(doc, version, strict=True) == "1.33"
    broken = {**seen["NetworkPolicy"], "spec": {**seen["NetworkPolicy"]["spec"], "podSelecter": {}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, version, strict=True)
