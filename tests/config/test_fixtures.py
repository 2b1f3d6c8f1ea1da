"""The config fixtures: every invalid one fails exactly where and how its `.expected` says.

Each fixture is the example with one mistake (see tests/fixtures/config/generate.py), so the line
numbers are real. Through the library we assert the problem (path, line, column, message, check
id); through the CLI we assert the printed `file:line:col: path: message` and the exit code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from homelabeazy.checks import CHECKS, load_config, run_checks
from homelabeazy.errors import ConfigError, Problem
from homelabeazy.model.build import build
from homelabeazy.model.ipam import SERVER_SLOTS, parse_range
from homelabeazy.render.registry import render_all
from tests.support.golden import assert_golden

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "config"
INVALID = sorted((FIXTURES / "invalid").glob("*.yaml"))
WARNINGS = sorted((FIXTURES / "warnings").glob("*.yaml"))
VALID = sorted((FIXTURES / "valid").glob("*.yaml"))


def expected(case: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(case.with_suffix(".expected").read_text(encoding="utf-8"))
    return data


def problems_of(case: Path) -> list[Problem]:
    """Every problem (errors and warnings) the validator reports for a fixture."""
    try:
        loaded = load_config(case.read_text(encoding="utf-8"), file=case.name)
    except ConfigError as exc:
        return exc.problems
    return list(loaded.warnings)


def matches(problem: Problem, want: dict[str, Any]) -> bool:
    check = "" if want["check"] in ("schema", "yaml") else want["check"]
    return (
        problem.path == want["path"]
        and problem.line == want["line"]
        and (want["column"] is None or problem.column == want["column"])
        and want["message"] in problem.format()
        and problem.check == check
        and problem.severity == want["severity"]
    )


def unmatched(
    found: list[Problem], wanted: list[dict[str, Any]]
) -> tuple[list[Problem], list[dict[str, Any]]]:
    """Pair every finding with one expectation: what is left over on either side is a failure."""
    left = list(found)
    missing: list[dict[str, Any]] = []
    for want in wanted:
        hit = next((p for p in left if matches(p, want)), None)
        if hit is None:
            missing.append(want)
        else:
            left.remove(hit)
    return left, missing


def assert_exactly(found: list[Problem], wanted: list[dict[str, Any]]) -> None:
    """The validator reports the expected findings and not one more (an extra warning fails too)."""
    extra, missing = unmatched(found, wanted)
    assert not missing, "missing:\n" + "\n".join(f"  {w}" for w in missing)
    assert not extra, "unexpected:\n" + "\n".join(
        f"  {p.format()} [{p.check or 'schema'}, {p.severity}]" for p in extra
    )


def test_there_are_enough_invalid_fixtures() -> None:
    assert len(INVALID) >= 35
    for case in INVALID:
        assert case.with_suffix(".expected").exists(), case.name


@pytest.mark.parametrize("case", INVALID + WARNINGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_reports_expected_problem(case: Path) -> None:
    want = expected(case)
    found = problems_of(case)
    assert_exactly(found, want["findings"])
    errors = [p for p in found if p.severity == "error"]
    assert bool(errors) == (want["exit_code"] == 2), [p.format() for p in errors]


@pytest.mark.parametrize("case", INVALID + WARNINGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_through_cli(case: Path, cli: Any) -> None:
    want = expected(case)
    result = cli("validate", str(case))
    assert result.code == want["exit_code"], result.err
    where = f"{case}:{want['line']}:"
    if want["column"] is not None:
        where += f"{want['column']}:"
    path = f" {want['path']}:" if want["path"] else ""
    assert any(where + path in row and want["message"] in row for row in result.err.splitlines()), result.err
    located = [row for row in result.err.splitlines() if row.split(": ", 1)[-1].startswith(f"{case}:")]
    assert len(located) == len(want["findings"]), result.err
    assert "Traceback" not in result.err


def test_every_check_has_a_bad_fixture() -> None:
    named = {expected(case)["check"] for case in INVALID + WARNINGS}
    missing = sorted(c.id for c in CHECKS if c.id not in named)
    assert not missing, f"checks without a bad fixture: {missing}"


def test_fixtures_cover_every_kind_of_mistake() -> None:
    kinds = {expected(case)["check"] for case in INVALID}
    assert {"yaml", "schema"} <= kinds
    names = {case.stem for case in INVALID}
    for prefix in ("yaml-", "unknown-key", "type-", "missing-", "pattern-"):
        assert any(n.startswith(prefix) for n in names), prefix


@pytest.mark.parametrize("case", VALID, ids=lambda p: p.stem)
def test_valid_fixture_has_no_error(case: Path, cli: Any) -> None:
    """A valid fixture gives no error and exactly the warnings its `.expected` lists."""
    loaded = load_config(case.read_text(encoding="utf-8"), file=case.name)
    assert_exactly(list(loaded.warnings), expected(case)["findings"])
    assert cli("validate", str(case)).code == 0


def test_every_check_has_a_good_fixture() -> None:
    """For each check, some valid fixture gives it nothing to say (not even a warning)."""
    findings = [
        {f.check for f in run_checks(load_config(case.read_text(encoding="utf-8")).config)} for case in VALID
    ]
    silent_somewhere = {c.id for c in CHECKS if any(c.id not in found for found in findings)}
    assert silent_somewhere == {c.id for c in CHECKS}, sorted({c.id for c in CHECKS} - silent_somewhere)


@pytest.mark.parametrize("case", VALID, ids=lambda p: p.stem)
def test_valid_fixture_builds_and_renders(case: Path) -> None:
    """A config that validates must build the model and render: validation may not promise more
    than the model keeps (e.g. the last agent of an exactly-big-enough node range gets the range's
    last address, not a ValueError)."""
    config = load_config(case.read_text(encoding="utf-8"), file=case.name).config
    homelab = build(config)
    assert len(homelab.nodes) == config.cluster.servers.count + config.cluster.agents.count
    first, last = parse_range(config.cluster.node_ip_range)
    assert all(first <= node.ip <= last for node in homelab.nodes)
    assert len({node.ip for node in homelab.nodes}) == len(homelab.nodes)
    files = render_all(homelab)
    assert files
    assert all(text for text in files.values())


def test_exact_node_range_gives_the_last_agent_the_last_address() -> None:
    """`node-range-exact` holds SERVER_SLOTS + agents addresses: the last agent sits on the last one."""
    config = load_config((FIXTURES / "valid" / "node-range-exact.yaml").read_text(encoding="utf-8")).config
    first, last = parse_range(config.cluster.node_ip_range)
    assert int(last) - int(first) + 1 == SERVER_SLOTS + config.cluster.agents.count
    agents = [n for n in build(config).nodes if n.role == "agent"]
    assert agents[-1].ip == last


@pytest.mark.slow  # every fixture through `validate`
def test_every_finding_word_for_word() -> None:
    """Every fixture's findings exactly as the user reads them, hints included (tests/golden/config/).

    The `.expected` files pin what, where and which check; this golden pins the wording, so a
    changed hint or message is a reviewed diff (UPDATE_GOLDEN=1), not a silent change.
    """
    rows = []
    for case in INVALID + WARNINGS + VALID:
        for problem in problems_of(case):
            rows.append(f"{case.parent.name}/{case.stem}: {problem.severity}: {problem.format()}")
    assert_golden({"findings.txt": "\n".join(rows) + "\n"}, "config")
