"""The stages of `homelab up` and the engine that runs them resumably.

Each stage is declared once, as data: its name, what it does, what it depends on (hashed into the
journal), and what makes a re-run a no-op. The work itself is done by a `StageRunner` injected by
the caller, so the engine is tested with fakes and the real adapters are plugged in by the CLI.

Which stages run is a pure decision (`plan_stages`) from the journal and the current input hashes:
- the first stage that has no good record, or whose inputs changed, runs, and so does every stage
  after it (a new VM must be configured, a re-configured cluster re-synced);
- `checks` stages (preflight, verify) only read the world, so they run every time and never make
  later stages due;
- `--only` runs one stage, `--from` runs a stage and everything after it, whatever the journal says.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol

from homelabeazy.errors import HomelabError, UsageError
from homelabeazy.lifecycle.inputs import StageInputs, inputs_hash
from homelabeazy.lifecycle.journal import (
    Journal,
    StageRecord,
    exclusive_run,
    load_journal,
    now,
    save_journal,
)
from homelabeazy.model import Homelab


@dataclass
class StageContext:
    """What a runner gets: the repo folder, the model, and a way to report live progress."""

    repo: Path
    homelab: Homelab
    progress: Callable[[str], None] = field(default=lambda _text: None)


class StageRunner(Protocol):
    """Does one stage's work. `run` returns a one-line summary or raises a HomelabError."""

    def describe(self, ctx: StageContext) -> str:
        """What `run` would do, without doing it (for --dry-run)."""
        ...

    def run(self, ctx: StageContext) -> str:
        """Do the work; idempotent, so re-running after success changes nothing."""
        ...


@dataclass(frozen=True)
class StageSpec:
    """The declaration of one stage."""

    name: str
    purpose: str
    inputs: StageInputs
    noop_when: str
    check: bool = False


def _nodes(h: Homelab) -> object:
    return [(n.name, n.vmid, n.host, str(n.ip)) for n in h.nodes]


def _secret_specs(h: Homelab) -> object:
    return [(s.path, s.keys, s.generate) for s in h.secrets]


def _repo_access(h: Homelab) -> object:
    g = h.config.gitops
    return (g.repo_url, g.private, g.token_env, g.token_username)


def _proxmox_and_git(h: Homelab) -> object:
    return {"proxmox": h.config.proxmox, "gitops": h.config.gitops}


STAGES: tuple[StageSpec, ...] = (
    StageSpec(
        "preflight",
        "check tools, the Proxmox version and token privileges, the rendered repo and the Git remote "
        "(as ArgoCD will read it)",
        StageInputs(model=(("proxmox+gitops", _proxmox_and_git),)),
        "it only reads the world, so it runs every time; for a private repository it creates "
        "ArgoCD's deploy key once, in the state folder, and reuses it afterwards",
        check=True,
    ),
    StageSpec(
        "provision",
        "create the VMs on Proxmox (terraform init + apply)",
        StageInputs(paths=("terraform",)),
        "terraform plans no changes when the VMs already match terraform/",
    ),
    StageSpec(
        "wait",
        "wait until every node answers SSH and cloud-init has finished",
        StageInputs(model=(("nodes", _nodes),)),
        "nodes that already answer and have finished cloud-init pass at once",
    ),
    StageSpec(
        "configure",
        "run Ansible site.yml (node setup + HA K3s) and fetch the kubeconfig",
        StageInputs(paths=("ansible",)),
        "every Ansible task reports ok, none changed, on an already configured cluster",
    ),
    StageSpec(
        "bootstrap",
        "install ArgoCD at the pinned version, give it the repository's credentials (private "
        "repositories) and apply the root Application (server-side apply)",
        StageInputs(paths=("kubernetes/bootstrap",), model=(("repository access", _repo_access),)),
        "server-side apply of unchanged manifests leaves the objects as they are",
    ),
    StageSpec(
        "secrets",
        "initialise, unseal and seed Vault once its pod answers",
        StageInputs(model=(("secret specs", _secret_specs),)),
        "an initialised, unsealed Vault with every secret present is left untouched",
    ),
    StageSpec(
        "sync",
        "wait until every ArgoCD Application is Synced and Healthy",
        StageInputs(paths=("kubernetes",)),
        "read-only wait: Applications already Synced and Healthy pass at once",
    ),
    StageSpec(
        "verify",
        "probe every layer (`homelab status`)",
        StageInputs(),
        "read-only: it probes and changes nothing, so it runs every time",
        check=True,
    ),
)

STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)


def stage_index(name: str, stages: tuple[StageSpec, ...] = STAGES) -> int:
    """Position of the stage `name`; an unknown name is a usage error listing the known ones."""
    for i, spec in enumerate(stages):
        if spec.name == name:
            return i
    raise UsageError(f"unknown stage {name!r}; stages are: {', '.join(s.name for s in stages)}")


Decision = Literal["run", "skip"]


@dataclass(frozen=True)
class PlannedStage:
    """One stage's fate in this run, and why."""

    spec: StageSpec
    decision: Decision
    reason: str
    inputs: str


def plan_stages(
    journal: Journal,
    hashes: Mapping[str, str],
    *,
    only: str | None = None,
    start_from: str | None = None,
    stages: tuple[StageSpec, ...] = STAGES,
) -> list[PlannedStage]:
    """Decide, purely, which stages run (see the module doc for the rules)."""
    if only is not None and start_from is not None:
        raise UsageError("--only and --from cannot be used together")
    if only is not None:
        chosen = stage_index(only, stages)
        return [
            PlannedStage(
                s,
                "run" if i == chosen else "skip",
                "--only" if i == chosen else "not selected",
                hashes[s.name],
            )
            for i, s in enumerate(stages)
        ]
    if start_from is not None:
        first = stage_index(start_from, stages)
        return [
            PlannedStage(
                s,
                "run" if i >= first else "skip",
                "--from" if i >= first else "before --from",
                hashes[s.name],
            )
            for i, s in enumerate(stages)
        ]
    planned: list[PlannedStage] = []
    cascade: str | None = None
    for spec in stages:
        current = hashes[spec.name]
        record = journal.get(spec.name)
        if spec.check:
            planned.append(PlannedStage(spec, "run", "check: runs every time", current))
            continue
        if cascade is not None:
            planned.append(PlannedStage(spec, "run", f"after {cascade}", current))
            continue
        reason = _due_reason(record, current)
        if reason is None:
            planned.append(PlannedStage(spec, "skip", "done, inputs unchanged", current))
        else:
            planned.append(PlannedStage(spec, "run", reason, current))
            cascade = spec.name
    return planned


def _due_reason(record: StageRecord | None, current: str) -> str | None:
    if record is None:
        return "never ran"
    if record.result == "interrupted":
        return "interrupted last time: resuming"
    if record.result == "running":
        return "did not finish last time: resuming"
    if record.result == "failed":
        return "failed last time"
    if record.result == "stale":
        return "an earlier stage ran again since"
    if record.inputs != current:
        return "inputs changed"
    return None


class StageReporter(Protocol):
    """Where the engine tells what happens (the CLI shows it live with rich; tests record it)."""

    def skipped(self, spec: StageSpec, reason: str) -> None:
        """A stage is not run."""
        ...

    def started(self, spec: StageSpec, reason: str) -> None:
        """A stage begins."""
        ...

    def progress(self, spec: StageSpec, text: str) -> None:
        """A running stage reports what it is doing now."""
        ...

    def finished(self, spec: StageSpec, record: StageRecord, seconds: float) -> None:
        """A stage ended (ok, failed or interrupted), with its one-line summary."""
        ...


class StageFailedError(HomelabError):
    """A stage failed; the journal records it and the next `homelab up` resumes there."""

    def __init__(self, stage: str, message: str) -> None:
        self.stage = stage
        super().__init__(
            f"stage {stage} failed: {message}\n"
            f"fix the cause and run `homelab up` again: it resumes at {stage}"
        )


def current_hashes(repo: Path, homelab: Homelab, stages: tuple[StageSpec, ...] = STAGES) -> dict[str, str]:
    """Each stage's input hash right now."""
    return {s.name: inputs_hash(s.inputs, repo, homelab) for s in stages}


@dataclass
class UpResult:
    """What one `homelab up` did: the stages run (with their records) and the ones skipped."""

    ran: list[StageRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def run_up(
    ctx: StageContext,
    runners: Mapping[str, StageRunner],
    reporter: StageReporter,
    *,
    only: str | None = None,
    start_from: str | None = None,
    confirm: Callable[[list[PlannedStage]], bool] = lambda _planned: True,
    stages: tuple[StageSpec, ...] = STAGES,
) -> UpResult:
    """Run the planned stages in order, journaling every transition.

    A failure stops the run (StageFailedError); Ctrl-C marks the running stage `interrupted`,
    saves the journal and re-raises KeyboardInterrupt. `confirm` sees the plan before anything
    runs and may decline (then nothing runs and the journal is untouched). Only one run per repo
    at a time: a second one is refused while the first holds the lock.
    """
    with exclusive_run(ctx.repo):
        return _run_up_locked(
            ctx, runners, reporter, only=only, start_from=start_from, confirm=confirm, stages=stages
        )


def _run_up_locked(
    ctx: StageContext,
    runners: Mapping[str, StageRunner],
    reporter: StageReporter,
    *,
    only: str | None,
    start_from: str | None,
    confirm: Callable[[list[PlannedStage]], bool],
    stages: tuple[StageSpec, ...],
) -> UpResult:
    journal = load_journal(ctx.repo)
    planned = plan_stages(
        journal,
        current_hashes(ctx.repo, ctx.homelab, stages),
        only=only,
        start_from=start_from,
        stages=stages,
    )
    missing = [p.spec.name for p in planned if p.decision == "run" and p.spec.name not in runners]
    if missing:
        raise UsageError(f"no runner for stage(s): {', '.join(missing)}")
    result = UpResult()
    if not confirm(planned):
        raise UsageError("cancelled: nothing was run")
    names = [s.name for s in stages]
    for item in planned:
        if item.decision == "skip":
            reporter.skipped(item.spec, item.reason)
            result.skipped.append(item.spec.name)
            continue
        record = _run_one(
            ctx, journal, runner=runners[item.spec.name], item=item, reporter=reporter, names=names
        )
        result.ran.append(record)
    return result


def _run_one(
    ctx: StageContext,
    journal: Journal,
    *,
    runner: StageRunner,
    item: PlannedStage,
    reporter: StageReporter,
    names: list[str],
) -> StageRecord:
    spec = item.spec
    later = names[names.index(spec.name) + 1 :]
    record = StageRecord(spec.name, item.inputs, "running", now())
    journal.set(record)
    if not spec.check:  # a check changes nothing, so later work stays valid
        journal.mark_stale(later)
    save_journal(ctx.repo, journal)
    reporter.started(spec, item.reason)
    stage_ctx = replace(ctx, progress=lambda text: reporter.progress(spec, text))
    began = time.monotonic()
    try:
        summary = runner.run(stage_ctx)
    except KeyboardInterrupt:
        record = replace(record, result="interrupted", ended=now(), summary="interrupted (Ctrl-C)")
        _close(ctx, journal, record=record, reporter=reporter, spec=spec, began=began)
        raise
    except HomelabError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        record = replace(record, result="failed", ended=now(), summary=message)
        _close(ctx, journal, record=record, reporter=reporter, spec=spec, began=began)
        raise StageFailedError(spec.name, str(exc)) from exc
    except Exception as exc:  # a runner bug must still leave a consistent journal
        message = f"{type(exc).__name__}: {exc}"
        record = replace(record, result="failed", ended=now(), summary=message)
        _close(ctx, journal, record=record, reporter=reporter, spec=spec, began=began)
        raise StageFailedError(spec.name, message) from exc
    record = replace(record, result="ok", ended=now(), summary=summary)
    _close(ctx, journal, record=record, reporter=reporter, spec=spec, began=began)
    return record


def _close(
    ctx: StageContext,
    journal: Journal,
    *,
    record: StageRecord,
    reporter: StageReporter,
    spec: StageSpec,
    began: float,
) -> None:
    journal.set(record)
    save_journal(ctx.repo, journal)
    reporter.finished(spec, record, time.monotonic() - began)


def dry_run(
    ctx: StageContext,
    runners: Mapping[str, StageRunner],
    *,
    only: str | None = None,
    start_from: str | None = None,
    stages: tuple[StageSpec, ...] = STAGES,
) -> list[str]:
    """What `homelab up` would do, one line per stage; runs nothing and writes nothing."""
    journal = load_journal(ctx.repo)
    planned = plan_stages(
        journal,
        current_hashes(ctx.repo, ctx.homelab, stages),
        only=only,
        start_from=start_from,
        stages=stages,
    )
    lines = []
    for item in planned:
        if item.decision == "skip":
            lines.append(f"skip  {item.spec.name}: {item.reason}")
            continue
        runner = runners.get(item.spec.name)
        what = runner.describe(ctx) if runner is not None else f"(no runner) {item.spec.purpose}"
        lines.append(f"run   {item.spec.name} ({item.reason}): {what}")
    return lines
