"""Issue 14, class 6: insecure transport is explicit per system and loud; secrets never go in clear
without the user saying so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from homelabeazy.config.starter import example_text
from homelabeazy.errors import UsageError
from homelabeazy.lifecycle import wiring
from homelabeazy.lifecycle.secrets import (
    ALLOW_HTTP_ENV,
    CleartextVaultError,
    check_vault_url,
    cleartext_warning,
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "homelab.yaml"
    path.write_text(example_text(), encoding="utf-8")
    return path


@pytest.fixture
def proxmox_verify(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What TLS choice status hands the Proxmox client (the probes themselves are not run)."""
    seen: list[Any] = []

    def client(_homelab: Any, verify: Any = None, timeout: float = 5.0) -> Any:
        seen.append(verify)
        raise UsageError("not contacting Proxmox in this test")

    monkeypatch.setattr(wiring, "proxmox_client", client)
    monkeypatch.setattr(wiring, "collect_status", lambda *_a, **_k: [])
    return seen


def test_status_insecure_keeps_verifying_proxmox(cli, config: Path, proxmox_verify: list[Any]) -> None:
    result = cli("status", "--insecure", str(config))
    assert proxmox_verify == [None]  # homelab.yaml's verify_tls, not --insecure
    assert "--insecure" in result.err
    assert "NOT" in result.err  # loud
    assert "Proxmox still is" in " ".join(result.err.split())


def test_proxmox_insecure_is_its_own_loud_flag(cli, config: Path, proxmox_verify: list[Any]) -> None:
    result = cli("status", "--proxmox-insecure", str(config))
    assert proxmox_verify == [False]
    assert "API token is sent anyway" in " ".join(result.err.split())


def test_status_without_flags_verifies_quietly(cli, config: Path, proxmox_verify: list[Any]) -> None:
    result = cli("status", str(config))
    assert proxmox_verify == [None]
    assert "warning" not in result.err.lower()


@pytest.mark.parametrize("url", ["http://10.10.10.5:8200", "http://vault.home.example.com"])
def test_plain_http_vault_off_this_machine_needs_the_explicit_opt_in(url: str) -> None:
    with pytest.raises(CleartextVaultError) as err:
        check_vault_url(url, environ={})
    assert err.value.exit_code == 2
    assert ALLOW_HTTP_ENV in str(err.value)
    assert check_vault_url(url, environ={ALLOW_HTTP_ENV: "1"}) == url
    warning = cleartext_warning(url)
    assert warning is not None
    assert "UNENCRYPTED" in warning


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8200", "http://localhost:8200", "http://[::1]:8200", "https://v.lan"]
)
def test_loopback_http_and_https_are_fine(url: str) -> None:
    assert check_vault_url(url, environ={}) == url
    assert cleartext_warning(url) is None


@pytest.mark.parametrize(
    "url", ["vault:8200", "http://", "http://h:99999", "http://h:port", "ftp://h", "https://root:tok@v.lan"]
)
def test_malformed_vault_addresses_are_usage_errors(url: str) -> None:
    with pytest.raises(UsageError):
        check_vault_url(url, environ={})


def test_secrets_command_refuses_cleartext_vault_before_sending_anything(
    cli, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOW_HTTP_ENV, raising=False)
    monkeypatch.setenv("VAULT_TOKEN", "root-token-value")
    result = cli("secrets", "status", "-c", str(config), "--vault-addr", "http://192.0.2.1:8200")
    assert result.code == 2, result.err
    assert "unencrypted" in result.err
    assert "root-token-value" not in result.out + result.err
    assert "Traceback" not in result.err


def test_malformed_vault_addr_env_is_exit_2(cli, config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_ADDR", "http://h:notaport")
    monkeypatch.setenv("VAULT_TOKEN", "x")
    result = cli("secrets", "status", "-c", str(config))
    assert result.code == 2, result.err
    assert "internal error" not in result.err


def test_secrets_status_gives_up_on_a_silent_vault_quickly(
    cli, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that accepts and never answers: `secrets status` ends within its timeout, exit 1."""
    import socket
    import time

    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    try:
        started = time.monotonic()
        result = cli(
            "secrets",
            "status",
            "-c",
            str(config),
            "--vault-addr",
            f"http://127.0.0.1:{port}",
            "--timeout",
            "1",
            "--bootstrap-file",
            str(config.parent / "none.json"),
        )
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert result.code == 1, result.err
    assert "Traceback" not in result.err
    assert elapsed < 10, f"waited {elapsed:.1f}s"
