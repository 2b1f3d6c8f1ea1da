"""ops/terraform.py with a fake `terraform` on PATH: commands, streaming, failures, redaction."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from homelabeazy.config.schema import ProxmoxConfig
from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.ops.terraform import ChangeSummary, Terraform, TerraformEvent, provider_environment, redact
from tests.terraform.fake_terraform import install

SECRET = "4f6c2d1e-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
TOKEN = f"terraform@pve!homelab={SECRET}"


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    """A folder holding an executable `terraform` that runs fake_terraform.py."""
    return install(tmp_path / "bin")


def runner(fake_bin: Path, scenario: str, events: list[TerraformEvent] | None = None) -> Terraform:
    env = {
        "PATH": f"{fake_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "FAKE_TF_SCENARIO": scenario,
        "FAKE_TF_LOG": str(fake_bin / "calls.log"),
        "FAKE_TF_OUTPUT": str(fake_bin / "output.json"),
        "PROXMOX_VE_ENDPOINT": "https://10.10.30.2:8006/",
        "PROXMOX_VE_API_TOKEN": TOKEN,
    }
    return Terraform(fake_bin.parent, env=env, on_event=events.append if events is not None else None)


def calls(fake_bin: Path) -> list[list[str]]:
    return [json.loads(line) for line in (fake_bin / "calls.log").read_text().splitlines()]


def test_apply_streams_progress_and_returns_the_summary(fake_bin: Path) -> None:
    events: list[TerraformEvent] = []
    summary = runner(fake_bin, "ok", events).apply()
    assert summary == ChangeSummary(add=5)
    kinds = [e.kind for e in events]
    assert kinds == [
        "version",
        "planned_change",
        "apply_start",
        "apply_progress",
        "apply_complete",
        "change_summary",
    ]
    assert events[4].message.endswith("Creation complete after 42s [id=200]")
    assert calls(fake_bin) == [["apply", "-input=false", "-no-color", "-json", "-auto-approve"]]


def test_commands_and_arguments(fake_bin: Path) -> None:
    tf = runner(fake_bin, "ok")
    tf.init()
    assert tf.plan(out="tfplan") == ChangeSummary(add=5)
    tf.apply(plan_file="tfplan")
    assert tf.destroy() == ChangeSummary(remove=5)
    assert calls(fake_bin) == [
        ["init", "-input=false", "-no-color", "-json"],
        ["plan", "-input=false", "-no-color", "-json", "-out=tfplan"],
        ["apply", "-input=false", "-no-color", "-json", "tfplan"],
        ["destroy", "-input=false", "-no-color", "-json", "-auto-approve"],
    ]


def test_plain_text_lines_become_text_events(fake_bin: Path) -> None:
    events: list[TerraformEvent] = []
    runner(fake_bin, "ok", events).init()
    assert TerraformEvent("info", "Initializing provider plugins...", "text") in events


def test_output_parses_json(fake_bin: Path) -> None:
    (fake_bin / "output.json").write_text(json.dumps({"ssh_user": {"sensitive": False, "value": "homelab"}}))
    assert runner(fake_bin, "ok").output() == {"ssh_user": {"sensitive": False, "value": "homelab"}}


def test_output_that_is_not_json_is_an_error(fake_bin: Path) -> None:
    (fake_bin / "output.json").write_text("Warning: No outputs found")
    with pytest.raises(ExternalSystemError, match="did not print JSON"):
        runner(fake_bin, "ok").output()


@pytest.mark.parametrize(
    ("scenario", "answer", "fix"),
    [
        ("auth401", "Proxmox rejected the API token (HTTP 401)", "user@realm!tokenid=secret"),
        ("auth403", "lacks a Proxmox privilege (HTTP 403)", "Proxmox API token"),
        ("unreachable", "Proxmox is unreachable at https://10.10.30.2:8006/", "port 8006"),
        ("tls", "TLS certificate is not trusted", "verify_tls"),
        ("noconfig", "provider is not configured", "PROXMOX_VE_ENDPOINT"),
        ("other", "Unsupported argument", ""),
    ],
)
def test_failures_are_named(fake_bin: Path, scenario: str, answer: str, fix: str) -> None:
    with pytest.raises(ExternalSystemError) as info:
        runner(fake_bin, scenario).apply()
    error = info.value
    assert error.system == "terraform"
    assert error.action == "apply"
    assert answer in error.answer
    assert fix in error.fix
    assert SECRET not in str(error)


def test_403_names_the_missing_privilege(fake_bin: Path) -> None:
    with pytest.raises(ExternalSystemError, match=r"VM\.Allocate"):
        runner(fake_bin, "auth403").plan()


def test_registry_failure_on_init(fake_bin: Path) -> None:
    with pytest.raises(ExternalSystemError, match="could not be downloaded") as info:
        runner(fake_bin, "registry").init()
    assert "registry.terraform.io" in info.value.fix


def test_silent_failure_still_says_something(fake_bin: Path) -> None:
    with pytest.raises(ExternalSystemError, match="exited with an error and printed nothing"):
        runner(fake_bin, "silent").apply()


def test_secrets_never_reach_events_or_errors(fake_bin: Path) -> None:
    events: list[TerraformEvent] = []
    with pytest.raises(ExternalSystemError) as info:
        runner(fake_bin, "leak", events).apply()
    seen = [e.message for e in events] + [json.dumps(dict(e.data)) for e in events if e.kind == "text"]
    assert events, "the leak scenario prints lines"
    assert all(SECRET not in text for text in seen)
    assert SECRET not in str(info.value)
    assert "***" in str(info.value)


def test_missing_binary_says_how_to_install(tmp_path: Path) -> None:
    tf = Terraform(tmp_path, env={"PATH": str(tmp_path)})
    with pytest.raises(ExternalSystemError) as info:
        tf.plan()
    assert "terraform binary was not found" in info.value.answer
    assert "install Terraform" in info.value.fix


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"token {TOKEN} used", "token terraform@pve!homelab=*** used"),
        ("Authorization: PVEAPIToken=root@pam!x=abcd-ef", "Authorization: PVEAPIToken=***"),
        ("PROXMOX_VE_API_TOKEN=whatever-it-is", "PROXMOX_VE_API_TOKEN=***"),
        (f"bare {SECRET} alone", "bare *** alone"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text, [TOKEN, SECRET]) == expected


def _proxmox(**changes: object) -> ProxmoxConfig:
    data: dict[str, object] = {
        "endpoint": "https://10.10.30.2:8006/",
        "token_id": "terraform@pve!homelab",
        "hosts": [{"name": "pve1", "address": "10.10.30.2", "cpus": 8, "memory_mb": 32768}],
    }
    data.update(changes)
    return ProxmoxConfig.model_validate(data)


def test_provider_environment_from_config_and_named_variable() -> None:
    env = provider_environment(_proxmox(token_secret_env="PVE_TOKEN", verify_tls=False), {"PVE_TOKEN": TOKEN})
    assert env == {
        "PROXMOX_VE_ENDPOINT": "https://10.10.30.2:8006/",
        "PROXMOX_VE_INSECURE": "true",
        "PROXMOX_VE_API_TOKEN": TOKEN,
    }


def test_provider_environment_missing_or_foreign_token() -> None:
    with pytest.raises(UsageError, match="PROXMOX_VE_API_TOKEN is not set"):
        provider_environment(_proxmox(), {})
    with pytest.raises(UsageError, match="does not hold a token") as info:
        provider_environment(_proxmox(), {"PROXMOX_VE_API_TOKEN": f"root@pam!other={SECRET}"})
    assert SECRET not in str(info.value)
