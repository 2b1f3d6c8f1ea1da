"""Every command names its config the same way (issue: `net matrix FILE` was refused).

Walked over the real command tree: a command that reads a homelab.yaml takes `-c/--config FILE`;
one with no other argument also takes the file (or the folder holding it) as its argument. Run
from the folder above a homelab, a missing ./homelab.yaml names the one a folder down.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from homelabeazy.cli.app import app

Command = Any
"""A command of Typer's own Click (typer vendors it): read by duck typing."""


def _commands(group: Command, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Command]]:
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


COMMANDS = list(_commands(typer.main.get_command(app)))


def _options(command: Command) -> list[Any]:
    return [p for p in command.params if p.param_type_name == "option"]


def _reads_config(command: Command) -> bool:
    return any("--config" in p.opts for p in _options(command))


READERS = [(" ".join(path), command) for path, command in COMMANDS if _reads_config(command)]


def test_the_commands_that_read_a_config_are_found() -> None:
    names = {name for name, _ in READERS}
    assert {"validate", "render", "net matrix", "net check", "status", "up"} <= names


@pytest.mark.parametrize(("name", "command"), READERS, ids=[n for n, _ in READERS])
def test_a_command_reads_its_config_by_dash_c(name: str, command: Command) -> None:
    option = next(p for p in _options(command) if "--config" in p.opts)
    assert "-c" in option.opts, f"homelab {name}: -c is the short form everywhere"


def _own_arguments(command: Command) -> list[str]:
    return [p.name for p in command.params if p.param_type_name == "argument" and p.name != "config"]


PLAIN = [(name, command) for name, command in READERS if not _own_arguments(command)]
"""The config readers with no argument of their own: each takes the file as its argument."""


def test_commands_with_arguments_of_their_own_are_few_and_known() -> None:
    assert sorted(name for name, c in READERS if _own_arguments(c)) == [
        "backup restore",
        "net check",
        "net resolve",
        "secrets rotate",
        "users add",
        "users groups",
        "users passwd",
        "users remove",
    ]


@pytest.mark.parametrize(("name", "command"), PLAIN, ids=[n for n, _ in PLAIN])
def test_a_command_without_other_arguments_takes_the_file_as_its_argument(
    name: str, command: Command
) -> None:
    arguments = [p.name for p in command.params if p.param_type_name == "argument"]
    assert arguments == ["config"], f"homelab {name} must take FILE like validate does"


def test_net_matrix_takes_the_file(cli: Callable[..., Any], tmp_path: Path) -> None:
    cli("init", str(tmp_path))
    result = cli("net", "matrix", str(tmp_path / "homelab.yaml"))
    assert result.code == 0, result.err
    assert "who reaches what" in result.out


def test_a_folder_holding_homelab_yaml_is_taken_for_its_file(cli: Callable[..., Any], tmp_path: Path) -> None:
    cli("init", str(tmp_path / "lab"))
    assert cli("validate", str(tmp_path / "lab")).code == 0
    assert cli("net", "matrix", "-c", str(tmp_path / "lab")).code == 0


def test_from_the_folder_above_the_missing_default_names_the_one_below(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("init", str(tmp_path / "my-homelab"))
    monkeypatch.chdir(tmp_path)
    result = cli("net", "matrix")
    assert result.code == 2
    assert "did you mean my-homelab/homelab.yaml?" in result.err
    assert "Traceback" not in result.err


def test_a_missing_named_file_says_so_without_guessing(cli: Callable[..., Any], tmp_path: Path) -> None:
    result = cli("validate", str(tmp_path / "nope.yaml"))
    assert result.code == 2
    assert "no such file" in result.err
    assert "did you mean" not in result.err
