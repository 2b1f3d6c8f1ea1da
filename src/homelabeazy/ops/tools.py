"""Local command-line tools preflight relies on: their versions, and `git ls-remote`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from homelabeazy.errors import ExternalSystemError


@dataclass(frozen=True)
class ToolVersion:
    """A tool found on PATH with the version it reports."""

    name: str
    path: str
    version: tuple[int, ...]

    @property
    def text(self) -> str:
        """`1.11.4`."""
        return ".".join(str(p) for p in self.version)


def parse_version(text: str) -> tuple[int, ...] | None:
    """The first dotted version number in `text` (`ansible-playbook [core 2.19.14]` -> (2, 19, 14))."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if match is None:
        return None
    return tuple(int(p) for p in match.groups() if p is not None)


def find_tool(name: str) -> str | None:
    """`name` beside the running Python (a pip-installed ansible in homelab's own venv), else on PATH.

    The same order ops/ansible.py runs ansible-playbook in, so preflight checks the version of the
    very binary the configure stage will run.
    """
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def tool_version(name: str, timeout: float = 20.0) -> ToolVersion | None:
    """`name`'s version, or None when it is not on PATH. terraform answers JSON; others text."""
    path = find_tool(name)
    if path is None:
        return None
    if name == "terraform":
        done = _run([path, "version", "-json"], timeout)
        try:
            version = parse_version(json.loads(done.stdout)["terraform_version"])
        except (ValueError, KeyError):
            version = parse_version(done.stdout)
    else:
        done = _run([path, "--version"], timeout)
        version = parse_version(done.stdout + done.stderr)
    if version is None:
        raise ExternalSystemError(
            name, "reading its version", (done.stdout + done.stderr).strip()[:200] or "no output"
        )
    return ToolVersion(name, path, version)


def git_ls_remote(url: str, revision: str, timeout: float = 20.0) -> str:
    """The commit `revision` points to on the remote; raises when the remote or the branch is missing.

    GIT_TERMINAL_PROMPT=0: a remote asking for a password must fail, not hang preflight.
    """
    try:
        done = subprocess.run(
            ["git", "ls-remote", "--", url, revision],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except subprocess.TimeoutExpired:
        raise ExternalSystemError("git", f"ls-remote {url}", f"no answer in {timeout:g}s") from None
    except FileNotFoundError:
        raise ExternalSystemError("git", "running git", "git is not installed", "install git") from None
    if done.returncode != 0:
        answer = (done.stderr.strip().splitlines() or ["exit code " + str(done.returncode)])[-1]
        raise ExternalSystemError(
            "git", f"ls-remote {url}", answer, "check gitops.repo_url and your credentials for it"
        )
    line = done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""
    if not line:
        raise ExternalSystemError(
            "git",
            f"ls-remote {url} {revision}",
            "no such branch or tag",
            f"push {revision} (the rendered repo) to the remote first",
        )
    return line.split()[0]
