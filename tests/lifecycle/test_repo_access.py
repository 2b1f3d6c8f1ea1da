"""ArgoCD's access to a private repository: the deploy key (made once, never rotated), the check
that exactly that key reads the repo — real `git ls-remote` over a real sshd on loopback whose
authorized_keys holds only the deploy key — and the repository Secret the bootstrap stage applies
to the fake Kubernetes API (never written into the repo)."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.lifecycle import repo_access as ra
from homelabeazy.lifecycle import runners as r
from homelabeazy.lifecycle.stages import StageContext
from homelabeazy.model import Homelab, build
from homelabeazy.ops import tools
from homelabeazy.ops.kube import KubeAdapter
from homelabeazy.render import render_all
from tests.lifecycle import servers
from tests.support.fake_kube import FakeKubeServer
from tests.support.integration import need_binary, require_tool


def private(homelab: Homelab, url: str, **gitops: object) -> Homelab:
    """`homelab` with a private repository at `url`."""
    changed = homelab.config.gitops.model_copy(update={"repo_url": url, "private": True, **gitops})
    return build(homelab.config.model_copy(update={"gitops": changed}))


# ---------------------------------------------------------------------------- the key itself


def test_the_deploy_key_is_made_once_0600_and_reused(tmp_path: Path) -> None:
    state = tmp_path / "state" / "lab"
    first = ra.ensure_deploy_key(state, "argocd@lab")
    assert first.created
    assert stat.S_IMODE(first.private_path.stat().st_mode) == 0o600
    assert first.public.startswith("ssh-ed25519 ")
    assert first.public.endswith(" argocd@lab")
    again = ra.ensure_deploy_key(state, "argocd@lab")
    assert not again.created
    assert (again.public, again.private_text()) == (first.public, first.private_text())
    # The public file is derived from the private key, which stays the truth.
    (state / "argocd-deploy-key.pub").write_text("ssh-ed25519 AAAAtampered x\n")
    assert ra.ensure_deploy_key(state, "argocd@lab").public == first.public
    assert (state / "argocd-deploy-key.pub").read_text().strip() == first.public


def test_openssh_reads_the_key_and_agrees_on_its_fingerprint(tmp_path: Path) -> None:
    keygen = need_binary("ssh-keygen", "apt-get install openssh-client")
    key = ra.ensure_deploy_key(tmp_path, "argocd@lab")
    derived = subprocess.run(
        [keygen, "-y", "-f", str(key.private_path)], capture_output=True, text=True, check=False
    )
    assert derived.returncode == 0, derived.stderr
    assert derived.stdout.split()[:2] == key.public.split()[:2]
    listed = subprocess.run(
        [keygen, "-l", "-f", str(key.private_path)], capture_output=True, text=True, check=False
    )
    assert listed.stdout.split()[1] == key.fingerprint


def test_a_key_that_is_not_ours_is_refused_precisely(tmp_path: Path) -> None:
    (tmp_path / "argocd-deploy-key").write_text("not a key\n")
    with pytest.raises(UsageError, match="is not an unencrypted OpenSSH private key"):
        ra.ensure_deploy_key(tmp_path, "c")


def test_credentials_per_url_kind(example_homelab: Homelab, tmp_path: Path) -> None:
    public = example_homelab.config.gitops
    assert ra.credentials(public, tmp_path, "c", {}, create=True) is None
    https = private(example_homelab, "https://git.example.com/me/lab.git").config.gitops
    with pytest.raises(UsageError, match="export HOMELAB_GIT_TOKEN with a read-only access token"):
        ra.credentials(https, tmp_path, "c", {}, create=True)
    creds = ra.credentials(https, tmp_path, "c", {"HOMELAB_GIT_TOKEN": "tok-9f8e"}, create=True)
    assert creds is not None
    assert "tok-9f8e" not in repr(creds)
    assert creds.secret_data() == {
        "type": "git",
        "url": "https://git.example.com/me/lab.git",
        "username": "git",
        "password": "tok-9f8e",
    }
    assert not list(tmp_path.iterdir()), "an https repository needs no key"
    ssh = private(example_homelab, "git@github.com:me/lab.git").config.gitops
    with pytest.raises(ExternalSystemError, match="there is no deploy key at"):
        ra.credentials(ssh, tmp_path, "c", {}, create=False)
    made = ra.credentials(ssh, tmp_path, "c", {}, create=True)
    assert made is not None
    assert made.key is not None
    assert made.key.created


@pytest.mark.parametrize(
    ("url", "page"),
    [
        ("git@github.com:me/lab.git", "https://github.com/me/lab/settings/keys"),
        ("ssh://git@gitlab.com/group/sub/lab.git", "https://gitlab.com/group/sub/lab/-/settings/repository"),
        ("git@bitbucket.org:ws/lab.git", "https://bitbucket.org/ws/lab/admin/access-keys/"),
        ("ssh://git@git.home.lan:2222/me/lab.git", "https://git.home.lan/me/lab/settings/keys"),
    ],
)
def test_the_place_to_add_the_key(url: str, page: str) -> None:
    assert page in ra.deploy_key_page(url)
    assert "read-only" in ra.deploy_key_page(url)


# ---------------------------------------------------------------------------- real git over sshd


@dataclass
class SshRemote:
    url: str
    state: Path
    known_hosts: Path


@pytest.fixture
def ssh_remote(tmp_path: Path) -> Iterator[SshRemote]:
    """A bare repo with `main`, served by a real sshd that accepts only the deploy key."""
    git = need_binary("git", "apt-get install git")
    sshd_bin = servers.find_binary("sshd")
    if sshd_bin is None or servers.find_binary("ssh") is None:
        require_tool("sshd/ssh not found (apt-get install openssh-server openssh-client)")
    assert sshd_bin is not None
    state = tmp_path / "state" / "lab"
    key = ra.ensure_deploy_key(state, "argocd@lab")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}
    work, bare = tmp_path / "work", tmp_path / "remote.git"
    subprocess.run([git, "init", "-q", "-b", "main", str(work)], check=True, env=env)
    (work / "README.md").write_text("x\n")
    subprocess.run([git, "-C", str(work), "add", "."], check=True, env=env)
    subprocess.run([git, "-C", str(work), "commit", "-qm", "init"], check=True, env=env)
    subprocess.run([git, "clone", "-q", "--bare", str(work), str(bare)], check=True, env=env)
    (tmp_path / "sshd").mkdir()
    with servers.sshd(sshd_bin, tmp_path / "sshd", authorized_keys=key.public + "\n") as server:
        url = f"ssh://{server.user}@127.0.0.1:{server.port}{bare}"
        yield SshRemote(url, state, state / "git-known-hosts")


def _check(state: Path) -> ra.ArgocdRemoteCheck:
    # Only our own known-hosts file: the test must not depend on (or write to) ~/.ssh.
    return ra.ArgocdRemoteCheck(lambda _h: state, environ={}, known_hosts=lambda s: (s / "git-known-hosts",))


@pytest.mark.integration
def test_the_deploy_key_reads_the_repo_and_another_key_is_refused(
    ssh_remote: SshRemote, example_homelab: Homelab, tmp_path: Path
) -> None:
    homelab = private(example_homelab, ssh_remote.url)
    ctx = StageContext(tmp_path, homelab)
    key = ra.ensure_deploy_key(ssh_remote.state, "argocd@lab")
    summary = _check(ssh_remote.state)(ctx)
    assert summary.startswith(f"ArgoCD's deploy key {key.fingerprint} reads main; ")
    host = ra.known_hosts_name(ssh_remote.url)
    assert f"note: ArgoCD trusts no host key for {host} out of the box" in summary
    assert host in ssh_remote.known_hosts.read_text()  # recorded on first contact, under that name
    # Idempotent: the same key again, nothing rotated.
    assert _check(ssh_remote.state)(ctx) == summary
    assert ra.ensure_deploy_key(ssh_remote.state, "argocd@lab").private_text() == key.private_text()

    # Another homelab state: a new key the server does not know.
    other_state = tmp_path / "other-state"
    with pytest.raises(ExternalSystemError) as info:
        _check(other_state)(ctx)
    text = str(info.value)
    other = ra.ensure_deploy_key(other_state, ra.comment_for(homelab))
    assert f"ls-remote {ssh_remote.url} as ArgoCD (deploy key {other.fingerprint})" in text
    assert "Permission denied (publickey)" in text
    assert "add ArgoCD's public key as a read-only deploy key at the deploy keys of 127.0.0.1" in text
    assert other.public in text
    assert other.private_text().splitlines()[1] not in text


@pytest.mark.integration
def test_a_changed_host_key_is_refused(
    ssh_remote: SshRemote, example_homelab: Homelab, tmp_path: Path
) -> None:
    keygen = need_binary("ssh-keygen", "apt-get install openssh-client")
    homelab = private(example_homelab, ssh_remote.url)
    ctx = StageContext(tmp_path, homelab)
    _check(ssh_remote.state)(ctx)  # first contact records the host key
    recorded = ssh_remote.known_hosts.read_text().split()
    subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "impostor")], check=True)
    impostor = (tmp_path / "impostor.pub").read_text().split()
    ssh_remote.known_hosts.write_text(f"{recorded[0]} {impostor[0]} {impostor[1]}\n")
    with pytest.raises(ExternalSystemError, match="Host key verification failed"):
        _check(ssh_remote.state)(ctx)


@pytest.mark.integration
def test_preflight_uses_argocds_key_not_the_users(
    ssh_remote: SshRemote, example_homelab: Homelab, tmp_path: Path, fake_proxmox
) -> None:
    """The user's own credentials would pass (a file remote): preflight must use ArgoCD's."""
    from tests.lifecycle import pve
    from tests.lifecycle.test_preflight_pve_versions import _stage

    homelab = private(example_homelab, ssh_remote.url)
    server = fake_proxmox(pve.estate_for(homelab), token=pve.token(homelab))
    user_checked: list[str] = []
    stage = _stage(server, homelab)
    stage.ls_remote = lambda url, rev: user_checked.append(url) or "0" * 40
    stage.argocd_remote = _check(tmp_path / "fresh-state")
    with pytest.raises(ExternalSystemError) as info:
        stage.run(StageContext(tmp_path, homelab))
    assert "Permission denied (publickey)" in str(info.value)
    assert "ssh-ed25519 " in str(info.value)
    assert user_checked == []
    stage.argocd_remote = _check(ssh_remote.state)
    assert "reads main; note: ArgoCD trusts no host key" in stage.run(StageContext(tmp_path, homelab))


# ---------------------------------------------------------------------------- bootstrap + kube


BOOTSTRAP = """\
apiVersion: helm.cattle.io/v1
kind: HelmChart
metadata: {name: argocd, namespace: kube-system}
spec: {chart: argo-cd}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: root, namespace: argocd}
spec: {}
"""


@pytest.mark.fake
def test_bootstrap_applies_the_repository_secret_before_the_root_application(
    example_homelab: Homelab, tmp_path: Path
) -> None:
    homelab = private(example_homelab, "git@github.com:me/lab.git")
    state = tmp_path / "state"
    key = ra.ensure_deploy_key(state, ra.comment_for(homelab))
    folder = tmp_path / "kubernetes" / "bootstrap"
    folder.mkdir(parents=True)
    (folder / "argocd.yaml").write_text(BOOTSTRAP)
    with FakeKubeServer() as kube:
        adapter = KubeAdapter(kube.kubeconfig(tmp_path), timeout=3)
        stage = r.BootstrapStage(kube=lambda: adapter, repo_secret=ra.RepositorySecret(lambda _h: state))
        summary = stage.run(StageContext(tmp_path, homelab))
        assert summary == (
            "applied 3 manifest(s) (server-side), "
            "ArgoCD's repository credentials as Secret argocd/homelab-repository"
        )
        assert stage.run(StageContext(tmp_path, homelab)) == summary  # idempotent
    assert [p for p, _, _ in kube.applied[:3]] == [
        "/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/argocd",
        "/api/v1/namespaces/argocd/secrets/homelab-repository",
        "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/root",
    ]
    secret = kube.objects["/api/v1/namespaces/argocd/secrets/homelab-repository"]
    assert secret["metadata"]["labels"] == {"argocd.argoproj.io/secret-type": "repository"}
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data == {"type": "git", "url": "git@github.com:me/lab.git", "sshPrivateKey": key.private_text()}
    # Never in the repository: nothing rendered holds the key, and no file under the repo does.
    marker = key.private_text().splitlines()[1]
    assert not [p for p, text in render_all(homelab).items() if marker in text]
    assert not [
        p for p in tmp_path.rglob("*") if p.is_file() and state not in p.parents and marker in p.read_text()
    ]


def test_bootstrap_without_the_deploy_key_changes_nothing(example_homelab: Homelab, tmp_path: Path) -> None:
    homelab = private(example_homelab, "git@github.com:me/lab.git")
    folder = tmp_path / "kubernetes" / "bootstrap"
    folder.mkdir(parents=True)
    (folder / "argocd.yaml").write_text(BOOTSTRAP)
    stage = r.BootstrapStage(
        kube=lambda: pytest.fail("must not connect"),
        repo_secret=ra.RepositorySecret(lambda _h: tmp_path / "none"),
    )
    with pytest.raises(ExternalSystemError, match=r"no deploy key at .*run `homelab up`"):
        stage.run(StageContext(tmp_path, homelab))
    assert not (tmp_path / "none").exists(), "bootstrap never makes a key preflight did not check"


def test_a_public_repository_gets_no_secret(example_homelab: Homelab, tmp_path: Path) -> None:
    assert ra.RepositorySecret(lambda _h: tmp_path)(example_homelab) is None
    assert ra.RepositorySecret(lambda _h: tmp_path).vault_data(example_homelab) is None
    assert not list(tmp_path.iterdir())


@pytest.mark.fake
def test_a_public_repository_keeps_the_users_ls_remote(
    example_homelab: Homelab, tmp_path: Path, fake_proxmox
) -> None:
    """No key, no ArgoCD check: the remote is read as the user (and ArgoCD) read public ones."""
    from tests.lifecycle import pve
    from tests.lifecycle.test_preflight_pve_versions import _stage

    server = fake_proxmox(pve.estate_for(example_homelab), token=pve.token(example_homelab))
    called: list[str] = []
    stage = _stage(server, example_homelab)
    stage.argocd_remote = lambda ctx: called.append("argocd") or ""
    assert stage.run(StageContext(tmp_path, example_homelab)).endswith("main on the remote")
    assert called == []


# ---------------------------------------------------------------------------- https + token


@pytest.mark.integration
def test_an_https_token_reads_the_repo_and_a_wrong_one_is_refused(
    example_homelab: Homelab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real `git http-backend` behind basic auth; the token travels in the environment only."""
    git = need_binary("git", "apt-get install git")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}
    work, root = tmp_path / "work", tmp_path / "served"
    subprocess.run([git, "init", "-q", "-b", "main", str(work)], check=True, env=env)
    (work / "README.md").write_text("x\n")
    subprocess.run([git, "-C", str(work), "commit", "-qm", "init", "--allow-empty"], check=True, env=env)
    subprocess.run([git, "clone", "-q", "--bare", str(work), str(root / "lab.git")], check=True, env=env)
    # The user's own credential helper would answer with the right token: it must not be asked.
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".gitconfig").write_text("[credential]\n\thelper = store\n")
    homelab = private(example_homelab, "https://git.example.com/me/lab.git", token_username="deploy")
    ctx = StageContext(tmp_path, homelab)
    with servers.git_http(root, "deploy", "tok-right-4411") as base:
        host = base.removeprefix("http://")
        (tmp_path / ".git-credentials").write_text(f"http://deploy:tok-right-4411@{host}\n")

        def ls_remote(url: str, revision: str, **kwargs: object) -> str:
            assert url == "https://git.example.com/me/lab.git"
            return tools.git_ls_remote(f"{base}/lab.git", revision, **kwargs)  # type: ignore[arg-type]

        def check(token: str) -> str:
            environ = {"HOMELAB_GIT_TOKEN": token} if token else {}
            return ra.ArgocdRemoteCheck(lambda _h: tmp_path / "state", environ=environ, ls_remote=ls_remote)(
                ctx
            )

        assert check("tok-right-4411") == "ArgoCD's the token in $HOMELAB_GIT_TOKEN reads main"
        with pytest.raises(ExternalSystemError) as info:
            check("tok-wrong-0000")
        assert "the remote refused the token" in str(info.value)
        assert "check that $HOMELAB_GIT_TOKEN holds a token that can read" in str(info.value)
        assert "tok-wrong-0000" not in str(info.value)
        with pytest.raises(UsageError, match="export HOMELAB_GIT_TOKEN"):
            check("")
    assert not (tmp_path / "state").exists(), "an https repository needs no key"


# ---------------------------------------------------------------------------- end to end


@pytest.mark.integration
def test_homelab_up_prints_the_key_then_passes_once_it_is_added(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a user meets it: `homelab up` refuses, printing the public key and where it goes; the
    key is added on the server (its authorized_keys, standing in for the forge's deploy keys); the
    next run reads the repository with it. The wiring is the real one (state folder, known hosts)."""
    from homelabeazy.config.starter import example_text

    git = need_binary("git", "apt-get install git")
    sshd_bin = servers.find_binary("sshd")
    if sshd_bin is None or servers.find_binary("ssh") is None:
        require_tool("sshd/ssh not found (apt-get install openssh-server openssh-client)")
    assert sshd_bin is not None
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HOMELAB_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("PROXMOX_VE_API_TOKEN", "terraform@pve!homelab=not-a-real-secret")
    bare = tmp_path / "remote.git"
    subprocess.run([git, "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}
    (tmp_path / "sshd").mkdir()
    with servers.sshd(sshd_bin, tmp_path / "sshd", authorized_keys="\n") as server:
        url = f"ssh://{server.user}@127.0.0.1:{server.port}{bare}"
        text = example_text().replace("https://10.10.30.2:8006/", f"https://127.0.0.1:{servers.free_port()}/")
        text = text.replace(
            "  repo_url: https://github.com/example/homelab.git", f"  repo_url: {url}\n  private: true"
        )
        repo = tmp_path / "repo"
        repo.mkdir()
        (repo / "homelab.yaml").write_text(text)
        assert cli("render", str(repo / "homelab.yaml")).code == 0
        subprocess.run([git, "-C", str(repo), "init", "-q", "-b", "main"], check=True, env=env)
        subprocess.run([git, "-C", str(repo), "add", "."], check=True, env=env)
        subprocess.run([git, "-C", str(repo), "commit", "-qm", "render"], check=True, env=env)
        subprocess.run([git, "-C", str(repo), "push", "-q", str(bare), "main"], check=True, env=env)

        first = cli("up", "--only", "preflight", "--yes", str(repo / "homelab.yaml"))
        assert first.code == 1
        key_file = tmp_path / "state" / "homelab" / "argocd-deploy-key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        public = (tmp_path / "state" / "homelab" / "argocd-deploy-key.pub").read_text().strip()
        assert public in first.err
        assert "add ArgoCD's public key as a read-only deploy key" in first.err
        assert key_file.read_text().splitlines()[1] not in first.err + first.out

        (tmp_path / "sshd" / "authorized_keys").write_text(public + "\n")  # the user adds the key
        second = cli("up", "--only", "preflight", "--yes", str(repo / "homelab.yaml"))
        assert second.code == 1  # Proxmox is not there; the Git remote is no longer a problem
        assert "ls-remote" not in second.err
        assert "Proxmox" in second.err
        assert (tmp_path / "state" / "homelab" / "git-known-hosts").exists()
        assert not (tmp_path / "home" / ".ssh" / "known_hosts").exists(), "the user's file is only read"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("git@github.com:me/lab.git", "prints its public half and where to add it as a **read-only**"),
        ("https://github.com/me/lab.git", "Export `HOMELAB_GIT_TOKEN` with a read-only access token"),
    ],
)
def test_the_generated_readme_explains_private_access(example_homelab: Homelab, url: str, says: str) -> None:
    readme = render_all(private(example_homelab, url), ["docs"])["README.md"]
    assert says in readme
    assert "### ArgoCD's access to this repository" not in render_all(example_homelab, ["docs"])["README.md"]


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("git@github.com:me/lab.git", "github.com"),
        ("ssh://git@ssh.github.com:443/me/lab.git", "[ssh.github.com]:443"),
        ("ssh://git@GitLab.com:22/me/lab.git", "gitlab.com"),
        ("ssh://git@git.home.lan:2222/me/lab.git", "[git.home.lan]:2222"),
    ],
)
def test_known_hosts_names(url: str, name: str) -> None:
    assert ra.known_hosts_name(url) == name


def test_argocds_trusted_hosts_are_the_pinned_charts_defaults() -> None:
    """The list in model/repo_credentials.py must be what the pinned argo-cd chart trusts."""
    from ruamel.yaml import YAML

    from homelabeazy.model.catalog.argocd import CHART
    from tests.conftest import SHARED

    charts = Path(os.environ.get("HOMELAB_CHARTS", SHARED / "charts"))
    values = charts / f"{CHART.name}-{CHART.version}" / "values.yaml"
    if not values.exists():
        require_tool(f"{values} not available (set HOMELAB_CHARTS to the chart cache)")
    known = YAML(typ="safe").load(values.read_text())["configs"]["ssh"]["knownHosts"]
    hosts = {line.split()[0] for line in known.splitlines() if line.strip() and not line.startswith("#")}
    assert hosts == ra.ARGOCD_KNOWN_SSH_HOSTS
