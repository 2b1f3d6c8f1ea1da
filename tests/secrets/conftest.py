"""Fixtures for the Vault and LDAP tests: real servers, an isolated environment, a leak checker."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from homelabeazy.config.starter import example_text
from tests.conftest import CliResult
from tests.secrets.directory_data import (  # noqa: F401 - registers the directory backup fixtures
    backup_users,
    bucket_users,
    directory_server,
    populated,
)
from tests.secrets.servers import BaoServer

ENV_VARS = (
    "VAULT_ADDR",
    "VAULT_TOKEN",
    "VAULT_CACERT",
    "HOMELAB_VAULT_BOOTSTRAP",
    "HOMELAB_KUBERNETES_HOST",
    "LDAP_URL",
    "LDAP_BIND_DN",
    "LDAP_BIND_PASSWORD",
    "LDAP_CA_CERT",
)


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No Vault/LDAP settings from the caller's shell; ~/.config points into tmp_path."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    config_home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    return config_home


@pytest.fixture
def repo(tmp_path: Path, isolated: Path) -> Path:
    """A homelab repository folder holding the example homelab.yaml."""
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "homelab.yaml").write_text(example_text(), encoding="utf-8")
    return folder


@pytest.fixture
def bao(tmp_path: Path) -> Iterator[BaoServer]:
    """A fresh, uninitialised OpenBao server; killed after the test whatever happens."""
    server = BaoServer(tmp_path / "bao")
    server.workdir.mkdir()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@dataclass
class Transcript:
    """Every output a test produced, to prove no secret ever appears in it."""

    caplog: pytest.LogCaptureFixture
    texts: list[str] = field(default_factory=list)

    def add(self, result: CliResult) -> CliResult:
        self.texts.extend((result.out, result.err))
        return result

    def assert_clean(self, secrets: set[str]) -> None:
        assert secrets, "nothing to look for: the test collected no secret values"
        everything = "\n".join([*self.texts, self.caplog.text])
        leaked = sorted(s for s in secrets if s and s in everything)
        assert not leaked, f"{len(leaked)} secret value(s) appear in captured output or logs"


@pytest.fixture
def transcript(caplog: pytest.LogCaptureFixture) -> Transcript:
    """Collects CLI output; logs at DEBUG from every library are captured too."""
    caplog.set_level(logging.DEBUG)
    return Transcript(caplog)


@pytest.fixture
def homelab_cli(cli: Callable[..., CliResult], transcript: Transcript) -> Callable[..., CliResult]:
    """The in-process CLI, recording every output into the transcript."""

    def invoke(*args: str) -> CliResult:
        return transcript.add(cli(*args))

    return invoke
