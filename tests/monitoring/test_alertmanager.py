"""The rendered Alertmanager configuration passes real `amtool check-config`, with the receivers
homelab.yaml chooses and their credentials only as files from the Vault-synced Secret."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.model import Homelab
from homelabeazy.render.k8s.services.monitoring import SECRETS_DIR
from tests.conftest import monitored_example_data
from tests.monitoring.conftest import rendered_values
from tests.support.integration import need_binary

AMTOOL_HINT = "Debian package `prometheus-alertmanager` (make test installs it)"
NOTIFY = {
    "ntfy": {"topic": "homelab-alerts-7f3k", "token": True},
    "email": {
        "to": "admin@example.com",
        "sender": "alerts@example.com",
        "host": "smtp.example.com",
        "username": "alerts@example.com",
    },
    "webhook": {"url": "https://hooks.example.com/homelab", "token": True},
}


def _with_notify(notify: dict[str, Any]) -> dict[str, Any]:
    data = monitored_example_data()
    data.setdefault("services", {}).setdefault("monitoring", {})["notify"] = notify
    return data


def _config(homelab: Homelab) -> dict[str, Any]:
    config = rendered_values(homelab)["alertmanager"]["config"]
    assert isinstance(config, dict)
    return config


def _fill_placeholders(config: dict[str, Any], root: Path) -> str:
    """The configuration as the pod sees it, with each credential file from the Secret created
    under `root` (placeholders: the real ones never leave Vault)."""
    text = yaml.safe_dump(config, sort_keys=False)
    for path in sorted(set(_files(config))):
        local = root / path.removeprefix("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text("placeholder-credential\n", encoding="utf-8")
        text = text.replace(path, str(local))
    return text


def _files(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in ([v] if k.endswith("_file") else _files(v))]
    if isinstance(value, list):
        return [f for v in value for f in _files(v)]
    return []


def _amtool(config_file: Path) -> subprocess.CompletedProcess[str]:
    binary = need_binary("amtool", AMTOOL_HINT)
    return subprocess.run(
        [binary, "check-config", str(config_file)], capture_output=True, text=True, timeout=60, check=False
    )


def test_credentials_are_files_from_the_synced_secret(
    homelab_from: Callable[[dict[str, Any]], Homelab],
) -> None:
    config = _config(homelab_from(_with_notify(NOTIFY)))
    files = _files(config)
    assert len(files) == 3
    assert all(f.startswith(f"{SECRETS_DIR}/monitoring-notify/") for f in files)
    text = yaml.safe_dump(config)
    assert "password:" not in text
    assert "credentials:" not in text


def test_no_receiver_configured_keeps_alerts_in_alertmanager(monitored_homelab: Homelab) -> None:
    config = _config(monitored_homelab)
    (receiver,) = [r for r in config["receivers"] if r["name"] == config["route"]["receiver"]]
    assert set(receiver) == {"name"}


@pytest.mark.integration
@pytest.mark.parametrize(
    "notify",
    [NOTIFY, {"ntfy": {"topic": "lab"}}, {"email": {**NOTIFY["email"], "username": None}}, {}],
    ids=["all-three", "ntfy-open", "email-relay", "none"],
)
def test_amtool_accepts_the_rendered_configuration(
    homelab_from: Callable[[dict[str, Any]], Homelab], tmp_path: Path, notify: dict[str, Any]
) -> None:
    config = _config(homelab_from(_with_notify(dict(notify))))
    config_file = tmp_path / "alertmanager.yaml"
    config_file.write_text(_fill_placeholders(config, tmp_path / "root"), encoding="utf-8")
    result = _amtool(config_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.integration
def test_amtool_refuses_a_route_to_an_unknown_receiver(monitored_homelab: Homelab, tmp_path: Path) -> None:
    config = _config(monitored_homelab)
    config["route"]["receiver"] = "nobody"
    config_file = tmp_path / "alertmanager.yaml"
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert _amtool(config_file).returncode != 0
