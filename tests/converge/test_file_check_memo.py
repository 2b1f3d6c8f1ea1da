"""`validate --deep` remembers a file validator's clean answer under a hash of its inputs and tools:
a warm re-run skips it, any change to what it reads or runs runs it again, problems are never kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from homelabeazy.converge import deep
from homelabeazy.converge.deep import FileCheck

FILES = {"ansible/site.yml": "- hosts: all\n", "terraform/main.tf": "# vms\n"}


class Counting:
    """A validator that counts its runs and answers what it is told to."""

    def __init__(self) -> None:
        self.runs = 0
        self.problems: list[str] = []

    def __call__(self, files: dict[str, str], schemas: Path | None) -> list[str]:
        self.runs += 1
        return list(self.problems)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Counting:
    validator = Counting()
    tool = tmp_path / "bin" / "fake-check"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tool.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(deep, "FILE_CHECKS", (FileCheck(validator, "ansible/", ("fake-check",)),))
    return validator


def test_an_unchanged_input_is_not_checked_again(counting: Counting, tmp_path: Path) -> None:
    memo = tmp_path / "memo.json"
    assert deep._file_problems(dict(FILES), memo) == []
    assert deep._file_problems(dict(FILES), memo) == []
    assert counting.runs == 1


def test_a_changed_file_it_reads_is_checked_again(counting: Counting, tmp_path: Path) -> None:
    memo = tmp_path / "memo.json"
    deep._file_problems(dict(FILES), memo)
    deep._file_problems({**FILES, "ansible/site.yml": "- hosts: k3s\n"}, memo)
    deep._file_problems({**FILES, "ansible/roles/x.yml": "[]\n"}, memo)  # a new file in its folder
    assert counting.runs == 3


def test_a_file_outside_its_folder_does_not_matter(counting: Counting, tmp_path: Path) -> None:
    memo = tmp_path / "memo.json"
    deep._file_problems(dict(FILES), memo)
    deep._file_problems({**FILES, "terraform/main.tf": "# other vms\n"}, memo)
    assert counting.runs == 1


def test_a_replaced_tool_is_run_again(counting: Counting, tmp_path: Path) -> None:
    memo = tmp_path / "memo.json"
    deep._file_problems(dict(FILES), memo)
    tool = tmp_path / "bin" / "fake-check"
    tool.write_text("#!/bin/sh\n# upgraded\nexit 0\n")
    deep._file_problems(dict(FILES), memo)
    assert counting.runs == 2


def test_problems_are_never_remembered(counting: Counting, tmp_path: Path) -> None:
    memo = tmp_path / "memo.json"
    counting.problems = ["ansible/site.yml: ansible-playbook --syntax-check failed: boom"]
    assert deep._file_problems(dict(FILES), memo) == counting.problems
    assert deep._file_problems(dict(FILES), memo) == counting.problems
    assert counting.runs == 2


def test_without_a_memo_every_check_runs(counting: Counting) -> None:
    deep._file_problems(dict(FILES))
    deep._file_problems(dict(FILES))
    assert counting.runs == 2
