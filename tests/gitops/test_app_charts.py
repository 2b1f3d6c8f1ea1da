"""Well-known app charts: the values the homelab completes, and that the user's values win."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.model import Homelab
from homelabeazy.model.catalog.apps import AppFacts, app_values, known_chart
from homelabeazy.model.catalog.apps.base import env_names
from homelabeazy.render import kubernetes
from tests.gitops.conftest import example_data
from tests.support.chart_cache import shared_dir
from tests.support.integration import need_binary, require_tool

HOMEPAGE_REPO = "https://jameswynn.github.io/helm-charts"
HOSTS = AppFacts(hosts=("home.home.example.com",))


def _homepage(values: dict[str, Any], facts: AppFacts = HOSTS, repo: str = HOMEPAGE_REPO) -> dict[str, Any]:
    return app_values(repo, "homepage", values, facts)


def test_homepage_allows_its_route_host_by_default() -> None:
    assert _homepage({}) == {"env": [{"name": "HOMEPAGE_ALLOWED_HOSTS", "value": "home.home.example.com"}]}


def test_homepage_from_the_repo_with_a_trailing_slash_is_the_same_chart() -> None:
    assert known_chart(HOMEPAGE_REPO + "/", "homepage") is not None


@pytest.mark.parametrize(
    "env",
    [
        [{"name": "HOMEPAGE_ALLOWED_HOSTS", "value": "*"}],
        {"HOMEPAGE_ALLOWED_HOSTS": "dash.example.org"},
    ],
    ids=["list", "map"],
)
def test_homepage_keeps_the_users_allowed_hosts(env: object) -> None:
    assert _homepage({"env": env}) == {"env": env}


def test_homepage_adds_to_the_users_env_in_its_shape() -> None:
    as_list = _homepage({"env": [{"name": "TZ", "value": "UTC"}]})
    assert as_list["env"] == [
        {"name": "TZ", "value": "UTC"},
        {"name": "HOMEPAGE_ALLOWED_HOSTS", "value": "home.home.example.com"},
    ]
    as_map = _homepage({"env": {"TZ": "UTC"}, "enableRbac": True})
    assert as_map == {
        "env": {"TZ": "UTC", "HOMEPAGE_ALLOWED_HOSTS": "home.home.example.com"},
        "enableRbac": True,
    }


def test_homepage_lists_every_route_host_comma_separated() -> None:
    both = _homepage({}, AppFacts(hosts=("home.example.com", "dash.example.com")))
    assert both["env"][0]["value"] == "home.example.com,dash.example.com"


def test_unrouted_homepage_and_other_charts_keep_their_values() -> None:
    assert _homepage({"replicas": 2}, AppFacts(hosts=())) == {"replicas": 2}
    assert _homepage({}, repo="https://example.org/charts") == {}
    assert app_values(HOMEPAGE_REPO, "whoami", {}, HOSTS) == {}


def test_the_users_config_is_never_changed() -> None:
    user = {"env": [{"name": "TZ", "value": "UTC"}]}
    _homepage(user)
    assert user == {"env": [{"name": "TZ", "value": "UTC"}]}


def test_env_names_reads_both_shapes_and_ignores_others() -> None:
    assert env_names([{"name": "A"}, {"value": "x"}, "B"]) == {"A"}
    assert env_names({"A": "1"}) == {"A"}
    assert env_names("A=1") == set()


def test_example_homepage_app_carries_its_host_in_the_model(example_homelab: Homelab) -> None:
    homepage = next(app for app in example_homelab.apps if app.name == "homepage")
    assert homepage.route is not None
    assert homepage.values == {"env": [{"name": "HOMEPAGE_ALLOWED_HOSTS", "value": homepage.route.host}]}
    whoami = next(app for app in example_homelab.apps if app.name == "whoami")
    assert whoami.values == {}


def test_user_values_reach_the_values_file(homelab_from: Callable[[dict[str, Any]], Homelab]) -> None:
    data = example_data()
    data["apps"][1]["chart"]["values"] = {"env": {"TZ": "Europe/Berlin"}, "enableRbac": True}
    homepage = next(app for app in homelab_from(data).apps if app.name == "homepage")
    assert homepage.values == {
        "env": {"TZ": "Europe/Berlin", "HOMEPAGE_ALLOWED_HOSTS": "home.home.example.com"},
        "enableRbac": True,
    }
    manifests_app = example_data()
    manifests_app["apps"][0] = {
        "name": "blog",
        "manifests": {"path": "apps/blog"},
        "host": "blog",
        "access": "public",
    }
    blog = next(app for app in homelab_from(manifests_app).apps if app.name == "blog")
    assert blog.values is None


# ---------------------------------------------------------------- real Helm over the real charts


def _charts_dir() -> Path:
    """Upstream charts: $HOMELAB_CHARTS, else the shared charts ($HOMELAB_SHARED or ../shared)."""
    return Path(os.environ["HOMELAB_CHARTS"]) if "HOMELAB_CHARTS" in os.environ else shared_dir() / "charts"


def _helm_template(app_name: str, namespace: str, chart: Path, values_file: Path) -> list[dict[str, Any]]:
    helm = need_binary("helm", "Helm 4: see ../shared/charts/README.md, `Helm offline`")
    out = subprocess.run(
        [helm, "template", app_name, str(chart), "--namespace", namespace, "-f", str(values_file)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.mark.integration
def test_example_apps_render_with_real_helm_and_match_their_routes(
    example_homelab: Homelab, tmp_path: Path
) -> None:
    """Each example app's chart, rendered as ArgoCD would with our values file: the Service the route
    names exists on the route's port, and Homepage's Deployment allows the route's host."""
    charts = _charts_dir()
    files = kubernetes.render(example_homelab)
    root = example_homelab.config.gitops.path
    for app in example_homelab.apps:
        assert app.config.chart is not None
        assert app.route is not None
        chart_dir = charts / f"{app.config.chart.name}-{app.config.chart.version}"
        if not chart_dir.is_dir():
            require_tool(f"chart {chart_dir.name} not in {charts} (set HOMELAB_CHARTS)")
        values_file = tmp_path / f"{app.name}.yaml"
        values_file.write_text(files.get(f"{root}/values/{app.name}.yaml", "{}\n"))
        objects = _helm_template(app.name, app.namespace, chart_dir, values_file)
        services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
        assert app.route.backend in services, (app.name, sorted(services))
        ports = [p["port"] for p in services[app.route.backend]["spec"]["ports"]]
        assert app.route.port in ports, (app.name, ports)
        if app.name == "homepage":
            (deployment,) = (o for o in objects if o["kind"] == "Deployment")
            env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
            assert {"name": "HOMEPAGE_ALLOWED_HOSTS", "value": app.route.host} in env
