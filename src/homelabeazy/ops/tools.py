"""Local command-line tools preflight and doctor rely on: their versions, the Ansible collections
installed, and `git ls-remote`."""

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


VERSION_ARGS: dict[str, list[str]] = {
    "terraform": ["version", "-json"],
    "helm": ["version", "--short"],
    "kubectl": ["version", "--client"],
    "ssh": ["-V"],
}
"""How each tool is asked its version (default `--version`); none of these contacts a server."""


def tool_version(name: str, timeout: float = 20.0) -> ToolVersion | None:
    """`name`'s version, or None when it is not on PATH. terraform answers JSON; others text."""
    path = find_tool(name)
    if path is None:
        return None
    try:
        done = _run([path, *VERSION_ARGS.get(name, ["--version"])], timeout)
    except subprocess.TimeoutExpired:
        raise ExternalSystemError(name, "reading its version", f"no answer in {timeout:g}s") from None
    except OSError as exc:
        raise ExternalSystemError(name, f"running {path}", exc.strerror or str(exc)) from None
    version = None
    if name == "terraform":
        try:
            version = parse_version(json.loads(done.stdout)["terraform_version"])
        except (ValueError, KeyError, TypeError):
            version = None
    version = version or parse_version(done.stdout + done.stderr)
    if version is None:
        raise ExternalSystemError(
            name, "reading its version", (done.stdout + done.stderr).strip()[:200] or "no output"
        )
    return ToolVersion(name, path, version)


def installed_collections(ansible_playbook: str | None, timeout: float = 60.0) -> dict[str, list[str]]:
    """Every Ansible collection ansible-galaxy sees, name -> versions (one per collections path).

    The ansible-galaxy beside `ansible_playbook` (the one `up` runs), so both read the same
    Python's collections and the same ANSIBLE_COLLECTIONS_PATH.
    """
    galaxy = None
    if ansible_playbook is not None:
        galaxy = shutil.which("ansible-galaxy", path=str(Path(ansible_playbook).parent))
    galaxy = galaxy or find_tool("ansible-galaxy")
    if galaxy is None:
        raise ExternalSystemError(
            "ansible-galaxy", "listing the installed collections", "ansible-galaxy is not on PATH"
        )
    try:
        done = _run([galaxy, "collection", "list", "--format", "json"], timeout)
    except subprocess.TimeoutExpired:
        raise ExternalSystemError("ansible-galaxy", "collection list", f"no answer in {timeout:g}s") from None
    except OSError as exc:
        raise ExternalSystemError("ansible-galaxy", f"running {galaxy}", exc.strerror or str(exc)) from None
    try:
        listing = json.loads(done.stdout or "{}")
        found: dict[str, list[str]] = {}
        for collections in listing.values():
            for name, info in collections.items():
                found.setdefault(name, []).append(str(info.get("version", "")))
    except (ValueError, AttributeError, TypeError):
        answer = (done.stderr.strip() or done.stdout.strip())[:200] or f"exit code {done.returncode}"
        raise ExternalSystemError("ansible-galaxy", "collection list --format json", answer) from None
    return found


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
