"""The terraform adapter: runs init/plan/apply/output/destroy in the rendered terraform/ folder.

Commands run with `-json`, so progress is read as Terraform's machine-readable UI events, not
scraped from coloured text; each event is passed to a callback as it arrives (long applies show
progress). A failure becomes an `ExternalSystemError("terraform", ...)` that says what went wrong
in Proxmox terms: binary missing, token rejected (401), token lacking privileges (403), Proxmox
unreachable, TLS not trusted, provider not configured.

Secrets: the Proxmox token reaches terraform only through its environment. Every line we pass on
or put in an error goes through `redact` first, which removes the token values we know of and
anything that looks like `user@realm!id=secret` or a `PVEAPIToken=` header.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from homelabeazy.config.schema import ProxmoxConfig
from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.toolchain import terraform_min_version

log = logging.getLogger(__name__)

SYSTEM = "terraform"
MIN_VERSION = terraform_min_version()
"""The oldest Terraform the rendered tree accepts (read from blueprint/terraform/versions.tf)."""
INSTALL_HINT = (
    f"install Terraform >= {'.'.join(map(str, MIN_VERSION))} "
    "(https://developer.hashicorp.com/terraform/install, "
    "or `apt install terraform` from the HashiCorp apt repository) and make sure it is on PATH"
)
TOKEN_ENV = "PROXMOX_VE_API_TOKEN"  # noqa: S105 - a variable name
SECRET_ENV_NAMES = (TOKEN_ENV, "PROXMOX_VE_PASSWORD", "PROXMOX_VE_AUTH_TICKET", "AWS_SECRET_ACCESS_KEY")
"""Environment variables whose values are secrets and must never be printed."""

_TOKEN_PATTERN = re.compile(r"([A-Za-z0-9._-]+@[A-Za-z0-9._-]+![A-Za-z0-9._-]+)=\S+")
_HEADER_PATTERN = re.compile(r"(PVEAPIToken[= ])\S+", re.IGNORECASE)
_ENV_ASSIGN_PATTERN = re.compile(r"\b(" + "|".join(SECRET_ENV_NAMES) + r")=\S+")


@dataclass(frozen=True)
class TerraformEvent:
    """One progress line: a `-json` UI event, or a plain text line (kind `text`)."""

    level: str
    message: str
    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)


ProgressCallback = Callable[[TerraformEvent], None]


@dataclass(frozen=True)
class ChangeSummary:
    """What a plan/apply/destroy changed (Terraform's `change_summary` event)."""

    add: int = 0
    change: int = 0
    remove: int = 0

    @property
    def empty(self) -> bool:
        """No change at all: a re-apply of an unchanged homelab."""
        return self.add == self.change == self.remove == 0


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret value and every token-looking string replaced by `***`."""
    # Patterns first, so a token keeps its (non-secret) id: `terraform@pve!homelab=***`.
    text = _TOKEN_PATTERN.sub(r"\1=***", text)
    text = _HEADER_PATTERN.sub(r"\1***", text)
    text = _ENV_ASSIGN_PATTERN.sub(r"\1=***", text)
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The secret values present in `env`, including the bare secret part of a Proxmox token."""
    values = []
    for name in SECRET_ENV_NAMES:
        value = env.get(name)
        if value:
            values.append(value)
            if "=" in value:
                values.append(value.split("=", 1)[1])
    return values


def provider_environment(proxmox: ProxmoxConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """Environment for the bpg provider: endpoint and TLS from homelab.yaml, token from `environ`.

    The token is read from the variable homelab.yaml names (`token_secret_env`) and must belong
    to the configured token id; its value is never echoed in an error.
    """
    token = environ.get(proxmox.token_secret_env, "")
    if not token:
        raise UsageError(
            f"{proxmox.token_secret_env} is not set: export it as '{proxmox.token_id}=<secret>' "
            "(the API token secret is never stored in homelab.yaml)"
        )
    if not token.startswith(proxmox.token_id + "=") or len(token) <= len(proxmox.token_id) + 1:
        raise UsageError(
            f"{proxmox.token_secret_env} does not hold a token of the form '{proxmox.token_id}=<secret>' "
            "(proxmox.token_id in homelab.yaml); the value is not shown"
        )
    return {
        "PROXMOX_VE_ENDPOINT": proxmox.endpoint,
        "PROXMOX_VE_INSECURE": "false" if proxmox.verify_tls else "true",
        TOKEN_ENV: token,
    }


@dataclass
class _Run:
    """The outcome of one terraform invocation."""

    code: int
    stdout_lines: list[str]
    stderr: str
    errors: list[str]
    summary: ChangeSummary | None


class Terraform:
    """One terraform working directory, run with a given environment."""

    def __init__(
        self,
        workdir: Path,
        *,
        env: Mapping[str, str] | None = None,
        binary: str = "terraform",
        on_event: ProgressCallback | None = None,
    ) -> None:
        self.workdir = workdir
        self.env = {**os.environ, **(env or {}), "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
        self.binary = binary
        self.on_event = on_event
        self._secrets = secret_values(self.env)

    def init(self, *, upgrade: bool = False) -> None:
        """`terraform init`: backend and provider plugins (needs the registry or a mirror)."""
        args = ["init", "-input=false", "-no-color", "-json"]
        if upgrade:
            args.append("-upgrade")
        self._check("initialise the working directory", self._run(args))

    def plan(self, *, out: str | None = None, destroy: bool = False) -> ChangeSummary:
        """`terraform plan`; returns what would change (and saves the plan to `out` if given)."""
        args = ["plan", "-input=false", "-no-color", "-json"]
        if destroy:
            args.append("-destroy")
        if out:
            args.append(f"-out={out}")
        run = self._check("plan", self._run(args))
        return run.summary or ChangeSummary()

    def apply(self, *, plan_file: str | None = None) -> ChangeSummary:
        """`terraform apply` (of a saved plan, or auto-approved); returns what changed."""
        args = ["apply", "-input=false", "-no-color", "-json"]
        args.append(plan_file if plan_file else "-auto-approve")
        run = self._check("apply", self._run(args))
        return run.summary or ChangeSummary()

    def destroy(self) -> ChangeSummary:
        """`terraform destroy`, auto-approved: the caller asks the user first."""
        run = self._check(
            "destroy", self._run(["destroy", "-input=false", "-no-color", "-json", "-auto-approve"])
        )
        return run.summary or ChangeSummary()

    def output(self) -> dict[str, Any]:
        """`terraform output -json`: output name -> {value, type, sensitive}."""
        run = self._check("read outputs", self._run(["output", "-no-color", "-json"], stream=False))
        text = "\n".join(run.stdout_lines).strip()
        try:
            data = json.loads(text or "{}")
        except json.JSONDecodeError as exc:
            raise ExternalSystemError(
                SYSTEM, "read outputs", f"`terraform output -json` did not print JSON ({exc.msg})"
            ) from None
        if not isinstance(data, dict):
            raise ExternalSystemError(
                SYSTEM, "read outputs", "`terraform output -json` did not print an object"
            )
        return data

    # ------------------------------------------------------------------ running

    def _executable(self) -> str:
        found = shutil.which(self.binary, path=self.env.get("PATH"))
        if found is None:
            raise ExternalSystemError(
                SYSTEM, f"run `{self.binary}`", "the terraform binary was not found", INSTALL_HINT
            )
        return found

    def _run(self, args: list[str], *, stream: bool = True) -> _Run:
        command = [self._executable(), *args]
        log.debug("running %s in %s", " ".join([self.binary, *args]), self.workdir)
        lines: list[str] = []
        errors: list[str] = []
        summary: ChangeSummary | None = None
        with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as err_file:
            try:
                proc = subprocess.Popen(
                    command,
                    cwd=self.workdir,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=err_file,
                    text=True,
                    encoding="utf-8",
                    errors="replace",
                )
            except FileNotFoundError:
                raise ExternalSystemError(
                    SYSTEM, f"run `{self.binary}`", "the terraform binary was not found", INSTALL_HINT
                ) from None
            except OSError as exc:
                raise ExternalSystemError(
                    SYSTEM, f"run `{self.binary}`", f"could not start it: {exc.strerror}", INSTALL_HINT
                ) from None
            assert proc.stdout is not None
            try:
                for raw in proc.stdout:
                    line = raw.rstrip("\n")
                    lines.append(line)
                    if not stream:
                        continue
                    event = self._event(line)
                    if event is None:
                        continue
                    if event.kind == "change_summary":
                        summary = _summary(event.data)
                    if event.kind == "diagnostic" and event.level == "error":
                        errors.append(_diagnostic_text(event.data, self._secrets))
                    if self.on_event is not None:
                        self.on_event(event)
                code = proc.wait()
            except KeyboardInterrupt:
                # Terraform stops gracefully on SIGINT and keeps its state consistent; wait for it.
                proc.send_signal(signal.SIGINT)
                proc.wait()
                raise
            err_file.seek(0)
            stderr = redact(err_file.read(), self._secrets)
        return _Run(code, lines, stderr, errors, summary)

    def _event(self, line: str) -> TerraformEvent | None:
        if not line.strip():
            return None
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            return TerraformEvent("info", redact(line, self._secrets), "text")
        message = redact(str(data.get("@message", "")), self._secrets)
        return TerraformEvent(str(data.get("@level", "info")), message, str(data.get("type", "")), data)

    def _check(self, action: str, run: _Run) -> _Run:
        if run.code == 0:
            return run
        plain = [
            redact(line, self._secrets) for line in run.stdout_lines if not line.lstrip().startswith("{")
        ]
        details = [*run.errors, *(p for p in plain if p.strip()), *_meaningful(run.stderr)]
        raise classify_failure(action, details, self.env.get("PROXMOX_VE_ENDPOINT", ""))


def _summary(data: Mapping[str, Any]) -> ChangeSummary:
    changes = data.get("changes") or {}
    return ChangeSummary(
        int(changes.get("add", 0)), int(changes.get("change", 0)), int(changes.get("remove", 0))
    )


def _diagnostic_text(data: Mapping[str, Any], secrets: Iterable[str]) -> str:
    diagnostic = data.get("diagnostic") or {}
    summary = str(diagnostic.get("summary", "")).strip()
    detail = " ".join(str(diagnostic.get("detail", "")).split())
    address = diagnostic.get("address")
    text = f"{summary}: {detail}" if detail else summary
    if address:
        text = f"{address}: {text}"
    return redact(text, secrets)


def _meaningful(stderr: str) -> list[str]:
    """stderr lines worth quoting: not box drawing, not the CLI-config warning noise."""
    out = []
    for line in stderr.splitlines():
        stripped = line.strip(" │╷╵\t")
        if stripped and "CLI configuration" not in stripped and "problems with the CLI" not in stripped:
            out.append(stripped)
    return out


# ---------------------------------------------------------------------- failure classification

_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (
        re.compile(
            r"Failed to query available provider packages|registry\.terraform\.io|Failed to install provider",
            re.I,
        ),
        "the bpg/proxmox provider could not be downloaded",
        "terraform init needs HTTPS access to registry.terraform.io and github.com, or a provider mirror "
        "(provider_installation in ~/.terraformrc)",
    ),
    (
        re.compile(r"HTTP 401|\b401 Unauthorized|authentication failure|invalid token|no ticket", re.I),
        "Proxmox rejected the API token (HTTP 401)",
        "check that PROXMOX_VE_API_TOKEN is the full 'user@realm!tokenid=secret' of an existing, "
        "unexpired token (Datacenter > Permissions > API Tokens)",
    ),
    (
        re.compile(r"HTTP 403|\b403 Forbidden|permission check failed", re.I),
        "the API token lacks a Proxmox privilege (HTTP 403)",
        "grant the token's user (and the token, if privilege-separated) the role of README.md's "
        "'Proxmox API token' section on / (`homelab up --only preflight` lists what is missing)",
    ),
    (
        re.compile(r"x509|certificate signed by unknown authority|certificate is not valid|tls: ", re.I),
        "the Proxmox API's TLS certificate is not trusted",
        "install a trusted certificate on Proxmox, or set proxmox.verify_tls: false for a self-signed lab "
        "certificate",
    ),
    (
        re.compile(
            r"connection refused|no such host|no route to host|network is unreachable|i/o timeout|"
            r"context deadline exceeded|dial tcp|connection reset|Client\.Timeout",
            re.I,
        ),
        "Proxmox is unreachable",
        "check proxmox.endpoint (https://<host>:8006/), that the host is up, and that this machine may "
        "reach port 8006 (management VLAN firewall rules)",
    ),
    (
        re.compile(r"must specify the (endpoint|API|virtual environment)|endpoint.*(missing|required)", re.I),
        "the bpg/proxmox provider is not configured",
        "export PROXMOX_VE_ENDPOINT and PROXMOX_VE_API_TOKEN (`homelab up` sets them from homelab.yaml)",
    ),
)  # fmt: skip


def classify_failure(action: str, details: list[str], endpoint: str = "") -> ExternalSystemError:
    """A clear error from what terraform printed (already redacted), Proxmox failures named as such."""
    for pattern, answer, fix in _RULES:
        matching = [d for d in details if pattern.search(d)]
        if matching:
            where = f" at {endpoint}" if endpoint and "unreachable" in answer else ""
            return ExternalSystemError(SYSTEM, action, f"{answer}{where}: {_clip(matching[0])}", fix)
    quoted = _clip(details[0]) if details else "terraform exited with an error and printed nothing"
    return ExternalSystemError(SYSTEM, action, quoted)


def _clip(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
