"""`homelab diff --objects` over real git repositories and real Helm, and `validate --deep --dump-objects`.

Each test makes its own repository in tmp_path from `homelab init`, commits, edits and compares, as
a user (or CI on a pull request) would.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.integration import need_binary

pytestmark = pytest.mark.integration

TOKEN_A, TOKEN_B = "a" * 70, "b" * 70
"""Traefik renders its hub-license Secret from a token of 65 characters or more."""


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(folder), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


@pytest.fixture
def lab(cli: Any, tmp_path: Path) -> Path:
    """A git repository holding the example homelab.yaml, committed."""
    need_binary("git", "apt install git")
    folder = tmp_path / "lab"
    assert cli("init", str(folder)).code == 0
    git(folder, "init", "-q")
    git(folder, "add", ".")
    git(folder, "commit", "-qm", "the example")
    return folder / "homelab.yaml"


def edit(config: Path, change: Any) -> None:
    data = yaml.safe_load(config.read_text())
    change(data)
    config.write_text(yaml.safe_dump(data, sort_keys=False))


def app_named(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in data["apps"] if a["name"] == name)


def objects_diff(cli: Any, chart_dir: Path, config: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = cli("diff", "--objects", "--json", "--charts", str(chart_dir), *extra, str(config))
    return result.code, (json.loads(result.out) if result.out.strip() else {}), result.err


def test_a_values_change_shows_only_that_deployment(cli: Any, chart_dir: Path, lab: Path) -> None:
    result = cli("diff", "--objects", "--charts", str(chart_dir), str(lab))
    assert (result.code, result.out) == (0, ""), result.err
    assert "no object differs from homelab.yaml at HEAD" in result.err
    edit(lab, lambda d: d["services"]["traefik"].update(replicas=3))
    result = cli("diff", "--objects", "--charts", str(chart_dir), str(lab))
    assert result.code == 1, result.err
    assert result.out.splitlines() == [
        "Application traefik (wave 1)",
        "  ~ apps/Deployment traefik/traefik",
        "      spec.replicas: 2 → 3",
    ]
    code, data, _ = objects_diff(cli, chart_dir, lab)
    assert code == 1
    assert data["summary"] == {"applications": 1, "added": 0, "removed": 0, "changed": 1}
    assert data["applications"][0]["changed"][0]["changes"] == [
        {"path": "spec.replicas", "op": "changed", "before": 2, "after": 3}
    ]
    assert data["base"]["commit"] == git(lab.parent, "rev-parse", "HEAD")


def test_an_app_values_change_lists_only_that_app(cli: Any, chart_dir: Path, lab: Path) -> None:
    edit(lab, lambda d: app_named(d, "whoami")["chart"].update(values={"replicaCount": 2}))
    code, data, err = objects_diff(cli, chart_dir, lab)
    assert code == 1, err
    # The first values of an app add a values file to its Application (in the root app-of-apps).
    assert [a["name"] for a in data["applications"]] == ["root", "whoami"]
    git(lab.parent, "commit", "-qam", "whoami values")
    edit(lab, lambda d: app_named(d, "whoami")["chart"].update(values={"replicaCount": 3}))
    code, data, err = objects_diff(cli, chart_dir, lab)
    assert code == 1, err
    (app,) = data["applications"]
    assert (app["name"], app["added"], app["removed"]) == ("whoami", [], [])
    assert [(c["kind"], c["changes"]) for c in app["changed"]] == [
        ("Deployment", [{"path": "spec.replicas", "op": "changed", "before": 2, "after": 3}])
    ]


def bumped_charts(chart_dir: Path, tmp_path: Path) -> Path:
    """The test chart cache plus whoami 5.3.1: a copy of 5.3.0 with a new version, appVersion and
    image tag (what a chart release usually changes)."""
    charts = tmp_path / "charts"
    charts.mkdir()
    for folder in chart_dir.iterdir():
        (charts / folder.name).symlink_to(folder)
    bumped = charts / "whoami-5.3.1"
    shutil.copytree(chart_dir / "whoami-5.3.0", bumped)
    meta = yaml.safe_load((bumped / "Chart.yaml").read_text())
    meta.update(version="5.3.1", appVersion="9.9.9")
    (bumped / "Chart.yaml").write_text(yaml.safe_dump(meta))
    values = (bumped / "values.yaml").read_text()
    assert values.count("  tag: v1.11.0\n") == 1
    (bumped / "values.yaml").write_text(values.replace("  tag: v1.11.0\n", "  tag: v1.12.0\n"))
    return charts


def test_a_chart_version_bump_lists_only_that_applications_objects(
    cli: Any, chart_dir: Path, lab: Path, tmp_path: Path
) -> None:
    charts = bumped_charts(chart_dir, tmp_path)
    edit(lab, lambda d: app_named(d, "whoami")["chart"].update(version="5.3.1"))
    git(lab.parent, "commit", "-qam", "whoami 5.3.1")  # the pull request's commit; base is its parent
    code, data, err = objects_diff(cli, charts, lab, "--base", "HEAD~1")
    assert code == 1, err
    assert [a["name"] for a in data["applications"]] == ["root", "whoami"]  # by wave
    root, whoami = data["applications"]
    assert (whoami["added"], whoami["removed"]) == ([], [])
    paths = {c["path"] for obj in whoami["changed"] for c in obj["changes"]}
    assert 'metadata.labels["helm.sh/chart"]' in paths
    deployment = next(o for o in whoami["changed"] if o["kind"] == "Deployment")
    image = next(c for c in deployment["changes"] if c["path"].endswith("].image"))
    assert (image["before"], image["after"]) == (
        "docker.io/traefik/whoami:v1.11.0",
        "docker.io/traefik/whoami:v1.12.0",
    )
    # The root app-of-apps holds the whoami Application: only its chart version moves.
    assert [(o["kind"], o["name"]) for o in root["changed"]] == [("Application", "whoami")]
    assert [c["path"] for c in root["changed"][0]["changes"]] == ["spec.sources[0].targetRevision"]


def test_an_app_removed_and_added(cli: Any, chart_dir: Path, lab: Path) -> None:
    full = git(lab.parent, "rev-parse", "HEAD")
    edit(lab, lambda d: d.update(apps=[a for a in d["apps"] if a["name"] != "homepage"]))
    git(lab.parent, "commit", "-qam", "no homepage")
    code, data, err = objects_diff(cli, chart_dir, lab, "--base", full)
    assert code == 1, err
    apps = {a["name"]: a for a in data["applications"]}
    assert apps["homepage"]["status"] == "removed"
    assert apps["homepage"]["removed"]
    assert (apps["homepage"]["added"], apps["homepage"]["changed"]) == ([], [])
    assert {"group": "argoproj.io", "kind": "Application", "namespace": "argocd", "name": "homepage"} in apps[
        "root"
    ]["removed"]
    # Back again: the working tree has homepage, the base (HEAD) has not.
    git(lab.parent, "checkout", full, "--", "homelab.yaml")
    code, data, err = objects_diff(cli, chart_dir, lab)
    assert code == 1, err
    homepage = next(a for a in data["applications"] if a["name"] == "homepage")
    assert (homepage["status"], homepage["removed"], homepage["changed"]) == ("added", [], [])
    assert len(homepage["added"]) == len(apps["homepage"]["removed"])


def test_a_secret_change_hides_its_values(cli: Any, chart_dir: Path, lab: Path) -> None:
    edit(lab, lambda d: d["services"]["traefik"].update(values={"hub": {"token": TOKEN_A}}))
    git(lab.parent, "commit", "-qam", "hub token")
    edit(lab, lambda d: d["services"]["traefik"].update(values={"hub": {"token": TOKEN_B}}))
    result = cli("diff", "--objects", "--charts", str(chart_dir), str(lab))
    assert result.code == 1, result.err
    assert result.out.splitlines() == [
        "Application traefik (wave 1)",
        "  ~ Secret traefik/traefik-hub-license",
        "      data.token: changed (value hidden)",
    ]
    code, data, _ = objects_diff(cli, chart_dir, lab)
    assert code == 1
    assert data["applications"][0]["changed"][0]["changes"] == [
        {"path": "data.token", "op": "changed", "hidden": True}
    ]
    for token in (TOKEN_A, TOKEN_B):
        encoded = base64.b64encode(token.encode()).decode()
        for text in (result.out, result.err, json.dumps(data)):
            assert token not in text
            assert encoded[:40] not in text


def test_a_base_that_no_longer_validates_is_a_clear_error(cli: Any, chart_dir: Path, lab: Path) -> None:
    good = lab.read_text()
    lab.write_text(good.replace("vip: 10.10.10.10", "vip: 10.10.20.5"))
    git(lab.parent, "commit", "-qam", "a broken vip")
    lab.write_text(good)
    result = cli("diff", "--objects", "--charts", str(chart_dir), str(lab))
    assert result.code == 2
    assert result.out == ""
    line = next(i for i, text in enumerate(good.splitlines(), 1) if "vip: 10.10.10.10" in text)
    assert f"HEAD:homelab.yaml:{line}:" in result.err
    assert "cluster.vip: 10.10.20.5 is not inside the services VLAN" in result.err
    assert "homelab.yaml at revision HEAD" in result.err
    assert "does not validate" in result.err


def test_git_trouble_is_exit_2_naming_git_and_the_revision(cli: Any, lab: Path, tmp_path: Path) -> None:
    result = cli("diff", "--objects", "--base", "no-such-branch", str(lab))
    assert result.code == 2
    assert "git: no revision no-such-branch in" in result.err
    other = lab.parent / "sub"
    other.mkdir()
    untracked = other / "homelab.yaml"
    shutil.copy(lab, untracked)
    result = cli("diff", "--objects", str(untracked))
    assert result.code == 2
    assert "git: sub/homelab.yaml does not exist at revision HEAD" in result.err
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(lab, outside / "homelab.yaml")
    result = cli("diff", "--objects", str(outside))
    assert result.code == 2
    assert "is not inside a git repository" in result.err
    assert cli("diff", "--objects", "--base", "--help", str(lab)).code == 2
    assert cli("diff", "--base", "HEAD", str(lab)).code == 2  # --base only goes with --objects


def test_dump_objects_one_file_per_application_secrets_redacted(
    cli: Any, chart_dir: Path, lab: Path, tmp_path: Path
) -> None:
    edit(lab, lambda d: d["services"]["traefik"].update(values={"hub": {"token": TOKEN_A}}))
    dump = tmp_path / "objects"
    result = cli("validate", "--deep", "--charts", str(chart_dir), "--dump-objects", str(dump), str(lab))
    assert result.code == 0, result.err
    names = sorted(p.name for p in dump.glob("*.yaml"))
    assert {"traefik.yaml", "whoami.yaml", "root.yaml", "bootstrap.yaml", "k3s.yaml"} <= set(names)
    text = (dump / "traefik.yaml").read_text()
    assert TOKEN_A not in text
    assert base64.b64encode(TOKEN_A.encode()).decode()[:40] not in text
    secret = next(d for d in yaml.safe_load_all(text) if d["metadata"]["name"] == "traefik-hub-license")
    assert secret["data"] == {"token": "(redacted)"}
    first = {name: (dump / name).read_bytes() for name in names}
    (dump / "gone.yaml").write_text("stale")
    assert (
        cli("validate", "--deep", "--charts", str(chart_dir), "--dump-objects", str(dump), str(lab)).code == 0
    )
    assert {name: (dump / name).read_bytes() for name in names} == first  # deterministic
    assert not (dump / "gone.yaml").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "mine.txt").write_text("keep")
    result = cli("validate", "--deep", "--charts", str(chart_dir), "--dump-objects", str(busy), str(lab))
    assert result.code == 2
    assert "is not empty and holds no earlier object dump" in result.err
    assert cli("validate", "--dump-objects", str(dump), str(lab)).code == 2  # needs --deep
