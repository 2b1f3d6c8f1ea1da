"""The `homelab up` journal, `.homelab/state.json`: what each stage last did, with which inputs.

It is rewritten atomically (temporary file, fsync, rename) after every stage transition, so a crash
or Ctrl-C at any moment leaves either the previous or the next consistent journal, never half of
one. A stage is recorded as `running` before it starts: if the process is killed outright, the
next run sees a stage that never finished and runs it again.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from homelabeazy.atomic_file import write_atomic
from homelabeazy.errors import UsageError

JOURNAL_PATH = ".homelab/state.json"
LOCK_PATH = ".homelab/up.lock"
JOURNAL_VERSION = 1

Result = Literal["ok", "failed", "interrupted", "running", "stale"]
RESULTS: tuple[str, ...] = ("ok", "failed", "interrupted", "running", "stale")


def now() -> str:
    """The current UTC time as the journal stores it (ISO 8601, seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class StageRecord:
    """The last run of one stage.

    `inputs` is the hash of everything the stage depends on when it ran; `stale` means an earlier
    stage ran again after this one, so this stage's work may no longer match.
    """

    stage: str
    inputs: str
    result: Result
    started: str
    ended: str | None = None
    summary: str = ""

    @property
    def good(self) -> bool:
        """Whether the stage finished successfully and nothing ran before it since."""
        return self.result == "ok"


@dataclass
class Journal:
    """All stage records of one homelab repo, keyed by stage name."""

    records: dict[str, StageRecord] = field(default_factory=dict)

    def get(self, stage: str) -> StageRecord | None:
        """The record of `stage`, or None when it never ran."""
        return self.records.get(stage)

    def set(self, record: StageRecord) -> None:
        """Replace the record of `record.stage`."""
        self.records[record.stage] = record

    def mark_stale(self, stages: list[str]) -> None:
        """Mark good records of `stages` stale: an earlier stage is running again."""
        for name in stages:
            record = self.records.get(name)
            if record is not None and record.result == "ok":
                self.records[name] = replace(record, result="stale")

    def to_json(self) -> str:
        """The journal file's text (stable key order, one record per stage)."""
        data = {
            "version": JOURNAL_VERSION,
            "stages": [asdict(r) for r in self.records.values()],
        }
        return json.dumps(data, indent=2) + "\n"


def load_journal(repo: Path) -> Journal:
    """Read the journal of the repo at `repo`; an absent journal is an empty one.

    A journal we cannot parse is a usage error naming the file, not something to silently
    discard: discarding it would re-run terraform and Ansible against a live homelab.
    """
    path = repo / JOURNAL_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Journal()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"{path}: cannot be read as a homelab journal ({exc}); fix it or delete it"
        ) from None
    try:
        data = json.loads(text)
        if data.get("version") != JOURNAL_VERSION:  # another layout: reading it as ours could skip stages
            raise ValueError(
                f"version {data.get('version')!r}, this homelabeazy reads version {JOURNAL_VERSION}"
            )
        records = {}
        for raw in data["stages"]:
            if raw["result"] not in RESULTS:
                raise ValueError(f"unknown result {raw['result']!r}")
            record = StageRecord(
                stage=str(raw["stage"]),
                inputs=str(raw["inputs"]),
                result=raw["result"],
                started=str(raw["started"]),
                ended=None if raw.get("ended") is None else str(raw["ended"]),
                summary=str(raw.get("summary", "")),
            )
            records[record.stage] = record
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(
            f"{path}: not a valid homelab journal ({exc}); fix it or delete it to start `homelab up` afresh"
        ) from None
    return Journal(records)


def save_journal(repo: Path, journal: Journal) -> None:
    """Write the journal atomically: a reader sees the old or the new file, never a torn one."""
    path = repo / JOURNAL_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, journal.to_json().encode("utf-8"), "the `homelab up` journal", mode=0o666)


@contextmanager
def exclusive_run(repo: Path) -> Iterator[None]:
    """Hold the repo's `homelab up` lock: two concurrent runs would apply terraform twice at once.

    An advisory flock on `.homelab/up.lock`; the kernel drops it when the process dies, so a
    crashed run never leaves the repo locked.
    """
    path = repo / LOCK_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:  # a lock: flock only, nothing written
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"another `homelab up` is running on {repo} (it holds {path}); wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
