"""`validate --deep` with real Helm over every pinned chart: the example, its variants, and one
broken rendered tree per kind of finding the engine core reports (helm, schema)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.converge.engine import Report
from homelabeazy.model import Homelab
from homelabeazy.render.registry import render_all
from tests.gitops.conftest import example_data

pytestmark = pytest.mark.integration

KNOWN_EXAMPLE_FINDINGS: set[tuple[str, str, str, str]] = set()
"""The example converges: every check, every chart, no finding (issue 12)."""


def _found(report: Report) -> set[tuple[str, str, str, str]]:
    return {(f.check, f.file, f.object, f.message) for f in report.findings}


def _edit(files: dict[str, str], path: str, change) -> dict[str, str]:
    docs = [d for d in yaml.safe_load_all(files[path]) if d is not None]
    change(docs)
    return {**files, path: yaml.safe_dump_all(docs, sort_keys=False)}


def test_example_renders_every_chart_and_reports_exactly_the_known_findings(
    example_homelab: Homelab, deep
) -> None:
    state, report = deep(example_homelab, render_all(example_homelab))
    assert _found(report) == KNOWN_EXAMPLE_FINDINGS
    per_app = {
        a.name: sum(1 for o in state.objects if o.origin.application == a.name) for a in state.applications
    }
    broken = {f.application for f in report.findings if f.check == "helm"}
    assert all(count > 0 for name, count in per_app.items() if name not in broken), per_app
    charts = {o.origin.file.split("/")[0] for o in state.objects if o.origin.source == "chart"}
    assert {"argo-cd-9.1.4", "cert-manager-v1.19.1", "traefik-41.3.0", "external-secrets-1.1.0"} <= charts
    crds = {o.name for o in state.of_kind("CustomResourceDefinition")}
    assert {
        "externalsecrets.external-secrets.io",
        "ingressroutes.traefik.io",
        "certificates.cert-manager.io",
    } <= crds
    # Helm test hooks are never applied by ArgoCD: not in the state.
    assert not [o for o in state.objects if o.annotations.get("helm.sh/hook") == "test"]
    waves = {w.wave: w for w in report.waves}
    assert all(not w.findings for w in report.waves)
    assert "externalsecrets.external-secrets.io" in waves[3].crds
    guide = (Path(__file__).resolve().parents[2] / "docs" / "guides" / "convergence.md").read_text("utf-8")
    said = re.search(r"On the example \((\d+) objects, (\d+) Applications", guide)
    assert said is not None
    stated = (int(said[1]), int(said[2]))
    assert stated == (len(state.objects), len(state.applications)), "docs/guides/convergence.md is stale"


GADGET = "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\nspec: {}\n"


def _add_gadget(files: dict[str, str]) -> dict[str, str]:
    return {**files, "kubernetes/manifests/whoami/gadget.yaml": GADGET}


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            _add_gadget,
            ("schema", "kubernetes/manifests/whoami/gadget.yaml", "Gadget/whoami/g",
             "no CRD in the desired state installs Gadget of example.com"),
        ),
        (
            lambda files: _edit(
                files, "kubernetes/manifests/whoami/routes.yaml",
                lambda docs: docs[-1]["spec"].update(entrypoints=["websecure"]),
            ),
            ("schema", "kubernetes/manifests/whoami/routes.yaml",
             "IngressRoute/whoami/whoami-home-example-com",
             "spec: Additional properties are not allowed ('entrypoints' was unexpected)"),
        ),
        (
            lambda files: _edit(
                files, "kubernetes/manifests/efk/fluentd.yaml",
                lambda docs: docs[-1]["spec"]["template"]["spec"]["containers"][0].update(image=7),
            ),
            ("schema", "kubernetes/manifests/efk/fluentd.yaml", "DaemonSet/logging/fluentd",
             "spec.template.spec.containers.0.image: 7 is not of type 'string', 'null'"),
        ),
        (
            lambda files: _edit(
                files, "kubernetes/values/authelia.yaml",
                lambda docs: docs[0]["pod"].update(kind="ReplicaSet"),
            ),
            ("helm", "kubernetes/values/authelia.yaml", "",
             "Application authelia: values of authelia 0.11.5 rejected by its values.schema.json: "
             "pod.kind: 'ReplicaSet' is not one of "
             "['Deployment', 'DaemonSet', 'StatefulSet', '']"),
        ),
        (
            lambda files: _edit(
                files, "kubernetes/manifests/authelia/configuration.yaml",
                lambda docs: docs[0]["data"].update({
                    "configuration.yaml": docs[0]["data"]["configuration.yaml"].replace(
                        "default_policy: deny", "default_policy: allow")
                }),
            ),
            ("schema", "kubernetes/manifests/authelia/configuration.yaml",
             "ConfigMap/authelia/authelia-configuration",
             "Authelia configuration: access_control.default_policy: 'allow' is not one of "
             "['deny', 'one_factor', 'two_factor']"),
        ),
    ],
    ids=["cr-without-crd", "cr-unknown-field", "core-wrong-type", "authelia-chart-values", "authelia-config"],
)  # fmt: skip
def test_each_broken_tree_gives_its_exact_finding(example_homelab: Homelab, deep, edit, expected) -> None:
    _, report = deep(example_homelab, edit(render_all(example_homelab)))
    assert _found(report) - KNOWN_EXAMPLE_FINDINGS == {expected}


def test_helm_values_schema_failure_is_a_finding_on_the_values_file(example_homelab: Homelab, deep) -> None:
    files = _edit(
        render_all(example_homelab), "kubernetes/values/traefik.yaml", lambda d: d[0].update(dashbord=1)
    )
    _, report = deep(example_homelab, files)
    found = [
        f for f in report.findings if (f.check, f.file, f.object, f.message) not in KNOWN_EXAMPLE_FINDINGS
    ]
    new = [f for f in found if f.check == "helm"]
    # Without Traefik's chart its CRDs (IngressRoute, Middleware) and its cross-namespace switch are
    # unknown too: those consequences are this one finding, not more (inventory.unseen).
    assert found == new
    assert len(new) == 1
    assert {w.wave: dict(w.findings) for w in report.waves if w.findings} == {1: {"helm": 1}}
    assert (new[0].check, new[0].file, new[0].application, new[0].config_path) == (
        "helm", "kubernetes/values/traefik.yaml", "traefik", "services.traefik",
    )  # fmt: skip
    assert new[0].message.startswith(
        "Application traefik: helm template of traefik 41.3.0 (https://traefik.github.io/charts) failed: "
    )
    assert "dashbord" in new[0].message


def _variant(name: str) -> dict[str, Any]:
    data = example_data()
    services = data["services"]
    if name == "acme-route53":
        services["cert_manager"] = {
            "issuer": "acme",
            "acme": {"email": "a@example.com", "dns_provider": "route53"},
        }
    elif name == "longhorn":
        services["longhorn"] = {"enabled": True, "replicas": 3}
        services["velero"]["volume_backup"] = False
    elif name == "minimal":
        for svc in ("consul", "efk", "velero"):
            services[svc] = {"enabled": False}
        data["apps"] = []
    elif name == "no-authelia":
        services["authelia"] = {"enabled": False}
        data["apps"] = [app for app in data["apps"] if app["access"] == "public"]
    elif name == "gitops-elsewhere":
        data["gitops"]["path"] = "clusters/home"
        services["argocd"] = {"enabled": False}
    return data


@pytest.mark.parametrize(
    "variant", ["acme-route53", "longhorn", "minimal", "no-authelia", "gitops-elsewhere"]
)
def test_variants_have_no_other_findings(variant: str, homelab_from, deep) -> None:
    homelab = homelab_from(_variant(variant))
    state, report = deep(homelab, render_all(homelab))
    assert len(state.objects) > 100
    known = {(c, f.replace("kubernetes/", "clusters/home/") if variant == "gitops-elsewhere" else f, o, m)
             for c, f, o, m in KNOWN_EXAMPLE_FINDINGS}  # fmt: skip
    assert _found(report) <= known


def test_longhorn_variant_has_one_default_storage_class_and_no_local_path(homelab_from, deep) -> None:
    """Issue 25, defect 13: K3s's local-path stayed a default beside Longhorn's class."""
    from homelabeazy.converge.storage import default_classes

    homelab = homelab_from(_variant("longhorn"))
    state, report = deep(homelab, render_all(homelab))
    assert [(c.name, c.origin.application) for c in default_classes(state, homelab)] == [
        ("longhorn", "longhorn")
    ]
    assert not [o for o in state.of_kind("StorageClass") if o.name == "local-path"]
    assert report.checks["storage"] == report.checks["host"] == 0


def test_cli_validate_deep_names_the_service_line_of_an_unmet_host_need(
    cli, tmp_path: Path, chart_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The planted bug: the renderer forgets iscsid; `validate --deep` refuses Longhorn, on its line."""
    from homelabeazy.render import ansible as render_ansible

    config = tmp_path / "homelab.yaml"
    config.write_text(yaml.safe_dump(_variant("longhorn"), sort_keys=False))
    real = render_ansible.node_vars

    def forgetful(homelab: Homelab) -> dict[str, Any]:
        result = real(homelab)
        result["node_needs"]["services"] = []
        return result

    monkeypatch.setattr(render_ansible, "node_vars", forgetful)
    result = cli("validate", "--deep", "--charts", str(chart_dir), str(config))
    assert result.code == 2, result.err
    assert (
        "ansible/group_vars/k3s_cluster.yml: Longhorn needs the service iscsid.service on every node, "
        "but node_needs.services does not give it"
    ) in result.err
    assert (
        f"    host check; from {config}:{_line_of(str(config), 'longhorn:')}: services.longhorn" in result.err
    )


def test_cli_validate_deep_json_and_exit_code(
    cli, tmp_path: Path, chart_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("init", str(tmp_path)).code == 0
    config = str(tmp_path / "homelab.yaml")
    result = cli("validate", "--deep", "--json", "--charts", str(chart_dir), config)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert (data["converges"], data["findings"]) == (True, [])
    assert [w["wave"] for w in data["waves"]] == [-3, -2, 0, 1, 2, 3, 4, 5, 6]

    # A deliberately broken tree: Authelia's chart values name a workload kind its schema rejects.
    from homelabeazy.converge import deep as render_deep

    def broken(homelab: Homelab) -> dict[str, str]:
        files = render_all(homelab)
        return _edit(
            files, "kubernetes/values/authelia.yaml", lambda d: d[0]["pod"].update(kind="ReplicaSet")
        )

    monkeypatch.setattr(render_deep, "render_all", broken)
    result = cli("validate", "--deep", "--json", "--charts", str(chart_dir), config)
    assert result.code == 2, result.err
    data = json.loads(result.out)
    assert data["converges"] is False
    assert data["findings"] == [
        {
            "check": "helm",
            "file": "kubernetes/values/authelia.yaml",
            "object": "",
            "application": "authelia",
            "config_path": "services.authelia",
            "message": "Application authelia: values of authelia 0.11.5 rejected by its values.schema.json: "
            "pod.kind: 'ReplicaSet' is not one of ['Deployment', 'DaemonSet', 'StatefulSet', '']",
            "hint": "",
            "config_line": f"{config}:{_line_of(config, 'authelia:')}: services.authelia",
        }
    ]
    wave = next(w for w in data["waves"] if w["findings"])
    assert "authelia" in wave["applications"]
    assert wave["findings"] == {"helm": 1}
    result = cli("validate", "--deep", "--charts", str(chart_dir), config)
    assert result.code == 2
    assert "kubernetes/values/authelia.yaml: Application authelia: values of authelia 0.11.5" in result.err
    assert f"    helm check; from {config}:{_line_of(config, 'authelia:')}: services.authelia" in result.err
    assert "wave   3: external-secrets:" in result.err


def _line_of(config: str, key: str) -> int:
    lines = Path(config).read_text().splitlines()
    in_services = False
    for number, line in enumerate(lines, 1):
        in_services = in_services or line.startswith("services:")
        if in_services and line.strip() == key:
            return number
    raise AssertionError(key)
