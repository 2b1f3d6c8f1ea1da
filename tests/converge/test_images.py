"""Every container image is pinned (converge/images.py): the rule on references, then the check on
hand-built states, then on the effective state real Helm renders (issue 25, defect 12)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from homelabeazy.converge.build import build_state
from homelabeazy.converge.images import check_images, image_problem
from homelabeazy.model import Homelab
from homelabeazy.ops.helm import ChartCache
from homelabeazy.render.registry import render_all
from tests.converge.states import StateFixture, deployment
from tests.gitops.test_overrides import _everything_on

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "image",
    [
        "debian:bookworm-20260202-slim",
        "docker.io/alpine/openssl:3.5.0",
        "registry.local:5000/team/app:1.2.3",
        f"registry.local:5000/team/app@{DIGEST}",
        f"app:1@{DIGEST}",
        "app:" + "v" * 128,  # the longest tag the reference grammar allows
        "app:latest-2025",  # a tag that only starts like `latest` is a real tag
    ],
)
def test_pinned_images(image: str) -> None:
    assert image_problem(image) is None


@pytest.mark.parametrize(
    ("image", "why"),
    [
        ("debian", "has no tag"),
        ("registry.local:5000/team/app", "has no tag"),  # the port is not a tag
        ("debian:latest", "floating tag `latest`"),
        ("docker.io/alpine/openssl:LATEST", "floating tag `latest`"),
        ("app:" + "v" * 129, "invalid tag"),
        ("app:-x", "invalid tag"),
        (f"app@{DIGEST[:-1]}", "malformed digest"),
        ("app@md5:00", "malformed digest"),
        ("  ", "names no image"),
    ],
)
def test_unpinned_images(image: str, why: str) -> None:
    problem = image_problem(image)
    assert problem is not None
    assert why in problem


def _state(image: str, source: str = "chart", app: str = "openldap", container: str = "init-schema"):
    fixture = StateFixture().app(app, 4, "openldap", owner=app)
    workload = deployment("openldap", containers=[{"name": container, "image": image}])
    file = "openldap-stack-ha-4.3.3/templates/statefulset.yaml" if source == "chart" else None
    return fixture.add(app, workload, file, source=source).state()  # type: ignore[arg-type]


def test_a_chart_container_the_catalog_knows_points_at_its_values_key(example_homelab: Homelab) -> None:
    [finding] = check_images(_state("debian:latest"), example_homelab)
    assert (finding.check, finding.object, finding.file) == (
        "image", "Deployment/openldap/openldap", "openldap-stack-ha-4.3.3/templates/statefulset.yaml",
    )  # fmt: skip
    assert finding.message == (
        "container init-schema runs image 'debian:latest', which runs the floating tag `latest`: "
        "what it runs changes at the next pull"
    )
    assert finding.config_path == "services.openldap.values.initSchema.image.tag"
    assert check_images(_state("debian:bookworm-20260202-slim"), example_homelab) == []


def test_an_unknown_chart_container_points_at_the_services_values(example_homelab: Homelab) -> None:
    [finding] = check_images(_state("busybox", container="helper"), example_homelab)
    assert finding.config_path == "services.openldap.values"
    assert "has no tag" in finding.message


def test_our_own_manifest_is_our_defect_not_a_homelab_yaml_line(example_homelab: Homelab) -> None:
    [finding] = check_images(_state("amazon/aws-cli", source="manifest"), example_homelab)
    assert finding.config_path is None
    assert finding.hint.startswith("homelabeazy renders this manifest")


def test_an_apps_chart_points_at_its_values(example_homelab: Homelab) -> None:
    app = example_homelab.apps[0].name
    fixture = StateFixture().app(app, 6, app, owner=app)
    state = fixture.add(
        app, deployment(app, containers=[{"name": "c", "image": "x"}]), "c/t.yaml", source="chart"
    )
    [finding] = check_images(state.state(), example_homelab)
    assert finding.config_path == "apps[0].chart.values"


def test_k3s_built_ins_are_k3s_s_to_pin(example_homelab: Homelab) -> None:
    fixture = StateFixture()
    fixture.add("k3s", deployment("coredns", "kube-system", containers=[{"name": "c", "image": "rancher/x"}]),
                "(k3s)", -3, "cluster")  # fmt: skip
    assert check_images(fixture.state(), example_homelab) == []


def test_hooks_argocd_never_applies_are_not_judged(example_homelab: Homelab) -> None:
    skipped = deployment("t", containers=[{"name": "t", "image": "bats"}])
    skipped["metadata"]["annotations"] = {"helm.sh/hook": "test"}
    fixture = StateFixture().app("openldap", 4, "openldap", owner="openldap")
    state = fixture.add("openldap", skipped, "c/t.yaml", source="chart").state()
    assert check_images(state, example_homelab) == []


# ---------------------------------------------------------------- the real charts


def _values_without_init_pins(files: dict[str, str]) -> dict[str, str]:
    """The openldap values as before the pins: the chart's `debian:latest`/`alpine/openssl:latest`."""
    values = yaml.safe_load(files["kubernetes/values/openldap.yaml"])
    del values["initSchema"]
    del values["initTLSSecret"]["image"]
    return {**files, "kubernetes/values/openldap.yaml": yaml.safe_dump(values, sort_keys=False)}


@pytest.mark.integration
def test_the_examples_effective_pods_are_pinned_and_the_chart_defaults_were_not(
    example_homelab: Homelab, chart_dir: Path, tmp_path: Path
) -> None:
    cache = ChartCache(chart_dir, tmp_path / "pulled", pull=False)
    files = render_all(example_homelab)
    assert check_images(build_state(example_homelab, files, cache), example_homelab) == []
    found = check_images(
        build_state(example_homelab, _values_without_init_pins(files), cache), example_homelab
    )
    assert sorted((f.object, f.message.split(",")[0], f.config_path) for f in found) == [
        ("StatefulSet/openldap/openldap", "container init-schema runs image 'debian:latest'",
         "services.openldap.values.initSchema.image.tag"),
        ("StatefulSet/openldap/openldap",
         "container init-tls-secret runs image 'docker.io/alpine/openssl:latest'",
         "services.openldap.values.initTLSSecret.image.tag"),
    ]  # fmt: skip


@pytest.mark.integration
@pytest.mark.needs_subcharts
def test_every_optional_service_on_runs_only_pinned_images(
    homelab_from, chart_dir: Path, tmp_path: Path
) -> None:
    homelab = homelab_from(_everything_on())
    state = build_state(homelab, render_all(homelab), ChartCache(chart_dir, tmp_path / "pulled", pull=False))
    assert {a.name for a in state.applications} >= {"monitoring", "longhorn", "dns-gateway", "openldap"}
    assert check_images(state, homelab) == []
