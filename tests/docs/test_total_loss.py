"""The total-loss restore order is written once (`model/total_loss.py`): the README's list and the
disaster-recovery guide's steps follow it, and every command it names exists in the CLI with the
options it passes (issue 29: the runbook's order disagreed with the README's, and the README's
`homelab up --only a,b,c` was refused by the CLI, whose `--only` takes one stage)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from homelabeazy.cli.app import app
from homelabeazy.lifecycle.stages import STAGES
from homelabeazy.model.total_loss import TOTAL_LOSS

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "guides" / "disaster-recovery.md"
PAGES = [README, *sorted((ROOT / "docs" / "guides").glob("*.md"))]
CLI = typer.main.get_command(app)


def readme_steps(text: str) -> list[str]:
    """The numbered items of the README's "Restore after losing everything" list, one string each."""
    start = text.index("Restore after losing everything")
    items: list[str] = []
    for line in text[start:].splitlines()[2:]:
        if re.match(r"\d+\. ", line):
            items.append(line)
        elif line.startswith("   ") and items:
            items[-1] += " " + line.strip()
        elif items:
            break
    return items


def homelab_commands(text: str) -> tuple[str, ...]:
    """The `homelab …` commands quoted in a piece of Markdown, in order."""
    return tuple(code for code in re.findall(r"`([^`]+)`", text) if code.startswith("homelab "))


def test_the_readme_lists_the_steps_and_commands_of_the_one_order() -> None:
    items = readme_steps(README.read_text(encoding="utf-8"))
    assert [homelab_commands(item) for item in items] == [step.commands for step in TOTAL_LOSS]


def test_the_guide_has_one_section_per_step_in_the_same_order() -> None:
    headings = re.findall(r"^### (\d+)\. (.+)$", GUIDE.read_text(encoding="utf-8"), flags=re.MULTILINE)
    steps = [(str(i), step.title) for i, step in enumerate(TOTAL_LOSS, 1)]
    assert headings[: len(steps)] == steps


def _resolve(words: list[str]) -> tuple[Any, list[str]]:
    """The CLI command the words name (after `homelab`), and the words left for its options. (Typer
    carries its own copy of click, so its classes are not click's: groups are told by `commands`.)"""
    command: Any = CLI
    while hasattr(command, "commands") and words and words[0] in command.commands:
        command = command.commands[words.pop(0)]
    return command, words


@pytest.mark.parametrize(
    "command", [c for step in TOTAL_LOSS for c in step.commands], ids=lambda c: c.removeprefix("homelab ")
)
def test_every_command_of_the_order_exists_with_its_options(command: str) -> None:
    command_obj, rest = _resolve(shlex.split(command)[1:])
    assert not hasattr(command_obj, "commands"), f"{command!r} names no command"
    options = {opt for param in command_obj.params for opt in (*param.opts, *param.secondary_opts)}
    assert {word for word in rest if word.startswith("-")} <= options
    # and the CLI parses it: every option's value and every argument is accepted, none is missing
    command_obj.make_context(command, rest)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_stage_the_docs_name_for_only_or_from_exists(page: Path) -> None:
    """`homelab up --only X` / `--from X` in the hand-written docs name one real stage each."""
    stages = {spec.name for spec in STAGES}
    named = re.findall(
        r"homelab up[^`\n]*?--(?:only|from)[ =]([a-z][^\s`\]]*)", page.read_text(encoding="utf-8")
    )
    assert set(named) <= stages, f"unknown stages (one name per --only/--from): {set(named) - stages}"


def test_every_stage_the_order_names_exists() -> None:
    stages = {spec.name for spec in STAGES}
    for step in TOTAL_LOSS:
        for command in step.commands:
            words = shlex.split(command)
            if words[:2] != ["homelab", "up"]:
                continue
            for flag in ("--only", "--from"):
                if flag in words:
                    assert words[words.index(flag) + 1] in stages, command
