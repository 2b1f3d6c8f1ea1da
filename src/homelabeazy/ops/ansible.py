"""The ansible adapter: runs a playbook of the rendered ansible/ folder with ansible-runner.

Each finished task on each host is reported to a progress callback as it happens; the play recap
comes back as per-host counts (a re-run that changes nothing has `changed == 0` everywhere); a
failed run becomes one `ExternalSystemError("ansible", ...)` listing host, task and message of
every failure.

Secrets (the K3s join token) reach ansible-playbook only through its environment: ansible-runner
puts extra vars on the command line and would write env files to disk, so secrets never go there
(`suppress_env_files`). ansible-runner still records the process environment in its `command`
artifact (a 0600 file): that lives in the runner's private data dir, a temporary 0700 directory
removed when the run ends, success or failure. The tasks that handle secrets are `no_log`, and
every message we pass on is redacted against the secret values we were given.

Nothing of a run outlives it: ansible-playbook's workers `setsid()` into sessions of their own, so
when ansible-runner kills ansible-playbook's process group (Ctrl-C, a timeout) they would keep
running their task. Every process of a run carries a mark in its environment, and whatever still
carries it when the run ends is killed (Linux: found through /proc).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.ops.tools import find_tool

SYSTEM = "ansible"
INSTALL_HINT = "install Ansible (`pip install 'ansible>=12'`) so ansible-playbook is on PATH"

_STATUS_BY_EVENT = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}


@dataclass(frozen=True)
class TaskResult:
    """One task finished on one host: what the progress callback receives."""

    host: str
    task: str
    status: str
    """ok, changed, failed, unreachable, skipped (failed with ignore_errors counts as ok)."""


ProgressCallback = Callable[[TaskResult], None]


@dataclass(frozen=True)
class HostStats:
    """One host's line of the play recap."""

    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class Failure:
    """A failed task: where, which, and what Ansible said."""

    host: str
    task: str
    message: str

    def format(self) -> str:
        """`host: task: message`, one line."""
        return f"{self.host}: {self.task}: {self.message}"


class PlaybookFailed(ExternalSystemError):
    """A playbook run failed on one or more hosts; `failures` says where (in the order they came)."""

    def __init__(self, action: str, answer: str, fix: str, failures: tuple[Failure, ...]) -> None:
        super().__init__(SYSTEM, action, answer, fix)
        self.failures = failures


@dataclass(frozen=True)
class PlaybookResult:
    """The outcome of a successful run."""

    playbook: str
    recap: Mapping[str, HostStats]

    @property
    def changed(self) -> int:
        """Changed tasks over all hosts; 0 means the run was a no-op."""
        return sum(stats.changed for stats in self.recap.values())


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def task_result(event: Mapping[str, Any]) -> TaskResult | None:
    """The task result an ansible-runner event reports, or None for other events."""
    status = _STATUS_BY_EVENT.get(str(event.get("event", "")))
    if status is None:
        return None
    data = event.get("event_data", {})
    res = data.get("res") or {}
    if status == "ok" and isinstance(res, Mapping) and res.get("changed"):
        status = "changed"
    if status == "failed" and data.get("ignore_errors"):
        status = "ok"
    return TaskResult(str(data.get("host", "?")), str(data.get("task", "?")), status)


def failure_of(event: Mapping[str, Any]) -> Failure | None:
    """The failure an event reports (failed or unreachable, not ignored), else None."""
    name = event.get("event")
    data = event.get("event_data", {})
    if name not in ("runner_on_failed", "runner_on_unreachable") or data.get("ignore_errors"):
        return None
    return Failure(str(data.get("host", "?")), str(data.get("task", "?")), _message(data.get("res")))


def _message(res: Any) -> str:
    """The most telling line of a failed task's result (loops report per item)."""
    if not isinstance(res, Mapping):
        return "no details"
    if res.get("censored"):
        return "details hidden (no_log task)"
    # A loop's own msg is only "One or more items failed": the first failed item says what.
    for item in res.get("results", []) or []:
        if isinstance(item, Mapping) and item.get("failed"):
            return _message(item)
    keys: tuple[str, ...] = ("msg", "stderr", "module_stderr", "stdout")
    if res.get("msg") == "non-zero return code" and res.get("stderr"):
        keys = ("stderr", "msg")  # a command that failed: what it printed says why, the msg does not
    for key in keys:
        value = res.get(key)
        if value:
            text = str(value).strip()
            return _telling_line(text) if key != "msg" else " ".join(text.split())
    return "no details"


def _telling_line(text: str) -> str:
    """The first line that is not a warning (kubectl drain warns about DaemonSet pods first)."""
    lines = [line for line in text.splitlines() if line.strip()]
    said = [line for line in lines if not line.lower().startswith("warning")]
    return (said or lines)[0]


def recap_of(stats: Mapping[str, Mapping[str, int]] | None) -> dict[str, HostStats]:
    """Per-host counts from ansible-runner's stats (`dark` is its name for unreachable)."""
    if not stats:
        return {}
    hosts: set[str] = set()
    for key in ("ok", "changed", "failures", "dark", "skipped", "processed"):
        hosts.update((stats.get(key) or {}).keys())

    def count(key: str, host: str) -> int:
        return int((stats.get(key) or {}).get(host, 0))

    return {
        host: HostStats(
            ok=count("ok", host),
            changed=count("changed", host),
            failed=count("failures", host),
            unreachable=count("dark", host),
            skipped=count("skipped", host),
        )
        for host in sorted(hosts)
    }


def ansible_playbook_binary() -> str:
    """ansible-playbook beside this Python (a virtualenv install), else from PATH (as preflight finds it)."""
    found = find_tool("ansible-playbook")
    if found is None:
        raise ExternalSystemError(SYSTEM, "finding ansible-playbook", "not installed", INSTALL_HINT)
    return found


RUN_MARK = "HOMELAB_ANSIBLE_RUN"
"""The environment variable that marks every process of one run (its value is unique to the run)."""


def _environment(secret_env: Mapping[str, str] | None, mark: str) -> dict[str, str]:
    """The secrets, the run's mark, and a PATH that finds our ansible-playbook first.

    ansible-runner only adds the playbook and its event callback when it runs `ansible-playbook`
    by name (a `binary` path switches it to raw mode), so the right one must win on PATH.
    """
    folder = str(Path(ansible_playbook_binary()).parent)
    path = os.pathsep.join([folder, os.environ.get("PATH", "")])
    return {**(secret_env or {}), RUN_MARK: mark, "PATH": path}


def marked_processes(mark: str, proc: Path = Path("/proc")) -> list[int]:
    """The pids of the live processes whose environment holds `RUN_MARK=mark` (none without /proc)."""
    needle = f"{RUN_MARK}={mark}".encode()
    found = []
    for entry in proc.glob("[0-9]*"):
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
    return found


def end_run_processes(mark: str, attempts: int = 20) -> None:
    """SIGKILL every process still carrying the run's mark, until none is left (each kill can
    free a child that forked meanwhile)."""
    for _ in range(attempts):
        pids = [pid for pid in marked_processes(mark) if pid != os.getpid()]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue
        time.sleep(0.05)


def run_playbook(
    ansible_dir: Path,
    playbook: str,
    *,
    inventory: Path | None = None,
    extravars: Mapping[str, Any] | None = None,
    secret_env: Mapping[str, str] | None = None,
    limit: str | None = None,
    progress: ProgressCallback | None = None,
    timeout: int | None = None,
    scratch: Path | None = None,
) -> PlaybookResult:
    """Run `playbook` from the rendered `ansible_dir` (its ansible.cfg applies).

    `inventory` defaults to the rendered inventory.yml. `extravars` must hold no secret (they end up
    on ansible-playbook's command line); secrets go in `secret_env` (e.g. HOMELAB_K3S_TOKEN).
    """
    import ansible_runner  # noqa: PLC0415 - heavy; only needed when a playbook actually runs

    # ansible-runner runs from project_dir: a relative inventory would silently match no host.
    ansible_dir = ansible_dir.resolve()
    if not (ansible_dir / playbook).is_file():
        raise UsageError(f"{ansible_dir / playbook} does not exist; run `homelab render` first")
    inventory = (inventory or ansible_dir / "inventory.yml").resolve()
    if not inventory.is_file():
        raise UsageError(f"{inventory} does not exist; run `homelab render` first")
    targeted = targeted_hosts(ansible_dir, playbook, inventory, limit)
    secrets = [value for value in (secret_env or {}).values() if value]
    failures: list[Failure] = []

    def on_event(event: Mapping[str, Any]) -> bool:
        failure = failure_of(event)
        if failure is not None:
            failures.append(failure)
        result = task_result(event)
        if result is not None and progress is not None:
            progress(result)
        return True

    if scratch is not None:
        sweep_scratch(scratch)
    mark = os.urandom(16).hex()
    with tempfile.TemporaryDirectory(prefix="homelab-ansible-", dir=scratch) as private:
        try:
            runner = ansible_runner.run(
                private_data_dir=private,
                project_dir=str(ansible_dir),
                playbook=playbook,
                inventory=str(inventory),
                extravars=dict(extravars or {}),
                envvars=_environment(secret_env, mark),
                limit=limit,
                event_handler=on_event,
                quiet=True,
                suppress_env_files=True,
                timeout=timeout,
            )
        finally:
            end_run_processes(mark)
        status, rc, stats = runner.status, runner.rc, runner.stats
        output = runner.stdout.read() if status != "successful" and not failures else ""

    if status == "canceled":
        # ansible-runner turns Ctrl-C into a cancelled run (it stops ansible-playbook and its
        # workers, and the private dir with the token is gone by now): an interruption, not a failure.
        raise KeyboardInterrupt
    if status != "successful" or rc != 0:
        raise PlaybookFailed(
            f"running {playbook}",
            redact(_failure_text(status, rc, failures, output), secrets),
            "fix the cause above and re-run; the playbooks are idempotent, finished hosts are no-ops",
            tuple(Failure(f.host, f.task, redact(f.message, secrets)) for f in failures),
        )
    recap = recap_of(stats)
    missed = sorted(set(targeted) - set(recap))
    if missed:  # a host the plays target never ran: never report that as done
        raise ExternalSystemError(
            SYSTEM,
            f"running {playbook}",
            f"{len(missed)} of the {len(targeted)} host(s) its plays target never ran: {', '.join(missed)}",
            "check the inventory and the plays' `hosts:` patterns, then re-run",
        )
    return PlaybookResult(playbook, recap)


def sweep_scratch(scratch: Path) -> None:
    """Create the 0700 folder of runner private dirs, removing any a killed run left behind.

    ansible-runner's private dir holds the `command` artifact, environment (the K3s token)
    included; a SIGKILL skips our cleanup, so the next run removes it before anything else.
    """
    scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(scratch, 0o700)
    for leftover in scratch.glob("homelab-ansible-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def parse_list_hosts(output: str) -> tuple[list[str], list[str]]:
    """`ansible-playbook --list-hosts` output -> (every host listed, plays that match no host).

    Each play prints `play #N (pattern): name\tTAGS: []` then `pattern: [...]` and
    `hosts (K):` followed by one host per line.
    """
    hosts: list[str] = []
    empty: list[str] = []
    play = ""
    expecting = 0
    for raw in output.splitlines():
        line = raw.strip()
        if line.startswith("play #"):
            play = line.split("\t")[0]
            expecting = 0
        elif line.startswith("hosts (") and line.endswith("):"):
            expecting = int(line[len("hosts (") : -2])
            if expecting == 0:
                empty.append(play)
        elif expecting and line:
            hosts.append(line)
            expecting -= 1
    return sorted(set(hosts)), empty


def targeted_hosts(ansible_dir: Path, playbook: str, inventory: Path, limit: str | None) -> list[str]:
    """The hosts the playbook's plays match in `inventory`, by ansible-playbook itself.

    A playbook matching no host succeeds having done nothing (a wrong inventory path leaves only
    the implicit localhost): that is refused here, before anything runs; after the run every host
    listed here must appear in the recap.
    """
    binary = ansible_playbook_binary()
    command = [binary, "--list-hosts", "-i", str(inventory), playbook, *(["--limit", limit] if limit else [])]
    done = _run_quick(binary, command, ansible_dir)
    if done.returncode != 0:
        lines = [" ".join(line.split()) for line in done.stderr.splitlines() if "ERROR" in line]
        raise ExternalSystemError(
            SYSTEM, f"listing the hosts of {playbook}", " ".join(lines[:4]) or f"exit code {done.returncode}"
        )
    hosts, _ = parse_list_hosts(done.stdout)
    if not hosts:  # one empty play is fine (no agents: `k3s_agents` is empty); all empty is not
        raise ExternalSystemError(
            SYSTEM,
            f"matching the hosts of {playbook} in {inventory}",
            "no play matches any host (ansible-playbook would succeed having configured nothing)",
            "check the inventory (re-render it with `homelab render`) and the plays' `hosts:` patterns",
        )
    return hosts


def _failure_text(status: str, rc: int | None, failures: list[Failure], output: str = "") -> str:
    """Failures as `host: task: message`; without any (a syntax error, a bad inventory), the
    ERROR lines ansible-playbook printed."""
    if failures:
        return "; ".join(f.format() for f in failures)
    if status == "timeout":
        return "timed out"
    errors = [" ".join(line.split()) for line in output.splitlines() if "ERROR" in line]
    detail = ": " + " ".join(errors) if errors else ""
    return f"ansible-playbook ended with status {status} (exit code {rc}) before any task ran{detail}"


def _run_quick(binary: str, command: list[str], ansible_dir: Path) -> subprocess.CompletedProcess[str]:
    """A short ansible-playbook call (host listing, syntax check) from `ansible_dir`, with the
    binary's own folder first on PATH so its ansible-galaxy and modules are the ones found."""
    return subprocess.run(
        command,
        cwd=ansible_dir,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": os.pathsep.join([str(Path(binary).parent), os.environ.get("PATH", "")])},
        timeout=300,
        check=False,
    )


def syntax_check(ansible_dir: Path, playbook: str) -> str | None:
    """`ansible-playbook --syntax-check` of one playbook: None when clean, else what it said."""
    try:
        binary = ansible_playbook_binary()
    except ExternalSystemError as exc:
        return str(exc)
    done = _run_quick(binary, [binary, "--syntax-check", playbook], ansible_dir)
    if done.returncode == 0:
        return None
    lines = [" ".join(line.split()) for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    return " ".join(lines[:6]) or f"exit code {done.returncode}"
