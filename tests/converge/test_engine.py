"""The engine: checks run in registry order, findings located in homelab.yaml, per-wave report."""

from __future__ import annotations

from homelabeazy.converge.engine import CHECKS, run_checks
from homelabeazy.desired.state import ApplicationInfo, DesiredObject, DesiredState, Finding, Origin
from homelabeazy.model import Homelab


def _state() -> DesiredState:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.example.com"},
    }
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    apps = (
        ApplicationInfo("vault", 2, "vault", "kubernetes/apps/vault.yaml", "vault"),
        ApplicationInfo("whoami", 6, "whoami", "kubernetes/apps/whoami.yaml", "whoami"),
    )
    objects = (
        DesiredObject(crd, Origin("vault", 2, "vault-0.34.1/crds/x.yaml", "chart"), None),
        DesiredObject(cm, Origin("whoami", 6, "kubernetes/manifests/whoami/x.yaml", "manifest"), "whoami"),
    )
    found = (Finding("helm", "chart failed", "kubernetes/values/vault.yaml", application="vault"),)
    return DesiredState(apps, objects, found)


def test_registry_starts_with_the_core_checks() -> None:
    assert [name for name, _ in CHECKS][:2] == ["helm", "schema"]


def test_report_per_wave_and_config_paths(example_homelab: Homelab) -> None:
    def app_check(state: DesiredState, homelab: Homelab) -> list[Finding]:
        where = "kubernetes/manifests/whoami/x.yaml"
        return [Finding("reference", "missing Secret", where, "ConfigMap/whoami/c", application="whoami")]

    checks = [*[c for c in CHECKS if c[0] == "helm"], ("reference", app_check)]
    report = run_checks(_state(), example_homelab, checks)
    assert report.checks == {"helm": 1, "reference": 1}
    assert [(f.check, f.config_path) for f in report.findings] == [
        ("helm", "services.vault"),
        ("reference", f"apps[{[a.name for a in example_homelab.apps].index('whoami')}]"),
    ]
    assert [(w.wave, w.applications, w.objects, w.crds, dict(w.findings)) for w in report.waves] == [
        (2, ("vault",), 1, ("things.example.com",), {"helm": 1}),
        (6, ("whoami",), 1, (), {"reference": 1}),
    ]
    data = report.as_json()
    assert data["converges"] is False
    assert data["findings"][1]["object"] == "ConfigMap/whoami/c"


def test_config_line_points_at_the_service_or_app(example_loaded) -> None:
    from homelabeazy.cli.deep_output import config_line

    text = example_loaded.source.file
    vault = Finding("helm", "m", "f", config_path="services.vault")
    first_app = Finding("schema", "m", "f", config_path="apps[0]")
    line = config_line(vault, example_loaded)
    assert line is not None
    assert line.startswith(f"{text}:")
    assert line.endswith(": services.vault")
    app_line = config_line(first_app, example_loaded)
    assert app_line is not None
    assert app_line.endswith(": apps[0]")
    assert app_line != line
    assert config_line(Finding("schema", "m", "f"), example_loaded) is None
