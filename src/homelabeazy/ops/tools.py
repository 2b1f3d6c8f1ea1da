"""Local command-line tools preflight and doctor rely on: their versions, the Ansible collections
installed, and `git ls-remote`."""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
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


_GIT_BOILERPLATE = ("Please make sure you have the correct access rights", "and the repository exists")


def git_ls_remote(
    url: str,
    revision: str,
    timeout: float = 20.0,
    *,
    env: Mapping[str, str] | None = None,
    fix: str = "check gitops.repo_url and your credentials for it",
) -> str:
    """The commit `revision` points to on the remote; raises when the remote or the branch is missing.

    GIT_TERMINAL_PROMPT=0: a remote asking for a password must fail, not hang preflight. `env`
    adds variables (the credentials of `ssh_key_env` / `token_env`); `fix` is the hint on failure.
    """
    try:
        done = subprocess.run(
            ["git", "ls-remote", "--", url, revision],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
            # With credentials of its own, run outside any repository: a clone's .git/config
            # (url rewrites, credential helpers) must not change which remote or key is used.
            cwd=os.path.abspath(os.sep) if env else None,
        )
    except subprocess.TimeoutExpired:
        raise ExternalSystemError("git", f"ls-remote {url}", f"no answer in {timeout:g}s", fix) from None
    except FileNotFoundError:
        raise ExternalSystemError("git", "running git", "git is not installed", "install git") from None
    if done.returncode != 0:
        # ssh says why (`Permission denied (publickey)`, a changed host key) before git's own
        # closing words, which say nothing more than that it failed.
        lines = [
            line.strip()
            for line in done.stderr.splitlines()
            if line.strip() and not line.startswith(_GIT_BOILERPLATE)
        ]
        answer = "; ".join(lines[-2:]) or f"exit code {done.returncode}"
        raise ExternalSystemError("git", f"ls-remote {url}", answer, fix)
    line = done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""
    if not line:
        raise ExternalSystemError(
            "git",
            f"ls-remote {url} {revision}",
            "no such branch or tag",
            f"push {revision} (the rendered repo) to the remote first",
        )
    return line.split()[0]


# Git as ArgoCD sees the remote: none of the user's git or ssh configuration (url rewrites,
# credential helpers, askpass programs, core.sshCommand, IdentityFile entries, agent keys) may
# help the check pass. Configuration given through GIT_CONFIG_COUNT outranks every file; an
# empty credential.helper clears the list, an empty GIT_ASKPASS disables askpass.
def _isolated_git(*config: tuple[str, str]) -> dict[str, str]:
    pairs = [("credential.helper", ""), *config]
    env = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_ASKPASS": ""}
    env["GIT_CONFIG_COUNT"] = str(len(pairs))
    for i, (key, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


def ssh_key_env(key: Path, known_hosts: Sequence[Path]) -> dict[str, str]:
    """Environment making git reach an ssh remote with exactly `key`, nothing else.

    `-F /dev/null` and `IdentitiesOnly=yes` (with no agent) leave `key` the only identity offered;
    BatchMode fails instead of prompting. Host keys: `StrictHostKeyChecking=accept-new` trusts a
    host seen for the first time, records it in the first `known_hosts` file, and refuses a
    changed key on every later run; a host already in a later file (the user's own
    ~/.ssh/known_hosts) is checked against that record.
    """
    command = [
        "ssh",
        "-F",
        os.devnull,
        "-i",
        str(key),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "IdentityAgent=none",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        "UserKnownHostsFile=" + " ".join(f'"{p}"' for p in known_hosts),
    ]
    return {**_isolated_git(), "GIT_SSH_COMMAND": shlex.join(command)}


def token_env(username: str, token: str) -> dict[str, str]:
    """Environment making git send HTTP basic credentials `username:token` to an https remote.

    Passed as configuration through the environment (GIT_CONFIG_COUNT, git >= 2.31), so the
    token is neither in the command line (visible to every user in `ps`) nor in the URL (which
    error messages print).
    """
    basic = base64.b64encode(f"{username}:{token}".encode()).decode("ascii")
    return _isolated_git(("http.extraHeader", f"Authorization: Basic {basic}"))
