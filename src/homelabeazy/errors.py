"""The user-facing error hierarchy and the exit codes, defined once.

The CLI maps these to messages and exit codes; nothing else calls sys.exit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes: 0 ok, 1 an outside system failed / degraded / out of date, 2 bad input."""

    OK = 0
    FAILED = 1
    BAD_INPUT = 2


class HomelabError(Exception):
    """Base of every error a user can cause or meet; never shown as a traceback."""

    exit_code: ExitCode = ExitCode.FAILED


@dataclass(frozen=True)
class Problem:
    """One problem found in the config, located at file:line:col with the field path."""

    path: str
    message: str
    hint: str = ""
    line: int | None = None
    column: int | None = None
    file: str = "homelab.yaml"
    severity: str = "error"
    check: str = ""

    def format(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        field_path = f" {self.path}:" if self.path else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}:{field_path} {self.message}{hint}"


@dataclass
class ConfigError(HomelabError):
    """The config is invalid; carries every problem found, not just the first."""

    problems: list[Problem] = field(default_factory=list)
    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __str__(self) -> str:
        return "\n".join(p.format() for p in self.problems)


class UsageError(HomelabError):
    """A bad command-line argument or a missing input file."""

    exit_code = ExitCode.BAD_INPUT


class ExternalSystemError(HomelabError):
    """An outside system (Proxmox, Vault, LDAP, terraform, ansible, ...) failed.

    The message names the system, what was attempted, what it answered and what to do.
    Callers must never put a secret into it.
    """

    exit_code = ExitCode.FAILED

    def __init__(self, system: str, action: str, answer: str, fix: str = "") -> None:
        self.system = system
        self.action = action
        self.answer = answer
        self.fix = fix
        text = f"{system}: {action} failed: {answer}"
        if fix:
            text += f" — {fix}"
        super().__init__(text)


class RenderConflictError(HomelabError):
    """Rendering would overwrite or delete files the user edited by hand."""

    exit_code = ExitCode.FAILED

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        listed = "\n".join(f"  {p}" for p in paths)
        super().__init__(
            "refusing to overwrite or delete files you edited after they were generated, or that "
            "homelab render did not create:\n"
            f"{listed}\nmove your changes into homelab.yaml, or re-run with --force to discard them"
        )
