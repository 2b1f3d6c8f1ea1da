"""The stage engine with fake runners: resume after failure, input changes, Ctrl-C, dry-run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.lifecycle.journal import JOURNAL_PATH, load_journal
from homelabeazy.lifecycle.stages import (
    STAGE_NAMES,
    StageContext,
    StageFailedError,
    StageRecord,
    StageSpec,
    dry_run,
    run_up,
)

MUTATING = [n for n in STAGE_NAMES if n not in ("preflight", "verify")]


@dataclass
class FakeRunner:
    """Records runs; fails or is interrupted on demand."""

    name: str
    log: list[str]
    fail: bool = False
    interrupt: bool = False

    def describe(self, ctx: StageContext) -> str:
        return f"would {self.name} {ctx.homelab.name}"

    def run(self, ctx: StageContext) -> str:
        self.log.append(self.name)
        ctx.progress(f"{self.name} halfway")
        if self.interrupt:
            raise KeyboardInterrupt
        if self.fail:
            raise ExternalSystemError(self.name, "doing the work", "it broke", "fix it")
        return f"{self.name} done"


@dataclass
class Recorder:
    events: list[tuple[str, str]] = field(default_factory=list)

    def skipped(self, spec: StageSpec, reason: str) -> None:
        self.events.append(("skipped", spec.name))

    def started(self, spec: StageSpec, reason: str) -> None:
        self.events.append(("started", spec.name))

    def progress(self, spec: StageSpec, text: str) -> None:
        self.events.append(("progress", text))

    def finished(self, spec: StageSpec, record: StageRecord, seconds: float) -> None:
        self.events.append((record.result, spec.name))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for rel, text in {
        "terraform/main.tf": "# vms\n",
        "ansible/site.yml": "- hosts: all\n",
        "kubernetes/bootstrap/root.yaml": "kind: Application\n",
        "kubernetes/apps/whoami.yaml": "kind: Application\n",
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


@pytest.fixture
def ctx(repo: Path, example_homelab) -> StageContext:
    return StageContext(repo=repo, homelab=example_homelab)


def runners(log: list[str], **modes: str) -> dict[str, FakeRunner]:
    return {
        name: FakeRunner(name, log, fail=modes.get(name) == "fail", interrupt=modes.get(name) == "interrupt")
        for name in STAGE_NAMES
    }


def results(repo: Path) -> dict[str, str]:
    return {name: rec.result for name, rec in load_journal(repo).records.items()}


def test_first_run_runs_every_stage_and_journals_them(ctx: StageContext) -> None:
    log: list[str] = []
    rec = Recorder()
    outcome = run_up(ctx, runners(log), rec)
    assert log == list(STAGE_NAMES)
    assert [r.summary for r in outcome.ran] == [f"{n} done" for n in STAGE_NAMES]
    assert ("progress", "provision halfway") in rec.events
    data = json.loads((ctx.repo / JOURNAL_PATH).read_text())
    assert [s["stage"] for s in data["stages"]] == list(STAGE_NAMES)
    assert all(
        s["result"] == "ok" and s["ended"] and s["started"] and len(s["inputs"]) == 64 for s in data["stages"]
    )


def test_rerun_without_changes_runs_only_checks(ctx: StageContext) -> None:
    run_up(ctx, runners([]), Recorder())
    log: list[str] = []
    outcome = run_up(ctx, runners(log), Recorder())
    assert log == ["preflight", "verify"]
    assert outcome.skipped == MUTATING


@pytest.mark.parametrize("failing", STAGE_NAMES)
def test_failure_at_each_stage_then_resume(ctx: StageContext, failing: str) -> None:
    log: list[str] = []
    with pytest.raises(StageFailedError) as info:
        run_up(ctx, runners(log, **{failing: "fail"}), Recorder())
    assert info.value.stage == failing
    assert f"resumes at {failing}" in str(info.value)
    index = STAGE_NAMES.index(failing)
    assert log == list(STAGE_NAMES[: index + 1])
    journal = load_journal(ctx.repo)
    assert journal.get(failing).result == "failed"
    assert "it broke" in journal.get(failing).summary
    assert all(journal.get(n) is None for n in STAGE_NAMES[index + 1 :])

    log2: list[str] = []
    run_up(ctx, runners(log2), Recorder())
    expected = ["preflight", *[n for n in STAGE_NAMES[index:] if n != "preflight"]]
    assert log2 == expected
    assert set(results(ctx.repo).values()) == {"ok"}


@pytest.mark.parametrize(
    ("change", "first_due"),
    [
        ("terraform/main.tf", "provision"),
        ("ansible/site.yml", "configure"),
        ("kubernetes/bootstrap/root.yaml", "bootstrap"),
        ("kubernetes/apps/whoami.yaml", "sync"),
    ],
)
def test_changed_inputs_rerun_exactly_the_affected_stages(
    ctx: StageContext, change: str, first_due: str
) -> None:
    run_up(ctx, runners([]), Recorder())
    (ctx.repo / change).write_text((ctx.repo / change).read_text() + "# edited\n")
    log: list[str] = []
    run_up(ctx, runners(log), Recorder())
    index = STAGE_NAMES.index(first_due)
    assert log == ["preflight", *STAGE_NAMES[index:]]


def test_changed_model_secret_specs_rerun_secrets_onward(ctx: StageContext, example_homelab) -> None:
    from dataclasses import replace

    run_up(ctx, runners([]), Recorder())
    fewer = replace(example_homelab, secrets=example_homelab.secrets[1:])
    log: list[str] = []
    run_up(StageContext(ctx.repo, fewer), runners(log), Recorder())
    assert log == ["preflight", "secrets", "sync", "verify"]


def test_new_file_in_a_folder_changes_inputs(ctx: StageContext) -> None:
    run_up(ctx, runners([]), Recorder())
    (ctx.repo / "ansible" / "group_vars").mkdir()
    (ctx.repo / "ansible" / "group_vars" / "all.yml").write_text("x: 1\n")
    log: list[str] = []
    run_up(ctx, runners(log), Recorder())
    assert log == ["preflight", "configure", "bootstrap", "secrets", "sync", "verify"]


def test_interrupt_mid_stage_leaves_consistent_journal_and_resumes(ctx: StageContext) -> None:
    log: list[str] = []
    rec = Recorder()
    with pytest.raises(KeyboardInterrupt):
        run_up(ctx, runners(log, configure="interrupt"), rec)
    assert ("interrupted", "configure") in rec.events
    data = json.loads((ctx.repo / JOURNAL_PATH).read_text())  # atomicity itself: test_journal.py
    by_stage = {s["stage"]: s for s in data["stages"]}
    assert by_stage["configure"]["result"] == "interrupted"
    assert by_stage["configure"]["ended"]
    assert by_stage["provision"]["result"] == "ok"
    assert not list((ctx.repo / ".homelab").glob("*.tmp"))
    log2: list[str] = []
    run_up(ctx, runners(log2), Recorder())
    assert log2 == ["preflight", "configure", "bootstrap", "secrets", "sync", "verify"]


def test_killed_process_leaves_running_record_that_resumes(ctx: StageContext) -> None:
    run_up(ctx, runners([]), Recorder())
    journal_file = ctx.repo / JOURNAL_PATH
    data = json.loads(journal_file.read_text())
    for s in data["stages"]:
        if s["stage"] == "bootstrap":
            s["result"], s["ended"] = "running", None
    journal_file.write_text(json.dumps(data))
    log: list[str] = []
    run_up(ctx, runners(log), Recorder())
    assert log == ["preflight", "bootstrap", "secrets", "sync", "verify"]


def test_only_runs_one_stage_and_makes_later_ones_stale(ctx: StageContext) -> None:
    run_up(ctx, runners([]), Recorder())
    log: list[str] = []
    run_up(ctx, runners(log), Recorder(), only="configure")
    assert log == ["configure"]
    assert results(ctx.repo)["bootstrap"] == "stale"
    log2: list[str] = []
    run_up(ctx, runners(log2), Recorder())
    assert log2 == ["preflight", "bootstrap", "secrets", "sync", "verify"]


def test_from_runs_stage_and_everything_after(ctx: StageContext) -> None:
    run_up(ctx, runners([]), Recorder())
    log: list[str] = []
    run_up(ctx, runners(log), Recorder(), start_from="secrets")
    assert log == ["secrets", "sync", "verify"]


def test_unknown_stage_and_conflicting_options_are_usage_errors(ctx: StageContext) -> None:
    with pytest.raises(UsageError, match="unknown stage 'deploy'; stages are: preflight, provision"):
        run_up(ctx, runners([]), Recorder(), only="deploy")
    with pytest.raises(UsageError, match="together"):
        run_up(ctx, runners([]), Recorder(), only="wait", start_from="wait")


def test_declined_confirmation_runs_nothing(ctx: StageContext) -> None:
    log: list[str] = []
    with pytest.raises(UsageError, match="cancelled"):
        run_up(ctx, runners(log), Recorder(), confirm=lambda planned: False)
    assert log == []
    assert not (ctx.repo / JOURNAL_PATH).exists()


def test_second_concurrent_run_is_refused(ctx: StageContext) -> None:
    from homelabeazy.lifecycle.journal import exclusive_run

    log: list[str] = []
    with exclusive_run(ctx.repo), pytest.raises(UsageError, match="another `homelab up` is running"):
        run_up(ctx, runners(log), Recorder())
    assert log == []
    run_up(ctx, runners(log), Recorder())  # released: the next run goes ahead
    assert log == list(STAGE_NAMES)


def test_dry_run_describes_and_runs_nothing(ctx: StageContext) -> None:
    run_up(ctx, runners([]), Recorder(), start_from="provision")
    (ctx.repo / "ansible/site.yml").write_text("- hosts: k3s\n")
    before = (ctx.repo / JOURNAL_PATH).read_text()
    log: list[str] = []
    lines = dry_run(ctx, runners(log))
    assert log == []
    assert (ctx.repo / JOURNAL_PATH).read_text() == before
    assert lines == [
        "run   preflight (check: runs every time): would preflight homelab",
        "skip  provision: done, inputs unchanged",
        "skip  wait: done, inputs unchanged",
        "run   configure (inputs changed): would configure homelab",
        "run   bootstrap (after configure): would bootstrap homelab",
        "run   secrets (after configure): would secrets homelab",
        "run   sync (after configure): would sync homelab",
        "run   verify (check: runs every time): would verify homelab",
    ]


def test_runner_bug_is_journaled_as_failure(ctx: StageContext) -> None:
    class Broken(FakeRunner):
        def run(self, ctx: StageContext) -> str:
            raise ZeroDivisionError("oops")

    rs = runners([])
    rs["wait"] = Broken("wait", [])
    with pytest.raises(StageFailedError, match="ZeroDivisionError: oops"):
        run_up(ctx, rs, Recorder())
    assert results(ctx.repo)["wait"] == "failed"


def test_corrupt_journal_is_a_located_usage_error(ctx: StageContext) -> None:
    (ctx.repo / ".homelab").mkdir()
    (ctx.repo / JOURNAL_PATH).write_text("{not json")
    with pytest.raises(UsageError, match=r"state.json: not a valid homelab journal"):
        run_up(ctx, runners([]), Recorder())
