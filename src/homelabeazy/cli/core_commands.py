"""init, validate, schema, render, diff: the commands of the foundation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from homelabeazy.cli import console
from homelabeazy.cli.common import (
    DEFAULT_CONFIG,
    ConfigArg,
    ConfigFileOption,
    load_homelab,
    pick_config,
    read_config,
)
from homelabeazy.errors import ConfigError, ExitCode, RenderConflictError, UsageError

if TYPE_CHECKING:  # the doctor's rows only when --deep asks for them
    from homelabeazy.lifecycle.doctor import Row

ChartsOption = Annotated[
    Path | None,
    typer.Option(
        "--charts",
        help="Chart cache for --deep and --objects, laid out <chart>-<version>/ (default $HOMELAB_CHARTS, "
        "then pulled into ~/.cache/homelabeazy/charts).",
    ),
]
OutOption = Annotated[
    Path | None, typer.Option("--out", "-o", help="Output repo folder; defaults to the config file's folder.")
]


def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the starter config in.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite an existing homelab.yaml.")] = False,
) -> int:
    """Write a fully commented starter homelab.yaml and its JSON Schema (editor completion)."""
    from homelabeazy.config.starter import SCHEMA_FILE, example_text, schema_text

    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "homelab.yaml"
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; use --force to replace it")
    from homelabeazy.atomic_file import write_atomic

    write_atomic(target, example_text().encode("utf-8"), "the starter homelab.yaml", mode=0o666)
    write_atomic(directory / SCHEMA_FILE, schema_text().encode("utf-8"), "the JSON Schema", mode=0o666)
    console.success(f"wrote {target} and {directory / SCHEMA_FILE}")
    console.info("next: edit it, then `homelab validate` and `homelab render`")
    return ExitCode.OK


def validate(  # noqa: PLR0917 - every Typer option is a parameter
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print problems (with --deep: the convergence report) as JSON.")
    ] = False,
    deep: Annotated[
        bool,
        typer.Option(
            "--deep",
            help="Also render, validate every generated file, and prove the cluster state converges "
            "(real Helm over every chart).",
        ),
    ] = False,
    charts: ChartsOption = None,
    dump_objects: Annotated[
        Path | None,
        typer.Option(
            "--dump-objects",
            metavar="DIR",
            help="With --deep: write every effective object into DIR, one YAML file per Application "
            "(Secret values replaced by a placeholder, keys kept); DIR must be new, empty or an "
            "earlier dump.",
        ),
    ] = None,
) -> int:
    """Check homelab.yaml and report every problem at once as file:line:col: field: message."""
    config = pick_config(config, config_file)
    if dump_objects is not None and not deep:
        raise UsageError("--dump-objects goes with --deep (the objects are what --deep builds)")
    try:
        loaded = read_config(config)
    except ConfigError as exc:
        _report(exc.problems, as_json)
        return ExitCode.BAD_INPUT
    if not deep:
        _report(list(loaded.warnings), as_json)
        if not as_json:
            console.success(f"{config} is valid")
        return ExitCode.OK
    if not as_json:
        _report(list(loaded.warnings), as_json)
    missing = _deep_tools_missing()
    if missing:
        for row in missing:
            console.failure(row.problem)
        console.failure(
            f"validate --deep runs {', '.join(r.check for r in missing)}: nothing was checked yet"
        )
        return ExitCode.FAILED
    from homelabeazy.cli.deep_output import print_deep
    from homelabeazy.converge.deep import validate_deep
    from homelabeazy.model import build

    result = validate_deep(build(loaded.config), charts)
    if dump_objects is not None and result.state is not None:
        from homelabeazy.cli.objects import dump_objects as write_dump

        written = write_dump(dump_objects, result.state)
        console.info(f"wrote the objects of {written} Application(s) into {dump_objects}")
    code = print_deep(result, loaded, as_json)
    if code == ExitCode.OK and not as_json:
        console.success(f"{config} is valid and its cluster state converges")
    return code


def _deep_tools_missing() -> list[Row]:
    """Every tool `validate --deep` runs that is missing or too old, all at once, before anything is
    rendered; the rows and fixes are doctor's (one source: toolchain.TOOLS)."""
    from homelabeazy.lifecycle.doctor import deep_rows, deep_tool_names, failed
    from homelabeazy.ops.doctor_facts import gather

    facts = gather(deep_tool_names(), collections=False, proxmox=False, versions_of=("helm",))
    return failed(deep_rows(facts))


def _report(problems: list, as_json: bool) -> None:  # type: ignore[type-arg]
    if as_json:
        console.out.print_json(json.dumps([p.__dict__ for p in problems]))
        return
    for p in sorted(problems, key=lambda p: p.severity != "error"):
        console.problem(p)
    errors = sum(1 for p in problems if p.severity == "error")
    if errors:
        console.failure(f"{errors} error(s) in {problems[0].file}")


def schema() -> int:
    """Print the JSON Schema of homelab.yaml."""
    from homelabeazy.config.starter import schema_text

    console.out.out(schema_text(), end="")
    return ExitCode.OK


def render(
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    out: OutOption = None,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when the tree is out of date; write nothing.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite generated files you edited.")] = False,
) -> int:
    """Render the homelab repository (terraform/, ansible/, kubernetes/, network/, docs/)."""
    config = pick_config(config, config_file)
    from homelabeazy.render import render_all, writer

    _, homelab = load_homelab(config)
    target = out or config.parent
    blocker = next((p for p in (target, *target.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise UsageError(f"{blocker} is not a folder; --out names the folder of the rendered repository")
    files = render_all(homelab)
    if check:
        plan = writer.plan(target, files)
        if plan.changed or plan.conflicts or writer.pending(target):
            for rel in (*plan.create, *plan.update, *plan.delete, *plan.conflicts):
                console.info(f"out of date: {rel}")
            console.failure(f"{target} is out of date with {config}; run `homelab render`")
            return ExitCode.FAILED
        console.success(f"{target} is up to date ({len(files)} files)")
        return ExitCode.OK
    try:
        with writer.exclusive(target):
            if writer.recover(target):
                console.info(f"finished an interrupted render of {target} first")
            plan = writer.plan(target, files)
            if plan.conflicts and not force:
                raise RenderConflictError(list(plan.conflicts))
            writer.apply(target, plan, force=force)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise writer.WriterError(
            f"cannot write the rendered tree into {target}{where}: {exc.strerror or exc}; "
            "fix that, then run `homelab render` again: it finishes or discards the partial render"
        ) from None
    console.success(
        f"rendered {len(files)} files into {target}: {len(plan.create)} created, {len(plan.update)} updated, "
        f"{len(plan.delete)} deleted, {len(plan.unchanged)} unchanged"
        + (f", {len(plan.conflicts)} overwritten (--force)" if force and plan.conflicts else "")
    )
    return ExitCode.OK


def diff(  # noqa: PLR0917 - every Typer option is a parameter
    config: ConfigArg = DEFAULT_CONFIG,
    config_file: ConfigFileOption = None,
    out: OutOption = None,
    objects: Annotated[
        bool,
        typer.Option(
            "--objects",
            help="Compare the effective Kubernetes objects (charts rendered by real Helm) of homelab.yaml "
            "at a git revision with the working tree's, grouped by Application.",
        ),
    ] = False,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            metavar="REV",
            help="With --objects: the git revision to compare against (default HEAD).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --objects: print the object diff as JSON on stdout.")
    ] = False,
    charts: ChartsOption = None,
) -> int:
    """Show, as a unified diff, what `homelab render` would change.

    With --objects: what the change does to the cluster (objects added, removed, changed, with the
    fields that change; Secret values never shown). Exit codes as diff(1): 0 no object differs,
    1 objects differ, 2 trouble (bad input, a base revision that does not validate, git or Helm failing).
    """
    config = pick_config(config, config_file)
    if not objects:
        given = [
            name for name, value in (("--base", base), ("--json", as_json), ("--charts", charts)) if value
        ]
        if given:
            raise UsageError(f"{', '.join(given)} only go with --objects")
        return _file_diff(config, out)
    if out is not None:
        raise UsageError("--out does not go with --objects (it compares objects, not the rendered tree)")
    from homelabeazy.cli.objects import object_diff

    return object_diff(config, base or "HEAD", as_json, charts)


def _file_diff(config: Path, out: Path | None) -> int:
    from homelabeazy.render import render_all, writer

    _, homelab = load_homelab(config)
    text = writer.unified_diff(out or config.parent, render_all(homelab))
    if text:
        console.out.out(text, end="")
    else:
        console.success("no changes")
    return ExitCode.OK
