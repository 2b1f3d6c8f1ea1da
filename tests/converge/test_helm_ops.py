"""ops/helm.py: finding Helm, the chart cache, `helm pull` from a chart repository on loopback."""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.ops import helm as helm_ops

CHART_YAML = "apiVersion: v2\nname: tiny\nversion: {version}\n"
TEMPLATE = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
    "data:\n  v: {{ .Values.v | quote }}\n"
)


def _chart(root: Path, version: str) -> Path:
    chart = root / f"tiny-{version}"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART_YAML.format(version=version))
    (chart / "values.yaml").write_text("v: default\n")
    (chart / "templates" / "cm.yaml").write_text(TEMPLATE)
    return chart


def test_cache_finds_given_folder_then_user_cache(tmp_path: Path) -> None:
    given, user = tmp_path / "given", tmp_path / "user"
    _chart(given, "1.0.0")
    _chart(user, "2.0.0")
    cache = helm_ops.ChartCache(given, user, pull=False)
    assert cache.locate("tiny", "1.0.0") == given / "tiny-1.0.0"
    assert cache.get(None, "https://example.invalid", "tiny", "2.0.0") == user / "tiny-2.0.0"


def test_missing_chart_without_pull_names_chart_version_repo(tmp_path: Path) -> None:
    cache = helm_ops.ChartCache(tmp_path, tmp_path / "user", pull=False)
    with pytest.raises(ExternalSystemError) as caught:
        cache.get(None, "https://charts.example.com", "vault", "0.34.1")
    text = str(caught.value)
    assert text.startswith("helm: find chart vault 0.34.1 from https://charts.example.com failed")
    assert f"it is not in {tmp_path} or {tmp_path / 'user'}" in text


def test_charts_option_must_be_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOMELAB_CHARTS", raising=False)
    with pytest.raises(UsageError, match="no such chart folder"):
        helm_ops.ChartCache.default(tmp_path / "nowhere")
    monkeypatch.setenv("HOMELAB_CHARTS", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache = helm_ops.ChartCache.default()
    assert (cache.folder, cache.cache) == (tmp_path, tmp_path / "xdg" / "homelabeazy" / "charts")


def test_helm_missing_or_too_old(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMELAB_HELM", str(tmp_path / "no-helm"))
    with pytest.raises(UsageError, match=r"helm not found: .* Helm 3\.16\+"):
        helm_ops.find_helm()
    old = tmp_path / "helm"
    old.write_text("#!/bin/sh\necho v3.12.3+g1234\n")
    old.chmod(0o755)
    monkeypatch.setenv("HOMELAB_HELM", str(old))
    with pytest.raises(UsageError, match=r"is Helm 3\.12\.3; `validate --deep` needs 3\.16 or newer"):
        helm_ops.find_helm()


def test_template_argv_is_what_argocd_passes(tmp_path: Path) -> None:
    req = helm_ops.TemplateRequest(
        "rel", tmp_path, "ns", "v1.33.5", ("v1", "apps/v1/Deployment"), (tmp_path / "a.yaml",),
        (("x.y", "1", False), ("z", "s", True)), skip_schema_validation=True,
    )  # fmt: skip
    argv = helm_ops.template_argv(helm_ops.Helm("helm", (4, 1, 4)), req)
    assert argv == [
        "helm", "template", "rel", str(tmp_path), "--namespace", "ns", "--kube-version", "v1.33.5",
        "--api-versions", "v1,apps/v1/Deployment", "--include-crds", "--skip-schema-validation",
        "--values", str(tmp_path / "a.yaml"), "--set", "x.y=1", "--set-string", "z=s",
    ]  # fmt: skip


# ----------------------------------------------------------------------------- real Helm


@pytest.fixture
def repo_url(tmp_path: Path, helm_path: str) -> Iterator[str]:
    """A chart repository (index.yaml + tiny-1.0.0.tgz) served over HTTP on 127.0.0.1."""
    served = tmp_path / "served"
    served.mkdir()
    chart = _chart(tmp_path / "src", "1.0.0")
    subprocess.run([helm_path, "package", str(chart), "-d", str(served)], check=True, capture_output=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    subprocess.run([helm_path, "repo", "index", str(served), "--url", url], check=True, capture_output=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    server.server_close()


@pytest.mark.integration
def test_pull_into_cache_then_template(tmp_path: Path, repo_url: str, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no user repositories or registry logins
    helm = helm_ops.find_helm()
    cache = helm_ops.ChartCache(None, tmp_path / "cache")
    chart_dir = cache.get(helm, repo_url, "tiny", "1.0.0")
    assert chart_dir == tmp_path / "cache" / "tiny-1.0.0"
    assert "version: 1.0.0" in (chart_dir / "Chart.yaml").read_text()
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".pull-")]
    values = tmp_path / "v.yaml"
    values.write_text("v: mine\n")
    req = helm_ops.TemplateRequest("r", chart_dir, "ns", "v1.33.5", value_files=(values,))
    result = helm_ops.template(helm, req, tmp_path / "rendered")
    assert result.error == ""
    assert result.documents == (
        ("tiny/templates/cm.yaml",
         {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "r"}, "data": {"v": "mine"}}),
    )  # fmt: skip
    again = helm_ops.template(helm, req, tmp_path / "rendered")
    assert again.cached
    assert again.documents == result.documents
    values.write_text("v: changed\n")
    changed = helm_ops.template(helm, req, tmp_path / "rendered")
    assert not changed.cached
    assert changed.documents[0][1]["data"] == {"v": "changed"}


@pytest.mark.integration
def test_pull_failure_names_chart_version_repo(tmp_path: Path, repo_url: str, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    helm = helm_ops.find_helm()
    with pytest.raises(ExternalSystemError) as caught:
        helm_ops.ChartCache(None, tmp_path / "cache").get(helm, repo_url, "tiny", "9.9.9")
    text = str(caught.value)
    assert text.startswith(f"helm: pull chart tiny 9.9.9 from {repo_url} failed: ")
    assert "9.9.9" in caught.value.answer
    assert "put the chart in --charts DIR as tiny-9.9.9/" in text


@pytest.mark.integration
def test_template_error_is_returned_not_raised(tmp_path: Path, helm_path: str) -> None:
    chart = _chart(tmp_path, "1.0.0")
    (chart / "templates" / "bad.yaml").write_text('{{ fail "values must say yes" }}\n')
    helm = helm_ops.find_helm()
    result = helm_ops.template(helm, helm_ops.TemplateRequest("r", chart, "ns", "v1.33.5"))
    assert result.documents == ()
    assert result.error == "Error: execution error at (tiny/templates/bad.yaml:1:3): values must say yes"
