"""The real Renovate (npm `renovate`, pinned in tools/node/package-lock.json) finds every version pin
of homelab.yaml in the rendered repository, offline.

`renovate --platform=local --dry-run=extract` reads the Git work tree it runs in with the
repository's own renovate.json and writes what its managers extracted to a report file; it looks
nothing up. The expected dependencies are computed from the homelab's configuration, the same
facts homelab.yaml states, so a manager that misses a pin, names the wrong datasource or reads the
wrong key fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.cli.app import run
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.config.starter import example_text
from homelabeazy.model.catalog import REGISTRY
from tests.support.integration import need_binary
from tests.support.node_tools import installed_version, locked_version, node_modules, renovate_bin

pytestmark = pytest.mark.integration

AUTOREPLACE = Path(__file__).resolve().parent.parent / "support" / "renovate_autoreplace.cjs"

EXTRA_APPS = """\
  # Flow style, keys in another order, an OCI registry (trailing slash), and an app without a chart.
  - {name: podinfo, port: 9898,
     chart: {version: 6.9.2, name: podinfo, repo: "oci://ghcr.io/stefanprodan/charts/"}}
  - name: notes
    manifests:
      path: apps/notes
"""
ALLOWED_PROBLEMS = {
    "GitHub token is required for some dependencies",
    "RE2 not usable, falling back to RegExp",
}
"""Extraction without a token: Renovate says it would need one to look GitHub releases up. And
`make node-tools` runs no install scripts, so the native re2 module is not built: Renovate says it
uses JavaScript's regular expressions instead (the same syntax; re2 only guards against slow ones)."""


@dataclass(frozen=True, order=True)
class Dep:
    """What a manager must extract for one pin."""

    datasource: str
    dep_name: str
    current_value: str
    registry_url: str | None = None
    current_digest: str | None = None


def example_with_more_apps() -> str:
    """The example as users have it, plus apps in the shapes the example does not show."""
    text = example_text()
    assert "\ngroups:" in text
    return text.replace("\ngroups:", EXTRA_APPS + "\ngroups:", 1)


Path_ = tuple[str | int, ...]
"""Where a pin sits in homelab.yaml: keys and list indexes."""


def chart_dep(repo: str, name: str, version: str) -> Dep:
    """A chart from a chart repository (helm) or an OCI registry (docker, `registry/path/chart`)."""
    if repo.startswith("oci://"):
        return Dep("docker", repo.removeprefix("oci://").rstrip("/") + "/" + name, version)
    return Dep("helm", name, version, repo.rstrip("/"))


def expected_deps(config: HomelabConfig) -> dict[Dep, Path_]:
    """Every pin homelab.yaml states, as Renovate must see it, and where it sits: the charts'
    names and repositories are the catalog's for core services, the config's for apps."""
    deps: dict[Dep, Path_] = {}
    for index, app in enumerate(config.apps):
        if app.chart is not None:
            deps[chart_dep(app.chart.repo, app.chart.name, app.chart.version)] = (
                "apps",
                index,
                "chart",
                "version",
            )
    for key, make in REGISTRY.items():
        version = getattr(config.services, key).version
        chart = make(config).chart
        if version is not None and chart is not None:
            deps[chart_dep(chart.repo, chart.name, version)] = ("services", key, "version")
    deps[Dep("github-releases", "k3s-io/k3s", config.cluster.k3s_version)] = ("cluster", "k3s_version")
    # Defaults are not pins in the file: only what homelab.yaml states (pydantic's fields set).
    if "kube_vip_version" in config.cluster.model_fields_set:
        kube_vip = Dep("docker", "ghcr.io/kube-vip/kube-vip", config.cluster.kube_vip_version)
        deps[kube_vip] = ("cluster", "kube_vip_version")
    if "provider_version" in config.proxmox.model_fields_set:
        provider = Dep("terraform-provider", "bpg/proxmox", config.proxmox.provider_version)
        deps[provider] = ("proxmox", "provider_version")
    if "collections" in config.ansible.model_fields_set:
        for name, version in config.ansible.collections.items():
            deps[Dep("galaxy-collection", name, version)] = ("ansible", "collections", name)
    if "ci" in config.model_fields_set and "actions" in config.ci.model_fields_set:
        for repo, ref in config.ci.actions.items():
            version, commit = ref.split("@")
            deps[Dep("github-tags", repo, version, current_digest=commit)] = ("ci", "actions", repo)
    return deps


def leaves(data: Any, path: Path_ = ()) -> dict[Path_, Any]:
    """Every scalar of a YAML document by its path."""
    if isinstance(data, dict):
        return {k: v for key, value in data.items() for k, v in leaves(value, (*path, key)).items()}
    if isinstance(data, list):
        return {k: v for i, value in enumerate(data) for k, v in leaves(value, (*path, i)).items()}
    return {path: data}


def offline_prefix() -> list[str]:
    """`unshare` into a network namespace of its own when this machine allows it: proves the
    extraction needs no network. Without it the run is the same, only unproven."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    probe = subprocess.run([unshare, "--net", "--map-root-user", "true"], capture_output=True, check=False)
    return [unshare, "--net", "--map-root-user"] if probe.returncode == 0 else []


def git(repo: Path, *args: str) -> None:
    """Run git in the rendered repository, with an identity of its own."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.invalid"}
    command = [need_binary("git", "apt-get install git"), *args]
    subprocess.run(command, cwd=repo, env=env, check=True, capture_output=True)


def without_optional_pins() -> str:
    """The example as a homelab.yaml written before the other pins existed: only the apps' charts
    and the K3s version (the managers of the missing keys must find nothing, and break nothing)."""
    data = yaml.safe_load(example_text())
    for service in data["services"].values():
        service.pop("version", None)
    del data["proxmox"]["provider_version"], data["cluster"]["kube_vip_version"], data["ansible"], data["ci"]
    return yaml.safe_dump(data, sort_keys=False)


@pytest.fixture(scope="module", params=["example-with-more-apps", "without-optional-pins"])
def rendered_repo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The homelab.yaml rendered into a fresh Git work tree, committed."""
    text = example_with_more_apps() if request.param == "example-with-more-apps" else without_optional_pins()
    repo = tmp_path_factory.mktemp("homelab")
    (repo / "homelab.yaml").write_text(text, encoding="utf-8")
    assert run(["render", str(repo / "homelab.yaml")]) == 0
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "homelab render")
    return repo


@pytest.fixture(scope="module")
def report(rendered_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Renovate's extraction report of the rendered repository (`--dry-run=extract`: no lookups)."""
    node_modules()
    work = tmp_path_factory.mktemp("renovate")
    report_path = work / "report.json"
    result = run_renovate(
        rendered_repo,
        work,
        "--platform=local",
        "--dry-run=extract",
        "--report-type=file",
        f"--report-path={report_path}",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
    return data


def run_renovate(repo: Path, work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Renovate with nothing of this machine's Renovate or GitHub settings, its caches in `work`."""
    work.mkdir(exist_ok=True)
    (work / "global.json").write_text("{}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RENOVATE_", "GITHUB_"))}
    env |= {
        "HOME": str(work),
        "LOG_LEVEL": "warn",
        "RENOVATE_CONFIG_FILE": str(work / "global.json"),
        "RENOVATE_BASE_DIR": str(work / "base"),
    }
    return subprocess.run(
        [*offline_prefix(), str(renovate_bin()), *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def extracted(report: dict[str, Any]) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """(manager -> package files, problems) of the local repository in a Renovate report."""
    local = report["repositories"]["local"]
    return local["packageFiles"], [*report.get("problems", []), *local.get("problems", [])]


def as_dep(raw: dict[str, Any]) -> Dep:
    urls = raw.get("registryUrls") or [None]
    assert len(urls) == 1, raw
    url = urls[0].rstrip("/") if urls[0] else None
    return Dep(raw["datasource"], raw["depName"], raw["currentValue"], url, raw.get("currentDigest"))


def test_renovate_is_the_locked_version() -> None:
    assert installed_version("renovate") == locked_version("renovate"), "run `make node-tools`"
    assert installed_version("renovate").startswith("39."), "Renovate 40+ needs Node 22"


def test_renovate_extracts_every_pin(rendered_repo: Path, report: dict[str, Any]) -> None:
    files, problems = extracted(report)
    # Renovate's own managers found nothing to edit in the rendered files; the regex manager is
    # ci.actions' (tag and commit in one scalar), found only when homelab.yaml states them.
    config = load_config((rendered_repo / "homelab.yaml").read_text(encoding="utf-8")).config
    assert set(files) == ({"jsonata", "regex"} if "ci" in config.model_fields_set else {"jsonata"}), sorted(
        files
    )
    assert {f["packageFile"] for manager in files.values() for f in manager} == {"homelab.yaml"}
    raw = [dep for manager in files.values() for package_file in manager for dep in package_file["deps"]]
    assert {dep.get("skipReason") for dep in raw} <= {None, "github-token-required"}, raw
    got = [as_dep(dep) for dep in raw]
    assert len(got) == len(set(got)), "a pin was extracted twice"
    assert sorted(got) == sorted(expected_deps(config))
    assert {p["msg"] for p in problems} <= ALLOWED_PROBLEMS, problems


def test_renovate_updates_exactly_that_pin(rendered_repo: Path, report: dict[str, Any]) -> None:
    """Renovate's own file update (what a pull request would carry), run for each extracted pin
    with a made-up new version: one line of homelab.yaml changes, and it is that pin's. The
    example holds the same version twice (`2.1.0`: an app's chart and an Ansible collection), so a
    manager that let Renovate edit the first match would fail here."""
    files, _ = extracted(report)
    updates = []
    for manager, manager_files in files.items():
        package_files = []
        for package_file in manager_files:
            deps = [bumped(dep, n, len(package_files)) for n, dep in enumerate(package_file["deps"])]
            package_files.append({**package_file, "deps": deps})
        updates += autoreplace(rendered_repo, manager, package_files)
    original = (rendered_repo / "homelab.yaml").read_text(encoding="utf-8")
    where = expected_deps(load_config(original).config)
    assert len(updates) == len(where)
    before = leaves(yaml.safe_load(original))
    for update in updates:
        changed_lines = [
            (a, b)
            for a, b in zip(original.splitlines(), update["content"].splitlines(), strict=True)
            if a != b
        ]
        assert len(changed_lines) == 1, (update["depName"], changed_lines)
        after = leaves(yaml.safe_load(update["content"]))
        changed = {path for path in before if before[path] != after.get(path)}
        pins = {(dep.dep_name, dep.current_value): path for dep, path in where.items()}
        pin = pins.get((update["depName"], update["currentValue"]))
        assert pin is not None, f"{update['depName']} {update['currentValue']} is no pin of homelab.yaml"
        assert changed == {pin}, (update["depName"], changed)
        if pin[:2] == ("ci", "actions"):  # the tag and its commit, in one scalar
            assert after[pin] == f"{update['newValue']}@{update['newDigest']}"
        else:
            assert after[pin] == update["newValue"]


def bumped(dep: dict[str, Any], n: int, m: int) -> dict[str, Any]:
    """`dep` with a made-up newer version (and commit, for an action pinned by commit)."""
    if dep.get("currentDigest"):  # a release tag and its commit
        return {**dep, "newValue": f"v987.{n}.{m}", "newDigest": f"{n:02d}{m:02d}" + "e" * 36}
    return {**dep, "newValue": f"987.{n}.{m}"}


def autoreplace(repo: Path, manager: str, package_files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Renovate's own file update for each dependency of `package_files`, one at a time."""
    node = need_binary("node", "install Node.js 20")
    work = {"localDir": str(repo), "manager": manager, "packageFiles": package_files}
    result = subprocess.run(
        [node, str(AUTOREPLACE)],
        input=json.dumps(work),
        env={**os.environ, "NODE_PATH": str(node_modules()), "LOG_LEVEL": "warn"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    git(repo, "checkout", "--", "homelab.yaml")  # Renovate wrote its attempts into the tree
    assert result.returncode == 0, result.stderr
    updates: list[dict[str, Any]] = json.loads(result.stdout)
    return updates


def test_renovate_json_passes_renovates_validator(rendered_repo: Path, tmp_path: Path) -> None:
    node_modules()
    validator = renovate_bin().with_name("renovate-config-validator")
    result = subprocess.run(
        [*offline_prefix(), str(validator), "--strict", "renovate.json"],
        cwd=rendered_repo,
        env={**os.environ, "HOME": str(tmp_path), "LOG_LEVEL": "info"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Config validated successfully" in result.stdout + result.stderr
