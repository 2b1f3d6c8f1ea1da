"""The real stage runners: preflight with real tools and a real git remote, wait against a real
TCP banner, bootstrap and sync against the fake Kubernetes API, and the unwired seams."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from homelabeazy.errors import ExternalSystemError
from homelabeazy.lifecycle import runners as r
from homelabeazy.lifecycle.doctor import Row as DoctorRow
from homelabeazy.lifecycle.doctor import decide, up_tool_names
from homelabeazy.lifecycle.proxmox_preflight import missing_privileges
from homelabeazy.lifecycle.stages import StageContext
from homelabeazy.model.proxmox_privileges import required_privileges
from homelabeazy.ops import ssh, tools
from homelabeazy.ops.doctor_facts import CollectionsFact, Facts, ToolFact, gather
from homelabeazy.ops.kube import KubeAdapter
from homelabeazy.ops.probes import Row
from homelabeazy.ops.proxmox import ApiToken, ProxmoxClient
from homelabeazy.render import render_all, writer
from homelabeazy.toolchain import ANSIBLE_COLLECTIONS
from tests.lifecycle import pve
from tests.support.fake_kube import FakeKubeServer
from tests.support.fake_proxmox import FakeProxmox
from tests.support.integration import need_binary, require_tool


def pve_reader(server: FakeProxmox, homelab) -> Callable[[], ProxmoxClient]:
    """Preflight's Proxmox factory, reading the shared fake with the model's token."""
    token = ApiToken.parse(pve.token(homelab), "test")
    return lambda: ProxmoxClient(server.url, token, ca_cert=server.ca_file, timeout=3)


def up_tools(**versions: tuple[int, ...] | None) -> Callable[[], list[DoctorRow]]:
    """Preflight's tool rows from stand-in facts: each tool at 9.9 unless given (None: missing)."""
    found = {name: versions.get(name.replace("-", "_"), (9, 9)) for name in up_tool_names()}
    facts = Facts(
        tools={n: ToolFact(n, "/x" if v else None, v) for n, v in found.items()},
        collections=CollectionsFact({c.name: (c.version,) for c in ANSIBLE_COLLECTIONS}),
    )
    return lambda: decide(facts, for_up=True)


@pytest.fixture
def bare_remote(tmp_path: Path) -> str:
    """A real git remote (a bare repo on disk) with a `main` branch."""
    git = need_binary("git", "apt-get install git")
    work, bare = tmp_path / "work", tmp_path / "remote.git"
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    subprocess.run([git, "init", "-q", "-b", "main", str(work)], check=True, env=env)
    (work / "README.md").write_text("x\n")
    subprocess.run([git, "-C", str(work), "add", "."], check=True, env=env)
    subprocess.run([git, "-C", str(work), "commit", "-qm", "init"], check=True, env=env)
    subprocess.run([git, "clone", "-q", "--bare", str(work), str(bare)], check=True, env=env)
    return f"file://{bare}"


@pytest.fixture
def rendered(tmp_path: Path, example_homelab) -> Path:
    repo = tmp_path / "repo"
    files = render_all(example_homelab)
    writer.apply(repo, writer.plan(repo, files))
    return repo


@pytest.mark.integration
def test_preflight_passes_with_real_tools_remote_and_current_repo(
    example_homelab, rendered: Path, bare_remote: str, fake_proxmox
) -> None:
    need_binary("terraform", "install terraform >= 1.6")
    if tools.find_tool("ansible-playbook") is None:
        require_tool("ansible-playbook not found (pip install ansible)")
    stage = r.PreflightStage(
        tools=lambda: decide(gather(up_tool_names(), proxmox=False), for_up=True),
        proxmox=pve_reader(
            fake_proxmox(pve.estate_for(example_homelab), token=pve.token(example_homelab)), example_homelab
        ),
        ls_remote=lambda url, rev: tools.git_ls_remote(bare_remote, rev),
        render_current=r.render_current,
    )
    summary = stage.run(StageContext(rendered, example_homelab))
    assert summary.startswith("terraform 1.")
    assert "ansible-playbook 2." in summary
    assert summary.endswith("repo current; main on the remote")


@pytest.mark.fake  # the fake Proxmox API; git ls-remote reads a bare repo in tmp_path
def test_preflight_reports_every_problem_at_once(
    example_homelab, rendered: Path, bare_remote: str, fake_proxmox
) -> None:
    lacking = set(required_privileges(9)) - {"VM.Allocate", "SDN.Use"}
    server = fake_proxmox(
        pve.estate_for(example_homelab, privileges=lacking), token=pve.token(example_homelab)
    )
    (rendered / "docs").mkdir(exist_ok=True)
    for path in sorted(rendered.rglob("*.md"))[:1]:
        path.write_text("edited by hand\n")
    stage = r.PreflightStage(
        tools=up_tools(terraform=None, ansible_playbook=(2, 10)),
        proxmox=pve_reader(server, example_homelab),
        ls_remote=lambda url, rev: tools.git_ls_remote(bare_remote, "no-such-branch"),
        render_current=r.render_current,
    )
    with pytest.raises(ExternalSystemError) as info:
        stage.run(StageContext(rendered, example_homelab))
    text = str(info.value)
    assert "terraform: missing (not on PATH); needs >= 1.6: install Terraform" in text
    assert "ansible-playbook: too old (2.10 at /x); needs >= 2.16: upgrade: pip install" in text
    assert "lacks SDN.Use, VM.Allocate on /" in text
    assert "out of date with homelab.yaml" in text
    assert "git: ls-remote" in text
    assert "no such branch or tag" in text


@pytest.mark.integration
def test_git_ls_remote_missing_remote(tmp_path: Path) -> None:
    need_binary("git", "apt-get install git")
    with pytest.raises(ExternalSystemError, match=r"check gitops\.repo_url"):
        tools.git_ls_remote(f"file://{tmp_path}/nothing.git", "main")


def test_parse_version() -> None:
    assert tools.parse_version("ansible-playbook [core 2.19.14]\n  config file") == (2, 19, 14)
    assert tools.parse_version("no digits") is None


@contextmanager
def banner_server(banner: bytes) -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            conn.sendall(banner)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        sock.close()


def test_ssh_banner_check_against_loopback_servers() -> None:
    with banner_server(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n") as port:
        assert ssh.ssh_banner_ok("127.0.0.1", port, 2)
    with banner_server(b"HTTP/1.1 400 Bad Request\r\n") as port:
        assert not ssh.ssh_banner_ok("127.0.0.1", port, 2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    assert not ssh.ssh_banner_ok("127.0.0.1", closed, 1)


def test_ssh_argv_never_prompts() -> None:
    argv = ssh.ssh_argv("homelab", "10.10.10.20", 22, "test -f x", 5)
    assert argv[:3] == ["ssh", "-o", "BatchMode=yes"]
    assert argv[-2:] == ["homelab@10.10.10.20", "test -f x"]


def test_wait_stage_polls_until_every_node_is_ready(example_homelab, tmp_path: Path) -> None:
    """SSH banners are read for real on loopback; cloud-init finishes on some nodes two polls late."""
    names = [n.name for n in example_homelab.nodes]
    late = {names[0], names[-1]}
    polls = {"n": 0}
    with banner_server(b"SSH-2.0-test\r\n") as port:
        stage = r.WaitStage(
            # every node's "address" is its name; the banner itself is read from the loopback server
            ssh_up=lambda host, p: ssh.ssh_banner_ok("127.0.0.1", p, 2),
            booted=lambda user, host, p: host not in late or polls["n"] >= 2,
            address=lambda node: (node.name, port),
            sleep=lambda s: polls.__setitem__("n", polls["n"] + 1),
        )
        progress: list[str] = []
        summary = stage.run(StageContext(tmp_path, example_homelab, progress.append))
    assert summary == f"{len(names)} node(s) answer SSH, cloud-init finished"
    assert polls["n"] == 2
    assert progress == [f"{len(names) - 2}/{len(names)} nodes ready"] * 2 + [
        f"{len(names)}/{len(names)} nodes ready"
    ]


def test_wait_stage_times_out_naming_laggards(example_homelab, tmp_path: Path) -> None:
    ticks = iter(range(1000))
    stage = r.WaitStage(
        ssh_up=lambda host, port: host.endswith(".20"),
        booted=lambda user, host, port: False,
        timeout=3,
        sleep=lambda s: None,
        clock=lambda: float(next(ticks)),
    )
    with pytest.raises(ExternalSystemError) as info:
        stage.run(StageContext(tmp_path, example_homelab))
    text = str(info.value)
    first = example_homelab.nodes[0]
    assert f"{first.name} (cloud-init still running)" in text
    assert f"{example_homelab.nodes[1].name} (no SSH answer)" in text


BOOTSTRAP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: root
  namespace: argocd
spec:
  project: default
---
apiVersion: v1
kind: Namespace
metadata:
  name: argocd
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: argocd-server
spec: {}
"""


@pytest.mark.fake
def test_bootstrap_server_side_applies_in_dependency_order(example_homelab, tmp_path: Path) -> None:
    folder = tmp_path / "kubernetes" / "bootstrap"
    folder.mkdir(parents=True)
    (folder / "argocd.yaml").write_text(BOOTSTRAP)
    with FakeKubeServer() as kube:
        adapter = KubeAdapter(kube.kubeconfig(tmp_path), timeout=3)
        stage = r.BootstrapStage(kube=lambda: adapter)
        ctx = StageContext(tmp_path, example_homelab)
        assert stage.describe(ctx).startswith("server-side apply 3 manifest(s)")
        assert stage.run(ctx) == "applied 3 manifest(s) (server-side)"
        assert stage.run(ctx) == "applied 3 manifest(s) (server-side)"  # idempotent: same objects
    paths = [p for p, _, _ in kube.applied[:3]]
    assert paths == [
        "/api/v1/namespaces/argocd",
        "/apis/apps/v1/namespaces/argocd/deployments/argocd-server",
        "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/root",
    ]
    assert all(q == "fieldManager=homelabeazy&force=true" for _, _, q in kube.applied)
    assert len(kube.objects) == 3


HELMCHART_AND_ROOT = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: root
spec: {}
---
apiVersion: helm.cattle.io/v1
kind: HelmChart
metadata:
  name: argocd
  namespace: kube-system
spec: {chart: argo-cd}
"""


@pytest.mark.fake
def test_bootstrap_waits_for_argocd_before_applying_applications(example_homelab, tmp_path: Path) -> None:
    folder = tmp_path / "kubernetes" / "bootstrap"
    folder.mkdir(parents=True)
    (folder / "install.yaml").write_text(HELMCHART_AND_ROOT)
    polls: list[float] = []
    with FakeKubeServer() as kube:
        kube.hidden.add("argoproj.io/v1alpha1")

        def sleep(seconds: float) -> None:  # helm-controller finishes after the second poll
            polls.append(seconds)
            if len(polls) == 2:
                kube.hidden.discard("argoproj.io/v1alpha1")

        adapter = KubeAdapter(kube.kubeconfig(tmp_path), timeout=3)
        stage = r.BootstrapStage(kube=lambda: adapter, interval=0.5, sleep=sleep)
        assert stage.run(StageContext(tmp_path, example_homelab)) == "applied 2 manifest(s) (server-side)"
    assert polls == [0.5, 0.5]
    assert [p for p, _, _ in kube.applied] == [
        "/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/argocd",
        "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/root",
    ]


@pytest.mark.fake
def test_bootstrap_names_the_helm_job_when_argocd_never_comes(example_homelab, tmp_path: Path) -> None:
    folder = tmp_path / "kubernetes" / "bootstrap"
    folder.mkdir(parents=True)
    (folder / "install.yaml").write_text(HELMCHART_AND_ROOT)
    now = [0.0]
    with FakeKubeServer() as kube:
        kube.hidden.add("argoproj.io/v1alpha1")
        adapter = KubeAdapter(kube.kubeconfig(tmp_path), timeout=3)
        stage = r.BootstrapStage(
            kube=lambda: adapter,
            timeout=30,
            interval=10,
            clock=lambda: now[0],
            sleep=lambda s: now.__setitem__(0, now[0] + s),
        )
        with pytest.raises(ExternalSystemError, match=r"Application API.*job/helm-install-argocd"):
            stage.run(StageContext(tmp_path, example_homelab))
    assert [p for p, _, _ in kube.applied] == [
        "/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/argocd"
    ]


def test_bootstrap_without_manifests_fails_clearly(example_homelab, tmp_path: Path) -> None:
    stage = r.BootstrapStage(kube=lambda: pytest.fail("must not connect"))
    with pytest.raises(ExternalSystemError, match=r"no manifests found.*homelab render"):
        stage.run(StageContext(tmp_path, example_homelab))


@pytest.mark.fake
def test_sync_waits_for_applications_with_live_progress(example_homelab, tmp_path: Path) -> None:
    apps = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications"

    def app(name: str, sync: str, health: str) -> dict:
        return {
            "metadata": {"name": name},
            "status": {"sync": {"status": sync}, "health": {"status": health}},
        }

    with FakeKubeServer() as kube:
        kube.put(apps, app("traefik", "Synced", "Healthy"))
        kube.put(apps, app("vault", "OutOfSync", "Missing"))
        adapter = KubeAdapter(kube.kubeconfig(tmp_path), timeout=3)

        def sleep(_s: float) -> None:  # ArgoCD makes progress between polls
            kube.put(apps, app("vault", "Synced", "Healthy"))

        progress: list[str] = []
        stage = r.SyncStage(kube=lambda: adapter, sleep=sleep)
        assert (
            stage.run(StageContext(tmp_path, example_homelab, progress.append))
            == "2 Application(s) Synced and Healthy"
        )
    assert progress == ["1/2 Synced+Healthy; waiting: vault (OutOfSync, Missing)", "2/2 Synced+Healthy"]


@pytest.mark.fake
def test_sync_times_out_naming_pending_applications(example_homelab, tmp_path: Path) -> None:
    with FakeKubeServer() as kube:
        adapter = KubeAdapter(kube.kubeconfig(tmp_path), timeout=3)
        ticks = iter(range(100))
        stage = r.SyncStage(
            kube=lambda: adapter, timeout=2, sleep=lambda s: None, clock=lambda: float(next(ticks))
        )
        with pytest.raises(ExternalSystemError, match="no Applications exist"):
            stage.run(StageContext(tmp_path, example_homelab))


def test_configure_locks_down_the_fetched_kubeconfig(example_homelab, tmp_path: Path) -> None:
    target = tmp_path / "state" / "kubeconfig"

    class Ansible:
        def run(self, playbook: Path, inventory: Path, progress: r.Progress = r.quiet) -> str:
            assert playbook.name == "site.yml"
            assert inventory.name == "inventory.yml"
            target.parent.mkdir(parents=True)
            target.write_text("apiVersion: v1\n")
            target.chmod(0o644)
            return "ok=40 changed=3"

    stage = r.ConfigureStage(ansible=Ansible(), kubeconfig=lambda h: target)
    assert stage.run(StageContext(tmp_path, example_homelab)) == f"ok=40 changed=3; kubeconfig at {target}"
    assert target.stat().st_mode & 0o777 == 0o600


def test_kubeconfig_path_is_outside_the_repo(
    example_homelab, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOMELAB_STATE_HOME", str(tmp_path))
    assert r.kubeconfig_path(example_homelab) == tmp_path / "homelab" / "kubeconfig"


def test_unwired_seams_fail_and_say_so(tmp_path: Path) -> None:
    with pytest.raises(ExternalSystemError, match="no terraform adapter is wired"):
        r.UnwiredAdapter("terraform").apply(tmp_path)
    with pytest.raises(ExternalSystemError, match="no ansible adapter is wired"):
        r.UnwiredAdapter("ansible").run(tmp_path / "site.yml", tmp_path / "inventory.yml")
    with pytest.raises(ExternalSystemError, match="no secrets adapter is wired"):
        r.UnwiredAdapter("secrets").bootstrap()


def test_verify_fails_on_unhealthy_rows(example_homelab, tmp_path: Path) -> None:
    ok = r.VerifyStage(
        collect=lambda h: [Row("vault", "vault", "ok", "fine"), Row("ldap", "d", "skipped", "")]
    )
    assert ok.run(StageContext(tmp_path, example_homelab)) == "2 check(s) healthy"
    bad = r.VerifyStage(collect=lambda h: [Row("vault", "vault", "down", "sealed")])
    with pytest.raises(ExternalSystemError, match="vault vault: sealed"):
        bad.run(StageContext(tmp_path, example_homelab))


def test_verify_reports_missing_backups_without_failing(example_homelab, tmp_path: Path) -> None:
    """Right after `up` no scheduled backup has run yet: the backup rows cannot fail the stage."""
    rows = [Row("vault", "vault", "ok", "fine"), Row("backup", "vault-raft", "down", "no complete backup")]
    stage = r.VerifyStage(collect=lambda h: rows, later=frozenset({"backup"}))
    assert (
        stage.run(StageContext(tmp_path, example_homelab)) == "1 check(s) healthy; not yet: backup vault-raft"
    )
    strict = r.VerifyStage(collect=lambda h: rows)
    with pytest.raises(ExternalSystemError, match="backup vault-raft: no complete backup"):
        strict.run(StageContext(tmp_path, example_homelab))


def test_required_privileges_exist_in_the_proxmox_api_description() -> None:
    """The 9.x set against the 9.1 API description; 8.x differs only by the guest-agent privilege
    that 9.0 dropped (VM.Monitor, absent from the 9.1 description)."""
    from tests.conftest import SHARED_SCHEMAS
    from tests.support.integration import require_tool

    path = SHARED_SCHEMAS / "proxmox" / "pve-apidata.json"
    if not path.exists():
        require_tool(f"{path} not available (set HOMELAB_SCHEMAS)")
    text = path.read_text()
    nine = required_privileges(9)
    assert [p for p in nine if f'"{p}"' not in text] == []
    assert '"VM.Monitor"' not in text
    assert set(required_privileges(8)) ^ set(nine) == {"VM.Monitor", "VM.GuestAgent.Audit"}
    assert missing_privileges({"/": set(nine) | {"Pool.Audit"}}, 9) == []
    assert missing_privileges({"/": set(nine)}, 8) == ["VM.Monitor"]
    assert missing_privileges({"/vms": set(nine)}, 9) == list(nine)


@pytest.mark.integration
def test_cloud_init_check_over_real_ssh(tmp_path: Path) -> None:
    from tests.lifecycle import servers

    sshd_bin = servers.find_binary("sshd")
    if sshd_bin is None or servers.find_binary("ssh") is None:
        require_tool("sshd/ssh not found (apt-get install openssh-server openssh-client)")
    assert sshd_bin is not None
    marker = tmp_path / "boot-finished"
    (tmp_path / "sshd").mkdir()
    with servers.sshd(sshd_bin, tmp_path / "sshd") as server:
        assert ssh.ssh_banner_ok("127.0.0.1", server.port, 3)
        check = lambda: ssh.cloud_init_finished(  # noqa: E731
            server.user, "127.0.0.1", server.port, 5, marker=str(marker), options=server.options
        )
        assert not check()  # logged in, but cloud-init has not finished
        marker.write_text("")
        assert check()
        # A key the server does not accept: BatchMode makes ssh fail instead of prompting.
        other = [
            "-i",
            str(tmp_path / "nokey"),
            "-o",
            f"UserKnownHostsFile={tmp_path / 'kh'}",
            "-o",
            "IdentitiesOnly=yes",
        ]
        assert not ssh.cloud_init_finished(
            server.user, "127.0.0.1", server.port, 5, marker=str(marker), options=other
        )


@pytest.mark.fake  # the fake Proxmox API; git ls-remote reads a bare repo in tmp_path
def test_preflight_counts_only_propagated_privileges(
    example_homelab, rendered: Path, bare_remote: str, fake_proxmox
) -> None:
    """Proxmox maps each privilege to its propagate flag: granted on / without it is not enough."""
    estate = pve.estate_for(example_homelab)
    estate.permissions["/"]["VM.Config.Cloudinit"] = 0
    server = fake_proxmox(estate, token=pve.token(example_homelab))
    stage = r.PreflightStage(
        tools=up_tools(),
        proxmox=pve_reader(server, example_homelab),
        ls_remote=lambda url, rev: tools.git_ls_remote(bare_remote, rev),
        render_current=r.render_current,
    )
    with pytest.raises(ExternalSystemError) as info:
        stage.run(StageContext(rendered, example_homelab))
    assert "lacks VM.Config.Cloudinit on / (granted with propagation)" in str(info.value)
    assert pve.SECRET not in str(info.value)
    assert [q.path for q in server.requests] == ["/version", "/access/permissions"]


@pytest.mark.fake  # the fake Proxmox API; git ls-remote reads a bare repo in tmp_path
def test_preflight_reports_a_rejected_token(
    example_homelab, rendered: Path, bare_remote: str, fake_proxmox
) -> None:
    server = fake_proxmox(pve.estate_for(example_homelab), token=pve.token(example_homelab))
    wrong = ApiToken(example_homelab.config.proxmox.token_id, "not-the-secret")
    stage = r.PreflightStage(
        tools=up_tools(),
        proxmox=lambda: ProxmoxClient(server.url, wrong, ca_cert=server.ca_file, timeout=3),
        ls_remote=lambda url, rev: tools.git_ls_remote(bare_remote, rev),
        render_current=r.render_current,
    )
    with pytest.raises(ExternalSystemError) as info:
        stage.run(StageContext(rendered, example_homelab))
    assert "Proxmox: GET /version (authentication) failed: HTTP 401" in str(info.value)
    assert "not-the-secret" not in str(info.value)


def test_preflight_lists_a_missing_collection() -> None:
    """`up` runs site.yml, which calls community.general: no collection, no configure stage."""
    rows = decide(
        Facts(
            tools={n: ToolFact(n, "/x", (9, 9)) for n in up_tool_names()},
            collections=CollectionsFact({"ansible.posix": ("2.1.0",)}),
        ),
        for_up=True,
    )
    assert [r.check for r in rows if r.level == "fail"] == ["collection community.general"]
    assert "helm" not in [r.check for r in rows]  # `up` does not run helm
