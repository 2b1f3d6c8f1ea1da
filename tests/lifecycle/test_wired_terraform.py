"""`homelab up --only provision` and `homelab destroy` run the real Terraform adapter end to end,
with the fake `terraform` of tests/terraform on PATH: the stage engine, the journal, the provider
environment and the redaction are all the real ones."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from homelabeazy.config.starter import example_text
from homelabeazy.lifecycle.journal import JOURNAL_PATH, load_journal
from tests.terraform.fake_terraform import install

SECRET = "7c1d9e2f-5a4b-4c3d-8e7f-6a5b4c3d2e1f"
TOKEN = f"terraform@pve!homelab={SECRET}"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> Path:
    """A rendered example repo, the token in the environment, the fake terraform first on PATH."""
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "homelab.yaml").write_text(example_text())
    assert cli("render", str(folder / "homelab.yaml")).code == 0
    bin_dir = install(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_TF_LOG", str(bin_dir / "calls.log"))
    monkeypatch.setenv("FAKE_TF_ENV_LOG", str(bin_dir / "env.log"))
    monkeypatch.setenv("FAKE_TF_SCENARIO", "ok")
    monkeypatch.setenv("PROXMOX_VE_API_TOKEN", TOKEN)
    monkeypatch.setenv("HOMELAB_STATE_HOME", str(tmp_path / "state"))
    return folder


def calls(tmp_path: Path) -> list[list[str]]:
    return [json.loads(line)[0:1] for line in (tmp_path / "bin" / "calls.log").read_text().splitlines()]


def seen_env(tmp_path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in (tmp_path / "bin" / "env.log").read_text().splitlines()]


def test_up_only_provision_runs_init_and_apply_in_terraform(cli, repo: Path, tmp_path: Path) -> None:
    result = cli("up", "--only", "provision", "--yes", str(repo / "homelab.yaml"))
    assert result.code == 0, result.err
    assert calls(tmp_path) == [["init"], ["apply"]]
    for env in seen_env(tmp_path):
        assert env == {
            "cwd": str(repo / "terraform"),
            "endpoint": "https://10.10.30.2:8006/",
            "insecure": "false",
            "token_id": "terraform@pve!homelab",
        }
    assert "provision" in result.err
    assert "terraform apply: 5 added, 0 changed, 0 destroyed" in result.err
    record = load_journal(repo).get("provision")
    assert record is not None
    assert (record.result, record.summary) == ("ok", "terraform apply: 5 added, 0 changed, 0 destroyed")
    assert SECRET not in result.out + result.err


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ("auth401", "Proxmox rejected the API token (HTTP 401)"),
        ("auth403", "the API token lacks a Proxmox privilege (HTTP 403)"),
        ("leak", "terraform: apply failed"),
    ],
)
def test_a_terraform_failure_is_a_clear_stage_failure_without_the_secret(
    cli, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scenario: str, expected: str
) -> None:
    monkeypatch.setenv("FAKE_TF_SCENARIO", scenario)
    result = cli("up", "--only", "provision", "--yes", str(repo / "homelab.yaml"))
    assert result.code == 1
    assert "stage provision failed" in result.err
    assert expected in result.err
    assert "resumes at provision" in result.err
    assert "Traceback" not in result.err
    assert SECRET not in result.out + result.err
    record = load_journal(repo).get("provision")
    assert record is not None
    assert record.result == "failed"
    assert SECRET not in (repo / JOURNAL_PATH).read_text()


def test_a_missing_token_fails_provision_before_terraform_runs(
    cli, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROXMOX_VE_API_TOKEN")
    result = cli("up", "--only", "provision", "--yes", str(repo / "homelab.yaml"))
    assert result.code != 0
    assert "PROXMOX_VE_API_TOKEN is not set" in result.err
    assert not (tmp_path / "bin" / "calls.log").exists()


def test_destroy_runs_terraform_destroy_and_forgets_the_journal(cli, repo: Path, tmp_path: Path) -> None:
    assert cli("up", "--only", "provision", "--yes", str(repo / "homelab.yaml")).code == 0
    result = cli("destroy", "--yes", str(repo / "homelab.yaml"))
    assert result.code == 0, result.err
    assert calls(tmp_path)[2:] == [["init"], ["destroy"]]
    assert "destroyed homelab: terraform destroy: 0 added, 0 changed, 5 destroyed" in result.err
    assert not (repo / JOURNAL_PATH).exists()
    assert SECRET not in result.out + result.err


def test_a_failed_destroy_keeps_the_journal(
    cli, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("up", "--only", "provision", "--yes", str(repo / "homelab.yaml")).code == 0
    monkeypatch.setenv("FAKE_TF_SCENARIO", "unreachable")
    result = cli("destroy", "--yes", str(repo / "homelab.yaml"))
    assert result.code == 1
    assert "Proxmox is unreachable" in result.err
    assert (repo / JOURNAL_PATH).exists()
