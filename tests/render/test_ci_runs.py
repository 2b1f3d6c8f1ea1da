"""The rendered CI really runs: the GitHub workflow's jobs executed step by step, offline, on a
stand-in for the runner image (tests/support/workflow_runner.py), through `homelab render --check`
and `homelab validate --deep`.

What the runner has here, and why it is fair:
- the commands ubuntu-24.04 and node:22-bookworm both have (RUNNER_IMAGE_COMMANDS), and a Python
  3.11 without any of the suite's packages as setup-python's;
- no route out (a network namespace with loopback only); the runner's environment names local
  mirrors, as an organisation's runner would: a package index (`PIP_INDEX_URL`, a file:// index of
  the lock's wheels, downloaded once by hash), Galaxy (`ANSIBLE_GALAXY_SERVER`, a Galaxy API on
  loopback serving collections built from the `ansible` package's copies) and get.helm.sh
  (`HELM_MIRROR`, an archive of the suite's Helm 4.1.4);
- the homelabeazy wheel is built from this checkout and found through `ci.find_links`;
- the chart cache is restored as actions/cache restores an earlier run's (the charts `make charts`
  prepared), and saved after a successful job, as actions/cache saves it.

One substitution, named: the Helm archive here is not Helm's published one (none can be downloaded),
so the pinned SHA-256 is replaced in the script by this archive's; a separate test proves that the
unchanged step refuses this archive.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from homelabeazy import toolchain
from homelabeazy.config.starter import example_text
from homelabeazy.render import ci, renovate
from tests.support import rootfs
from tests.support.collections import build_tarball
from tests.support.integration import need_binary, require_tool
from tests.support.workflow_runner import JobResult, Runner, context_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(3600)]

REPO = Path(__file__).resolve().parent.parent.parent
CHARTS = REPO / ".cache" / "charts"
HELM_VERSION = toolchain.tool("helm").tested
PINNED_HELM_SUM = toolchain.HELM_ARCHIVES["amd64"]


def load(text: str) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe", pure=True).load(text)
    return data


def run(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, f"{argv}: {done.stdout}{done.stderr}"
    return done.stdout


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "me", "GIT_AUTHOR_EMAIL": "me@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "me", "GIT_COMMITTER_EMAIL": "me@example.invalid"}
    return run(["git", *args], cwd=cwd, env=env).strip()


# --------------------------------------------------------------------------- the mirrors


def package_mirror() -> Path:
    """A file:// package index (`simple-v2/`) of every wheel the CI lock names, each downloaded once
    by hash (kept in .cache/ci-mirror/<lock digest>/)."""
    lock = ci.lock_text()
    root = REPO / ".cache" / "ci-mirror" / hashlib.sha256(lock.encode()).hexdigest()[:16]
    if (root / "simple-v2").is_dir():
        return root
    if (root / "simple-v2").is_dir():
        return root
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    (root / "requirements.txt").write_text(lock, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes",
         "--only-binary=:all:", "-r", str(root / "requirements.txt"), "-d", str(files)],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        require_tool(f"cannot download the CI lock's wheels for the local mirror: {done.stderr[-500:]}")
    shutil.rmtree(root / "simple.tmp", ignore_errors=True)
    write_simple_index(files, root / "simple.tmp")
    (root / "simple.tmp").rename(root / "simple-v2")
    return root


def write_simple_index(files: Path, simple: Path) -> None:
    """PEP 503 pages: one folder per project listing its files (relative links: the index also
    serves from inside a container's root) with their SHA-256."""
    projects: dict[str, list[Path]] = {}
    for wheel in sorted(files.iterdir()):
        name = wheel.name.split("-", 1)[0].lower().replace("_", "-").replace(".", "-")
        projects.setdefault(name, []).append(wheel)
    for name, wheels in projects.items():
        (simple / name).mkdir(parents=True)
        links = "".join(
            f'<a href="../../{files.name}/{w.name}#sha256={sha256_of(w)}">{w.name}</a>\n' for w in wheels
        )
        (simple / name / "index.html").write_text(f"<html><body>\n{links}</body></html>\n", encoding="utf-8")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def helm_mirror(folder: Path) -> str:
    """get.helm.sh's layout with one archive: the suite's Helm binary as `linux-amd64/helm`."""
    helm = REPO / ".venv" / "bin" / "helm"
    if not helm.is_file():
        require_tool("no Helm in .venv/bin (run `make setup`)")
    folder.mkdir(parents=True)
    archive = folder / f"helm-v{HELM_VERSION}-linux-amd64.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(helm, arcname="linux-amd64/helm")
    return hashlib.sha256(archive.read_bytes()).hexdigest()


def galaxy_mirror(folder: Path, requirements: str) -> None:
    """The collections ansible/requirements.yml pins, as artifacts a Galaxy serves."""
    folder.mkdir(parents=True)
    galaxy = Path(sys.executable).parent / "ansible-galaxy"
    if not galaxy.is_file():
        require_tool("ansible-galaxy is not installed beside the suite's Python")
    for entry in load(requirements)["collections"]:
        build_tarball(galaxy, entry["name"], entry["version"], folder, dict(os.environ))


def homelabeazy_wheel(folder: Path) -> Path:
    """This checkout, built as a wheel (what PyPI or a release would serve).

    Built from a copy of what the package is made of: setuptools reuses a `build/` folder a
    previous build left in the checkout, so a file since removed from the sources would ride along
    in the wheel (and its digest would not be the checkout's)."""
    source = Path(tempfile.mkdtemp(prefix="homelabeazy-sdist-"))
    try:
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(REPO / name, source / name)
        skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
        shutil.copytree(REPO / "src", source / "src", ignore=skip)
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--no-build-isolation",
                "-w",
                str(folder),
                str(source),
            ]
        )
    finally:
        shutil.rmtree(source, ignore_errors=True)
    wheels = list(folder.glob("homelabeazy-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@dataclass
class Lab:
    """Everything one test's runs share: the runner, the repository and its work tree."""

    runner: Runner
    work: Path
    wheels: Path
    helm_sum: str
    mirror: Path


@pytest.fixture(scope="module")
def netns() -> Iterator[str]:
    """A network namespace with nothing but loopback (root only)."""
    if os.geteuid() != 0 or shutil.which("ip", path="/usr/sbin:/sbin:/usr/bin:/bin") is None:
        require_tool("running the CI offline needs root and iproute2 (a network namespace)")
    name = f"homelab-ci-{os.getpid()}"
    ip = shutil.which("ip", path="/usr/sbin:/sbin:/usr/bin:/bin")
    assert ip is not None
    run([ip, "netns", "add", name])
    try:
        run([ip, "-n", name, "link", "set", "lo", "up"])
        yield name
    finally:
        subprocess.run([ip, "netns", "delete", name], check=False)


@pytest.fixture(scope="module")
def galaxy_url(netns: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("galaxy") / "collections"
    requirements = toolchain.requirements(toolchain.ANSIBLE_COLLECTIONS)
    galaxy_mirror(folder, yaml_text(requirements))
    ip = shutil.which("ip", path="/usr/sbin:/sbin:/usr/bin:/bin")
    assert ip is not None
    server = subprocess.Popen(
        [ip, "netns", "exec", netns, sys.executable, "-m", "tests.support.fake_galaxy", str(folder)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url, folder
    finally:
        server.terminate()
        server.wait(timeout=30)


def yaml_text(data: Any) -> str:
    stream = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, stream)
    return stream.getvalue()


@pytest.fixture(scope="module")
def lab(netns: str, galaxy_url: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Lab:
    """One rendered repository and its mirrors for every run of this module."""
    return make_lab(tmp_path_factory.mktemp("ci-lab"), netns, galaxy_url[0])


def main_sha(lab: Lab) -> str:
    return git(lab.runner.origin, "rev-parse", "main")


def make_lab(root: Path, netns: str, galaxy: str) -> Lab:
    """A rendered example homelab in a repository, and a runner whose mirrors serve what it needs."""
    need_binary("git", "apt-get install git")
    if not CHARTS.is_dir():
        require_tool("no chart cache in .cache/charts (run `make charts`)")
    mirror = package_mirror()
    wheels = root / "wheels"
    homelabeazy_wheel(wheels)
    helm_sum = helm_mirror(root / "helm")
    work, origin = root / "work", root / "origin.git"
    work.mkdir()
    text = example_text().replace("\nci:\n", f"\nci:\n  find_links: {wheels.as_uri()}\n", 1)
    assert wheels.as_uri() in text
    (work / "homelab.yaml").write_text(text, encoding="utf-8")
    run([sys.executable, "-m", "homelabeazy", "render", "homelab.yaml"], cwd=work)
    git(root, "init", "-q", "--bare", "-b", "main", str(origin))
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "--all")
    git(work, "commit", "-q", "-m", "homelab")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "main")
    store = root / "cache-store" / "homelab-charts-from-an-earlier-run" / "charts"
    shutil.copytree(CHARTS, store)  # an earlier online run's saved chart cache (files, not links)
    python = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    runner = Runner(
        root=root / "runner",
        python=python,
        origin=origin,
        cache_store=root / "cache-store",
        environment={
            # The image has no pip configuration; this machine's must not leak in.
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_INDEX_URL": (mirror / "simple-v2").as_uri(),
            "ANSIBLE_GALAXY_SERVER": galaxy,
            "HELM_MIRROR": (root / "helm").as_uri(),
        },
        netns=netns,
        substitutions={PINNED_HELM_SUM: helm_sum},
    )
    runner.root.mkdir()
    return Lab(runner, work, wheels, helm_sum, mirror)


def workflow_of(work: Path, platform: ci.Platform = ci.GITHUB) -> dict[str, Any]:
    return load((work / platform.path).read_text(encoding="utf-8"))


def step_names(result: JobResult) -> list[str]:
    return [step.name for step in result.steps]


# --------------------------------------------------------------------------- the runs


def test_the_github_workflow_runs_offline_push_and_renovate_pull_request(lab: Lab) -> None:
    """A push to main: `check` passes every step, `render` is skipped. Then Renovate's pull request
    bumping an action in homelab.yaml: `render` (skipped for a fork's) commits exactly the
    re-rendered workflows onto the branch, and `check` of that commit passes. (That `check` fails
    on the bump's own commit, and a second `render` commits nothing: test_ci.py's bump test.)"""
    started = time.monotonic()
    workflow = workflow_of(lab.work)
    push = context_for("push", sha=main_sha(lab), ref="refs/heads/main")
    assert lab.runner.run_job(workflow, "render", push).skipped
    check = lab.runner.run_job(workflow, "check", push)
    assert check.ok, check.describe()
    assert step_names(check)[-1].startswith("Every chart renders"), step_names(check)
    outputs = {step.name: step.output for step in check.steps}
    install = next(out for name, out in outputs.items() if name.startswith("Install homelabeazy"))
    install_step = next(
        s for s in workflow["jobs"]["check"]["steps"] if "HOMELABEAZY_DIGEST" in s.get("env", {})
    )
    rendered_by = install_step["env"]["HOMELABEAZY_DIGEST"]  # this checkout's digest when it was rendered
    assert f"homelabeazy {rendered_by}: the build that rendered" in install
    first_check = time.monotonic() - started
    started = time.monotonic()

    # Renovate's branch: a newer checkout release in homelab.yaml, nothing else.
    branch = f"{renovate.RENOVATE_BRANCH_PREFIX}ci-actions"
    old = toolchain.ACTION_PINS["actions/checkout"]
    new_ref = "v4.9.9@" + "ab" * 20
    git(lab.work, "checkout", "-q", "-b", branch)
    text = (lab.work / "homelab.yaml").read_text(encoding="utf-8")
    (lab.work / "homelab.yaml").write_text(text.replace(old.ref, new_ref), encoding="utf-8")
    git(lab.work, "commit", "-q", "-am", "chore(deps): update actions/checkout to v4.9.9")
    git(lab.work, "push", "-q", "origin", branch)
    bump_sha = git(lab.work, "rev-parse", "HEAD")
    pr = context_for("pull_request", sha=bump_sha, ref="refs/pull/1/merge", head_ref=branch)
    assert lab.runner.run_job(
        workflow, "render", context_for("pull_request", sha=bump_sha, ref="", head_ref=branch, fork=True)
    ).skipped

    rendered = lab.runner.run_job(workflow, "render", pr)
    assert rendered.ok, rendered.describe()
    log = git(lab.runner.origin, "log", "--format=%ae %s", f"main..{branch}").splitlines()
    assert len(log) == 2, log
    assert log[0].startswith(renovate.RENDER_BOT_EMAIL), log
    changed = set(git(lab.runner.origin, "diff", "--name-only", f"{branch}~1", branch).split())
    assert changed == {p.path for p in ci.PLATFORMS} | {".homelab/manifest.json"}
    head = git(lab.runner.origin, "rev-parse", branch)
    workflow_text = git(lab.runner.origin, "show", f"{head}:{ci.GITHUB.path}")
    assert f"actions/checkout@{'ab' * 20} # v4.9.9" in workflow_text

    # The re-render's commit: the tree is what homelab.yaml gives (validate --deep of the same
    # charts and playbooks passed above; this commit changed only the workflows).
    synced = context_for("pull_request", sha=head, ref="refs/pull/1/merge", head_ref=branch)
    green = lab.runner.run_job(
        load(workflow_text), "check", synced, stop_after="The tree is what homelab.yaml gives"
    )
    assert green.ok, green.describe()
    assert step_names(green)[-1] == "The tree is what homelab.yaml gives", step_names(green)
    print(
        f"\nCI run offline: check job on push {first_check:.0f}s, render job and check job of the pull "
        f"request {time.monotonic() - started:.0f}s; "
        + ", ".join(f"{s.name[:30]} {s.seconds:.1f}s" for s in check.steps)
    )


def test_the_pinned_helm_hash_refuses_another_archive(lab: Lab) -> None:
    """The Helm step as rendered, unchanged: the mirror's archive is not Helm's published one."""
    workflow = workflow_of(lab.work)
    helm = next(
        step
        for step in workflow["jobs"]["check"]["steps"]
        if str(step.get("name")).startswith("Install Helm")
    )
    only_helm = {"jobs": {"helm": {"steps": [helm]}}}
    saved, lab.runner.substitutions = lab.runner.substitutions, {}
    try:
        refused = lab.runner.run_job(
            only_helm, "helm", context_for("push", sha=main_sha(lab), ref="refs/heads/main")
        )
    finally:
        lab.runner.substitutions = saved
    assert refused.steps[-1].returncode != 0
    assert "FAILED" in refused.steps[-1].output, refused.describe()
    accepted = lab.runner.run_job(
        only_helm, "helm", context_for("push", sha=main_sha(lab), ref="refs/heads/main")
    )
    assert accepted.ok, accepted.describe()


def test_another_homelabeazy_build_is_refused(lab: Lab) -> None:
    """A wheel of the same version with one file changed installs, and the digest check stops the
    job before anything of it runs."""
    wheel = next(lab.wheels.glob("*.whl"))
    original = wheel.read_bytes()
    tampered = wheel.with_suffix(".tmp")
    changed = "homelabeazy/render/ci.py"
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(tampered, "w") as target:
        data = source.read(changed) + b"\n# not the build that rendered the repository\n"
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        for item in source.infolist():
            content = source.read(item)
            if item.filename == changed:
                content = data
            elif item.filename.endswith(".dist-info/RECORD"):  # a consistent wheel, as a rebuild gives
                lines = [
                    f"{changed},sha256={digest},{len(data)}" if line.startswith(changed + ",") else line
                    for line in content.decode().splitlines()
                ]
                content = ("\n".join(lines) + "\n").encode()
            target.writestr(item, content)
    tampered.replace(wheel)
    try:
        push = context_for("push", sha=main_sha(lab), ref="refs/heads/main")
        result = lab.runner.run_job(workflow_of(lab.work), "check", push)
    finally:
        wheel.write_bytes(original)
    assert step_names(result)[-1].startswith("Install homelabeazy"), step_names(result)
    assert result.steps[-1].returncode != 0
    assert "install the homelabeazy that rendered it" in result.steps[-1].output


# --------------------------------------------------------------------------- Forgejo and Gitea


def apt_mirror(tarball: Path) -> Path:
    """A flat Debian repository of what `apt-get install python3-venv` fetches for this root: apt
    itself resolves it in a copy of the root (network allowed here, before the offline run) and
    downloads the packages; kept per root in .cache/ci-mirror/apt-<root>/."""
    root = REPO / ".cache" / "ci-mirror" / f"apt-{tarball.stem}"
    if (root / "Packages").is_file():
        return root
    if shutil.which("dpkg-scanpackages") is None:
        require_tool("dpkg-scanpackages is needed for the local Debian mirror (apt-get install dpkg-dev)")
    with rootfs.hosts_under(Path(tempfile.mkdtemp(prefix="ci-apt-"))) as base:
        prep = base / "root"
        prep.mkdir()
        run(["tar", "-C", str(prep), "-xf", str(tarball)])
        shutil.copy("/etc/resolv.conf", prep / "etc" / "resolv.conf")
        fetch = "apt-get update -qq && apt-get install -y -qq --download-only --no-install-recommends "
        fetch += "python3-venv"
        done = subprocess.run(
            ["chroot", str(prep), "/bin/sh", "-c", fetch], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            require_tool(f"cannot fetch python3-venv from Debian for the local mirror: {done.stderr[-300:]}")
        root.mkdir(parents=True, exist_ok=True)
        for deb in (prep / "var" / "cache" / "apt" / "archives").glob("*.deb"):
            shutil.copy(deb, root / deb.name)
    packages = run(["dpkg-scanpackages", "--multiversion", ".", "/dev/null"], cwd=root)
    (root / "Packages.tmp").write_text(packages, encoding="utf-8")
    (root / "Packages.tmp").rename(root / "Packages")
    return root


def test_the_forgejo_and_gitea_workflows_run_in_a_debian_container(lab: Lab, tmp_path: Path) -> None:
    """The Forgejo job's `check`, chrooted into a Debian 12 root (python3 without venv, as in
    node:22-bookworm), its apt sources a local mirror: `apt-get install python3-venv`, then the same
    steps as on GitHub. The mirrors appear inside at the paths they have outside. Gitea's file is
    Forgejo's but for the job names, so this run is both."""
    forgejo = ci.FORGEJO
    texts = {p: (lab.work / p.path).read_text(encoding="utf-8") for p in (ci.FORGEJO, ci.GITEA)}
    assert texts[ci.GITEA] == texts[ci.FORGEJO].replace(ci.FORGEJO.title, ci.GITEA.title)
    tarball = rootfs.rootfs_tarball()
    apt = apt_mirror(tarball)
    with rootfs.hosts_under(tmp_path / "roots") as roots:
        root = roots / "node-bookworm"
        root.mkdir()
        run(["tar", "-C", str(root), "-xf", str(tarball)])
        assert not (root / "usr/lib/python3.11/ensurepip/__init__.py").exists(), (
            "the image has no venv support"
        )
        # The node image has nftables; node:22-bookworm has not (and a container's seccomp profile
        # refuses the user namespace `nft -c` runs in), so the deep check's nft part is skipped there.
        (root / "usr/sbin/nft").unlink()
        for listing in (root / "etc/apt/sources.list.d").glob("*"):
            listing.unlink()
        (root / "etc/apt/sources.list").write_text("deb [trusted=yes] file:/ci-apt ./\n", encoding="utf-8")
        helm = Path(lab.runner.environment["HELM_MIRROR"].removeprefix("file://"))
        lab.runner.rootfs = root
        lab.runner.binds = {apt: "/ci-apt", **{p: str(p) for p in (lab.mirror, lab.wheels, helm)}}
        started = time.monotonic()
        push = context_for("push", sha=main_sha(lab), ref="refs/heads/main")
        try:
            result = lab.runner.run_job(workflow_of(lab.work, forgejo), "check", push)
        finally:
            lab.runner.rootfs, lab.runner.binds = None, {}
        assert result.ok, result.describe()
        assert step_names(result)[1] == "Install Python's venv module (Debian)"
        assert step_names(result)[-1].startswith("Every chart renders"), step_names(result)
        print(f"\nForgejo check job in the container: {time.monotonic() - started:.0f}s")
