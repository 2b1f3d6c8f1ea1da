"""`homelab diff --objects` and `homelab validate --deep --dump-objects`: the effective objects,
compared between a git revision and the working tree, or written out for scanners and reviewers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from homelabeazy.cli import console
from homelabeazy.cli.common import DEFAULT_CONFIG, read_config
from homelabeazy.errors import ConfigError, ExitCode, HomelabError, UsageError

if TYPE_CHECKING:
    from homelabeazy.converge.object_changes import ComparedStates
    from homelabeazy.converge.object_diff import ApplicationDiff
    from homelabeazy.desired.state import DesiredState, Finding
    from homelabeazy.ops.git import RevisionFile

MAX_LINES_PER_OBJECT = 30
"""Field changes printed per object; `--json` lists every one."""


def config_file(path: Path) -> Path:
    """The file `read_config` reads for `path` (a folder means its homelab.yaml)."""
    return path / DEFAULT_CONFIG if path.is_dir() and (path / DEFAULT_CONFIG).is_file() else path


def object_diff(config: Path, base: str, as_json: bool, charts: Path | None) -> int:
    """Compare the objects of `config` at git revision `base` with the working tree's.

    Exit 0: no object differs; 1: objects differ; 2: trouble (bad input, a base that no longer
    validates, git or Helm failing, a chart Helm could not render on either side).
    """
    try:
        return _object_diff(config, base, as_json, charts)
    except ConfigError as exc:
        for problem in exc.problems:
            console.problem(problem)
        return ExitCode.BAD_INPUT
    except HomelabError as exc:  # exit 1 means "the objects differ" here: any trouble is 2
        console.failure(str(exc))
        return ExitCode.BAD_INPUT


def _object_diff(config: Path, base: str, as_json: bool, charts: Path | None) -> int:
    from homelabeazy.checks import load_config
    from homelabeazy.config.load import MAX_CONFIG_BYTES
    from homelabeazy.converge.object_changes import compare_homelabs
    from homelabeazy.model import build
    from homelabeazy.ops.git import show_file

    loaded = read_config(config)
    shown = show_file(config_file(config), base, MAX_CONFIG_BYTES)
    try:
        base_loaded = load_config(shown.text, file=f"{shown.revision}:{shown.path}")
    except ConfigError as exc:
        for problem in exc.problems:
            console.problem(problem)
        console.failure(
            f"{shown.path} at revision {shown.revision} ({shown.commit[:12]}) does not validate with this "
            "homelabeazy: nothing to compare against; pick another --base"
        )
        return ExitCode.BAD_INPUT
    compared = compare_homelabs(build(base_loaded.config), build(loaded.config), charts)
    if as_json:
        console.out.print_json(json.dumps(_as_json(compared, shown)))
    else:
        _print(compared, shown)
    if compared.base_findings or compared.findings:
        for side, findings in (("base", compared.base_findings), ("working tree", compared.findings)):
            for finding in findings:
                console.failure(f"{side}: {finding.text()}")
        console.failure("the object diff is incomplete: Helm could not render every chart (above)")
        return ExitCode.BAD_INPUT
    return ExitCode.OK if compared.diff.empty else ExitCode.FAILED


def _as_json(compared: ComparedStates, shown: RevisionFile) -> dict[str, object]:
    def findings(items: tuple[Finding, ...]) -> list[dict[str, str]]:
        return [{"check": f.check, "application": f.application, "text": f.text()} for f in items]

    return {
        "base": {"revision": shown.revision, "commit": shown.commit, "path": shown.path},
        "complete": not (compared.base_findings or compared.findings),
        **compared.diff.as_json(),
        "findings": {"base": findings(compared.base_findings), "current": findings(compared.findings)},
    }


def _print(compared: ComparedStates, shown: RevisionFile) -> None:
    against = f"{shown.path} at {shown.revision} ({shown.commit[:12]})"
    if compared.diff.empty:
        console.success(f"no object differs from {against}")
        return
    lines: list[str] = []
    for app in compared.diff.applications:
        lines.extend(_app_lines(app))
    console.out.out(console.plain("\n".join(lines)))
    counts = compared.diff.counts()
    console.info(
        f"{counts['applications']} Application(s) differ from {against}: {counts['added']} object(s) added, "
        f"{counts['removed']} removed, {counts['changed']} changed"
    )


def _app_lines(app: ApplicationDiff) -> list[str]:
    status = {"added": ", new Application", "removed": ", Application removed"}.get(app.status, "")
    lines = [f"Application {app.name} (wave {app.wave}{status})"]
    lines += [f"  + {ident.text}" for ident in app.added]
    lines += [f"  - {ident.text}" for ident in app.removed]
    for changed in app.changed:
        lines.append(f"  ~ {changed.ident.text}")
        shown = changed.changes[:MAX_LINES_PER_OBJECT]
        lines += [f"      {change.text}" for change in shown]
        if len(changed.changes) > len(shown):
            lines.append(f"      … {len(changed.changes) - len(shown)} more (--json lists every one)")
    return lines


def dump_objects(folder: Path, state: DesiredState) -> int:
    """Write every effective object into `folder`, one YAML file per Application (Secret values
    redacted). A folder that is not empty must hold an earlier dump, whose stale files are removed."""
    from homelabeazy.atomic_file import write_atomic
    from homelabeazy.converge.object_dump import MARKER, object_files

    files = object_files(state)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        existing = sorted(folder.iterdir())
    except OSError as exc:
        raise UsageError(f"{folder}: cannot create the object dump folder: {exc.strerror}") from None
    if existing and not (folder / MARKER).is_file():
        raise UsageError(
            f"{folder}: is not empty and holds no earlier object dump; name a new or empty folder"
        )
    for path in existing:
        if path.suffix == ".yaml" and path.name not in files and path.is_file() and not path.is_symlink():
            path.unlink()
    write_atomic(folder / MARKER, b"written by homelab validate --deep --dump-objects\n", "a marker", 0o644)
    for name, text in files.items():
        write_atomic(folder / name, text.encode("utf-8"), "an object dump", mode=0o644)
    return len(files)
