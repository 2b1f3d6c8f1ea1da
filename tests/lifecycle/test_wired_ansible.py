"""The configure stage runs Ansible through ops/ansible.py (ansible-runner): a real local run of a
stand-in site.yml through `homelab up --only configure`, and the real rendered paths with a
recording runner."""

from __future__ import annotations

import contextlib
import stat
from pathlib import Path
from typing import Any

import pytest

from homelabeazy.config.starter import example_text
from homelabeazy.lifecycle import runners
from homelabeazy.lifecycle.ansible_runner import AnsibleAdapter
from homelabeazy.lifecycle.journal import load_journal
from homelabeazy.lifecycle.stages import StageContext
from homelabeazy.ops.ansible import HostStats, PlaybookResult
from homelabeazy.render import render_all, writer
from homelabeazy.render.ansible import TOKEN_ENV

# Stands in for the rendered site.yml on this machine (no VMs to configure): it checks the join
# token arrived through the environment and writes the kubeconfig where homelab asked, as the
# real playbook's last play does.
SITE = """\
- name: Stand-in for the rendered site.yml
  hosts: all
  gather_facts: false
  tasks:
    - name: The join token arrives through the environment
      ansible.builtin.assert:
        that: lookup('ansible.builtin.env', 'HOMELAB_K3S_TOKEN') | length == 64
        quiet: true
    - name: Write the kubeconfig where homelab asked
      ansible.builtin.copy:
        content: "apiVersion: v1\\nkind: Config\\n"
        dest: "{{ homelab_kubeconfig_path }}"
        mode: "0600"
"""
FAILING = """\
- name: A playbook that fails
  hosts: all
  gather_facts: false
  tasks:
    - name: Install K3s
      ansible.builtin.fail:
        msg: checksum mismatch for k3s
"""
INVENTORY = """\
all:
  hosts:
    k3s-server-1:
      ansible_connection: local
      ansible_python_interpreter: "{{ ansible_playbook_python }}"
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOMELAB_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    folder = tmp_path / "repo"
    (folder / "ansible").mkdir(parents=True)
    (folder / "homelab.yaml").write_text(example_text())
    (folder / "ansible" / "site.yml").write_text(SITE)
    (folder / "ansible" / "inventory.yml").write_text(INVENTORY)
    return folder


@pytest.mark.integration
def test_up_only_configure_runs_site_yml_and_keeps_the_kubeconfig_private(
    cli, repo: Path, tmp_path: Path
) -> None:
    result = cli("up", "--only", "configure", "--yes", str(repo / "homelab.yaml"))
    assert result.code == 0, result.err
    kubeconfig = tmp_path / "state" / "homelab" / "kubeconfig"
    token_file = tmp_path / "state" / "homelab" / "k3s-token"
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert len(token) == 64
    assert "site.yml: 1 host(s), 1 changed; kubeconfig at" in result.err
    again = cli("up", "--only", "configure", "--yes", str(repo / "homelab.yaml"))
    assert again.code == 0, again.err
    assert "site.yml: 1 host(s), no changes" in again.err
    assert token_file.read_text().strip() == token, "the join token is made once"
    assert token not in result.out + result.err + again.out + again.err
    record = load_journal(repo).get("configure")
    assert record is not None
    assert record.result == "ok"


@pytest.mark.integration
def test_a_failed_task_is_a_stage_failure_naming_host_and_task(cli, repo: Path) -> None:
    (repo / "ansible" / "site.yml").write_text(FAILING)
    result = cli("up", "--only", "configure", "--yes", str(repo / "homelab.yaml"))
    assert result.code == 1
    assert "stage configure failed" in result.err
    assert "k3s-server-1: Install K3s: checksum mismatch for k3s" in result.err
    assert "Traceback" not in result.err


def test_configure_uses_the_rendered_playbook_inventory_and_private_paths(
    example_homelab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "given-join-token")
    repo = tmp_path / "repo"
    writer.apply(repo, writer.plan(repo, render_all(example_homelab)))
    kubeconfig = tmp_path / "private" / "kubeconfig"
    calls: list[tuple[Any, ...]] = []

    def fake_run(ansible_dir: Path, playbook: str, **options: Any) -> PlaybookResult:
        calls.append((ansible_dir, playbook, options))
        Path(options["extravars"]["homelab_kubeconfig_path"]).write_text("apiVersion: v1\n")
        return PlaybookResult(playbook, {"k3s-server-1": HostStats(ok=3)})

    adapter = AnsibleAdapter(kubeconfig, tmp_path / "private" / "k3s-token", run_playbook=fake_run)
    stage = runners.ConfigureStage(adapter, kubeconfig=lambda _h: kubeconfig)
    summary = stage.run(StageContext(repo, example_homelab))
    [(ansible_dir, playbook, options)] = calls
    assert (ansible_dir, playbook) == (repo / "ansible", "site.yml")
    assert (ansible_dir / playbook).is_file()
    assert options["inventory"] == repo / "ansible" / "inventory.yml"
    assert options["inventory"].is_file()
    assert options["extravars"] == {"homelab_kubeconfig_path": str(kubeconfig)}
    assert options["secret_env"] == {TOKEN_ENV: "given-join-token"}
    assert not (tmp_path / "private" / "k3s-token").exists(), "a given token is not stored"
    monkeypatch.setenv("HOMELAB_ETCD_S3_ACCESS_KEY", "etcd-access")
    monkeypatch.setenv("HOMELAB_ETCD_S3_SECRET_KEY", "etcd-secret")
    stage.run(StageContext(repo, example_homelab))
    assert calls[-1][2]["secret_env"] == {
        TOKEN_ENV: "given-join-token",
        "HOMELAB_ETCD_S3_ACCESS_KEY": "etcd-access",
        "HOMELAB_ETCD_S3_SECRET_KEY": "etcd-secret",
    }
    assert "etcd-secret" not in str(calls[-1][2]["extravars"])
    assert summary == f"site.yml: 1 host(s), no changes; kubeconfig at {kubeconfig}"


# --- issue 14, class 2: `up` from inside the repo, and plays that match no host -----------------------


@pytest.mark.integration
def test_up_from_inside_the_repo_with_a_relative_config_configures_the_hosts(
    cli, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ansible-runner runs from ansible/: a relative inventory path once matched no host and 'succeeded'."""
    monkeypatch.chdir(repo)
    result = cli("up", "--only", "configure", "--yes", "homelab.yaml")
    assert result.code == 0, result.err
    assert "site.yml: 1 host(s), 1 changed" in result.err
    assert "1 stage(s) run, 7 not selected" in result.err  # not "already done": they never ran


@pytest.mark.integration
@pytest.mark.parametrize("hosts", ["k3s_cluster", "nosuchgroup"])
def test_a_playbook_matching_no_host_is_a_failure_not_ok(
    cli, repo: Path, monkeypatch: pytest.MonkeyPatch, hosts: str
) -> None:
    (repo / "ansible" / "site.yml").write_text(SITE.replace("hosts: all", f"hosts: {hosts}"))
    kubeconfig = repo.parent / "state" / "homelab" / "kubeconfig"
    kubeconfig.parent.mkdir(parents=True)
    kubeconfig.write_text("apiVersion: v1\n")  # an old kubeconfig must not make the stage look done
    monkeypatch.chdir(repo)
    result = cli("up", "--only", "configure", "--yes", "homelab.yaml")
    assert result.code == 1, result.err
    assert "no play matches any host" in result.err
    record = load_journal(repo).get("configure")
    assert record is not None
    assert record.result == "failed"


def test_list_hosts_output_is_parsed() -> None:
    from homelabeazy.ops.ansible import parse_list_hosts

    output = (
        "\nplaybook: site.yml\n\n  play #1 (k3s_cluster): Prepare\tTAGS: []\n    pattern: ['k3s_cluster']\n"
        "    hosts (2):\n      a\n      b\n\n  play #2 (k3s_agents): Join\tTAGS: []\n"
        "    pattern: ['k3s_agents']\n    hosts (0):\n"
    )
    assert parse_list_hosts(output) == (["a", "b"], ["play #2 (k3s_agents): Join"])


SLOW = """\
- name: A long configure
  hosts: all
  gather_facts: false
  tasks:
    - name: Say we started
      ansible.builtin.copy:
        content: "started\\n"
        dest: "{{ homelab_kubeconfig_path }}.started"
        mode: "0600"
    - name: Take a while
      ansible.builtin.pause:
        seconds: 120
"""


def _processes_marked(mark: str) -> list[str]:
    """Command lines of the live processes whose environment holds `HOMELAB_TEST_MARK=mark`, in
    any session or process group (Ansible's workers `setsid()` into their own)."""
    needle = f"HOMELAB_TEST_MARK={mark}".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            if (entry / "stat").read_text().rpartition(")")[2].split()[0] in ("Z", "X"):
                continue  # exited, only not reaped yet
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name}: {command}")
        except (OSError, IndexError):
            continue
    return found


@pytest.mark.integration
def test_ctrl_c_during_configure_is_an_interruption_exit_130(repo: Path, tmp_path: Path) -> None:
    """SIGINT while ansible-playbook runs: exit 130, journal `interrupted`, no ansible left, no token kept.

    "No ansible left" in any session: ansible-runner SIGKILLs ansible-playbook's process group,
    but the worker running the 120 s pause has `setsid()`ed out of it. Everything the run started
    inherits this test's mark in its environment; none of it may be alive once homelab has exited."""
    import os
    import secrets
    import signal
    import subprocess
    import sys
    import time

    import homelabeazy

    (repo / "ansible" / "site.yml").write_text(SLOW)
    src = str(Path(homelabeazy.__file__).resolve().parents[1])
    mark = secrets.token_hex(8)
    env = {
        **os.environ,
        "PYTHONPATH": src,
        "HOMELAB_STATE_HOME": str(tmp_path / "state"),
        "HOMELAB_TEST_MARK": mark,
    }
    env.pop(TOKEN_ENV, None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "homelabeazy",
            "up",
            "--only",
            "configure",
            "--yes",
            str(repo / "homelab.yaml"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        started = tmp_path / "state" / "homelab" / "kubeconfig.started"
        deadline = time.monotonic() + 120
        while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert started.exists(), proc.communicate(timeout=30)
        assert any("ansible-playbook" in line for line in _processes_marked(mark)), (
            "the mark is not inherited"
        )
        time.sleep(1)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
        try:
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        assert proc.returncode == 130, err
        record = load_journal(repo).get("configure")
        assert record is not None
        assert record.result == "interrupted", record
        assert _processes_marked(mark) == [], "ansible-playbook processes outlived the run"
        runs = tmp_path / "state" / "homelab" / "ansible-runs"
        assert runs.is_dir()
        assert list(runs.iterdir()) == [], "the runner's private dir (token in its artifacts) was kept"
    finally:
        for line in _processes_marked(mark):  # whatever the outcome, none outlives this test
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)


def test_a_killed_runs_private_dir_is_swept_before_the_next(tmp_path: Path) -> None:
    """SIGKILL skips cleanup: the runner dir (its `command` artifact holds the token) goes next run."""
    from homelabeazy.ops.ansible import sweep_scratch

    scratch = tmp_path / "state" / "ansible-runs"
    left = scratch / "homelab-ansible-abc" / "artifacts" / "x"
    left.mkdir(parents=True)
    (left / "command").write_text('{"env": {"HOMELAB_K3S_TOKEN": "secret"}}')
    (scratch / "unrelated").mkdir()
    sweep_scratch(scratch)
    assert not (scratch / "homelab-ansible-abc").exists()
    assert (scratch / "unrelated").exists()
    assert stat.S_IMODE(scratch.stat().st_mode) == 0o700
