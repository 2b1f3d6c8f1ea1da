"""`validate --deep` renders each chart at the version and with the values homelab.yaml chooses."""

from __future__ import annotations

import pytest
import yaml

from homelabeazy.converge.build import build_state
from homelabeazy.errors import ExternalSystemError
from homelabeazy.ops.helm import ChartCache
from homelabeazy.render.registry import render_all
from tests.gitops.conftest import example_data

pytestmark = pytest.mark.integration

ANNOTATION = "example.com/owner"


def _traefik_pods(state) -> list[dict]:
    return [
        d.doc
        for d in state.of_kind("Deployment", "apps")
        if d.origin.application == "traefik" and d.name == "traefik"
    ]


def test_a_values_override_changes_what_helm_renders_and_still_converges(homelab_from, deep) -> None:
    data = example_data()
    data["services"]["traefik"]["values"] = {
        "deployment": {"podAnnotations": {ANNOTATION: "homelab"}},
        "ports": {"websecure": {"http3": {"enabled": False}}},
    }
    homelab = homelab_from(data)
    state, report = deep(homelab, render_all(homelab))
    assert report.findings == ()
    (deployment,) = _traefik_pods(state)
    assert deployment["spec"]["template"]["metadata"]["annotations"][ANNOTATION] == "homelab"
    plain = homelab_from(example_data())
    plain_state, _ = deep(plain, render_all(plain))
    (before,) = _traefik_pods(plain_state)
    assert ANNOTATION not in (before["spec"]["template"]["metadata"].get("annotations") or {})


def test_an_override_helm_rejects_names_the_values_key_of_homelab_yaml(homelab_from, deep) -> None:
    data = example_data()
    data["services"]["traefik"]["values"] = {"deployment": {"minReadySeconds": "soon"}}
    homelab = homelab_from(data)
    _, report = deep(homelab, render_all(homelab))
    helm = [f for f in report.findings if f.check == "helm"]
    assert len(helm) == 1, report.findings
    (finding,) = helm
    assert finding.application == "traefik"
    assert finding.config_path == "services.traefik.values"
    assert "minReadySeconds" in finding.message
    assert "homelab.yaml" in finding.hint
    assert finding.file == "kubernetes/values/traefik.yaml"


def test_the_cli_prints_the_line_of_the_values_key(cli, tmp_path, chart_dir) -> None:
    data = example_data()
    data["services"]["traefik"]["values"] = {"deployment": {"minReadySeconds": "soon"}}
    config = tmp_path / "homelab.yaml"
    text = yaml.safe_dump(data, sort_keys=False)
    config.write_text(text, encoding="utf-8")
    line = text.splitlines().index("    values:", text.splitlines().index("  traefik:")) + 1
    result = cli("validate", "--deep", "--charts", str(chart_dir), str(config))
    assert result.code == 2, result.err
    assert f"{config}:{line}: services.traefik.values" in result.out + result.err


def test_a_version_not_in_the_chart_cache_is_the_missing_chart_error(
    homelab_from, chart_dir, tmp_path
) -> None:
    data = example_data()
    data["services"]["traefik"]["version"] = "41.3.99"
    homelab = homelab_from(data)
    application = yaml.safe_load(render_all(homelab)["kubernetes/apps/traefik.yaml"])
    assert application["spec"]["sources"][0]["targetRevision"] == "41.3.99"
    cache = ChartCache(chart_dir, tmp_path / "pulled", pull=False)
    with pytest.raises(ExternalSystemError, match=r"traefik.*41\.3\.99"):
        build_state(homelab, render_all(homelab), cache)
