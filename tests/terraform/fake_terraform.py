"""A stand-in `terraform` for unit tests: prints realistic `-json` UI lines or a failure.

Installed by the tests as an executable named `terraform` in a temporary PATH folder (`install`).
The scenario comes from FAKE_TF_SCENARIO; every invocation's arguments are appended to FAKE_TF_LOG,
and, when FAKE_TF_ENV_LOG is set, its working folder and the provider settings it was given (the
token's id only, never its secret) to that file.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

TS = "2026-11-23T17:39:45.059936Z"
VM = 'proxmox_virtual_environment_vm.node["k3s-server-1"]'


def event(level: str, message: str, kind: str, **extra: object) -> None:
    line = {"@level": level, "@message": message, "@module": "terraform.ui", "@timestamp": TS, "type": kind}
    line.update(extra)
    print(json.dumps(line), flush=True)


def diagnostic(summary: str, detail: str = "", address: str | None = None) -> None:
    diag: dict[str, object] = {"severity": "error", "summary": summary, "detail": detail}
    if address:
        diag["address"] = address
    event("error", f"Error: {summary}", "diagnostic", diagnostic=diag)


def summary(operation: str, add: int, change: int, remove: int) -> None:
    verb = {"plan": "Plan:", "apply": "Apply complete! Resources:", "destroy": "Destroy complete! Resources:"}
    event(
        "info",
        f"{verb[operation]} {add} added, {change} changed, {remove} destroyed.",
        "change_summary",
        changes={"add": add, "change": change, "import": 0, "remove": remove, "operation": operation},
    )


def install(folder: Path) -> Path:
    """Put an executable `terraform` running this script into `folder`; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "terraform"
    script.write_text(
        f"#!{sys.executable}\nimport runpy\nrunpy.run_path({str(Path(__file__))!r}, run_name='__main__')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def main() -> int:
    args = sys.argv[1:]
    with open(os.environ["FAKE_TF_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(args) + "\n")
    if os.environ.get("FAKE_TF_ENV_LOG"):
        seen = {
            "cwd": os.getcwd(),
            "endpoint": os.environ.get("PROXMOX_VE_ENDPOINT"),
            "insecure": os.environ.get("PROXMOX_VE_INSECURE"),
            "token_id": os.environ.get("PROXMOX_VE_API_TOKEN", "").split("=", 1)[0],
        }
        with open(os.environ["FAKE_TF_ENV_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps(seen) + "\n")
    scenario = os.environ.get("FAKE_TF_SCENARIO", "ok")
    command = args[0]
    token = os.environ.get("PROXMOX_VE_API_TOKEN", "")
    if command == "output":
        if scenario == "no-state":
            print("{}")
            return 0
        with open(os.environ["FAKE_TF_OUTPUT"], encoding="utf-8") as f:
            sys.stdout.write(f.read())
        return 0
    event("info", "Terraform 1.11.4", "version", terraform="1.11.4", ui="1.2")
    if command == "init":
        if scenario == "registry":
            diagnostic(
                "Failed to query available provider packages",
                "Could not retrieve the list of available versions for provider bpg/proxmox: could not "
                "connect to registry.terraform.io: dial tcp: lookup registry.terraform.io: no such host",
            )
            return 1
        print("Initializing provider plugins...", flush=True)
        event("info", "Terraform has been successfully initialized!", "init_output")
        return 0
    operation = "destroy" if command == "destroy" else command
    if scenario == "ok":
        event("info", f"{VM}: Plan to create", "planned_change", change={"action": "create"})
        if command in ("apply", "destroy"):
            event("info", f"{VM}: Creating...", "apply_start", hook={"action": "create"})
            event(
                "info",
                f"{VM}: Still creating... [10s elapsed]",
                "apply_progress",
                hook={"elapsed_seconds": 10},
            )
            event(
                "info",
                f"{VM}: Creation complete after 42s [id=200]",
                "apply_complete",
                hook={"action": "create"},
            )
        summary(operation, 5, 0, 0) if command != "destroy" else summary(operation, 0, 0, 5)
        return 0
    failures = {
        "auth401": (
            "error retrieving VM list: received an HTTP 401 response - Reason: authentication failure",
            "",
        ),
        "auth403": (
            "error creating VM: received an HTTP 403 response - Reason: Permission check failed "
            "(/vms/200, VM.Allocate)",
            "",
        ),
        "unreachable": (
            "error retrieving version",
            'Get "https://10.10.30.2:8006/api2/json/version": dial tcp 10.10.30.2:8006: connect: '
            "connection refused",
        ),
        "tls": (
            "error retrieving version",
            'Get "https://10.10.30.2:8006/api2/json/version": tls: failed to verify certificate: '
            "x509: certificate signed by unknown authority",
        ),
        "noconfig": (
            "you must specify the endpoint for the Proxmox Virtual Environment API (valid: https://host:port)",
            "",
        ),
        "leak": (
            f"request failed with Authorization: PVEAPIToken={token}",
            f"provider debug: token {token} and secret {token.split('=', 1)[-1]}",
        ),
        "other": ("Unsupported argument", 'An argument named "vlan" is not expected here.'),
    }
    if scenario == "leak":
        print(f"plain debug line with {token}", flush=True)
        print(f"PROXMOX_VE_API_TOKEN={token}", file=sys.stderr, flush=True)
    if scenario == "silent":
        return 1
    summary_text, detail = failures[scenario]
    diagnostic(summary_text, detail, address=VM)
    return 1


if __name__ == "__main__":
    sys.exit(main())
