"""The Proxmox adapter against the fake API over real HTTPS on loopback: auth, TLS, errors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.ops.proxmox import ApiToken, ProxmoxClient, normalise_endpoint
from tests.support.fake_proxmox import DEFAULT_TOKEN

SECRET = DEFAULT_TOKEN.split("=", 1)[1]


def _token(value: str = DEFAULT_TOKEN) -> ApiToken:
    return ApiToken.parse(value, "test")


def test_token_parsing_and_repr_hides_the_secret() -> None:
    token = _token()
    assert token.token_id == "homelab@pve!import"
    assert SECRET not in repr(token)
    for bad in ("no-equals", "user@pve=secret", "user!id=secret", "user@pve!id="):
        with pytest.raises(UsageError) as info:
            ApiToken.parse(bad, "environment variable X")
        assert "user@realm!tokenid=secret" in str(info.value)


def test_token_from_env() -> None:
    assert ApiToken.from_env("T", {"T": DEFAULT_TOKEN}).token_id == "homelab@pve!import"
    with pytest.raises(UsageError, match="T is not set"):
        ApiToken.from_env("T", {})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://10.0.0.2:8006", "https://10.0.0.2:8006"),
        ("https://10.0.0.2:8006/", "https://10.0.0.2:8006"),
        ("https://pve.lan:8006/api2/json/", "https://pve.lan:8006"),
    ],
)
def test_endpoint_normalisation(given: str, expected: str) -> None:
    assert normalise_endpoint(given) == expected


@pytest.mark.parametrize(
    "bad",
    ["pve:8006", "ftp://x", "https://x/elsewhere", "https://x:99999", "https://[::1", "https://u:p@x:8006"],
)
def test_bad_endpoint_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError):
        normalise_endpoint(bad)


@pytest.mark.fake
def test_verified_tls_with_the_ca(fake_proxmox) -> None:
    pve = fake_proxmox("homelab")
    with ProxmoxClient(pve.url, _token(), ca_cert=pve.ca_file) as client:
        assert client.get("/version")["release"] == "9.1"
        assert [n["node"] for n in client.get("/nodes")] == ["pve1", "pve2", "pve3"]
    assert all(r.authorized for r in pve.requests)


@pytest.mark.fake
def test_untrusted_certificate_is_a_clear_error(fake_proxmox) -> None:
    pve = fake_proxmox("homelab")
    with ProxmoxClient(pve.url, _token()) as client, pytest.raises(ExternalSystemError) as info:
        client.get("/version")
    message = str(info.value)
    assert message.startswith("Proxmox: TLS handshake with https://127.0.0.1:")
    assert "certificate verify failed" in message.lower()
    assert "--ca-cert" in message
    assert "--insecure" in message
    assert pve.requests == []  # nothing, not even the token, was sent


@pytest.mark.fake
def test_insecure_skips_verification(fake_proxmox) -> None:
    pve = fake_proxmox("homelab")
    with ProxmoxClient(pve.url, _token(), verify=False) as client:
        assert client.get("/version")["version"] == "9.1.1"


def test_unreadable_ca_file_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(UsageError, match="--ca-cert"):
        ProxmoxClient("https://127.0.0.1:8006", _token(), ca_cert=bad)


@pytest.mark.fake
def test_bad_token_is_401_with_a_fix_and_no_secret(fake_proxmox) -> None:
    pve = fake_proxmox("homelab")
    wrong = "homelab@pve!import=00000000-dead-beef-0000-000000000000"
    with (
        ProxmoxClient(pve.url, _token(wrong), ca_cert=pve.ca_file) as client,
        pytest.raises(ExternalSystemError) as info,
    ):
        client.get("/nodes")
    message = str(info.value)
    assert "HTTP 401 authentication failure" in message
    assert "token" in message
    assert "dead-beef" not in message
    assert SECRET not in message


@pytest.mark.fake
def test_missing_privilege_is_403_naming_the_role(fake_proxmox) -> None:
    pve = fake_proxmox("homelab")
    pve.deny(r"^/cluster/resources$", reason="Permission check failed (/, Sys.Audit)")
    with (
        ProxmoxClient(pve.url, _token(), ca_cert=pve.ca_file) as client,
        pytest.raises(ExternalSystemError) as info,
    ):
        client.get("/cluster/resources", {"type": "vm"})
    message = str(info.value)
    assert "GET /cluster/resources?type=vm failed: HTTP 403 Permission check failed (/, Sys.Audit)" in message
    assert "PVEAuditor" in message


def test_unreachable_host_is_a_clear_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        ProxmoxClient(f"https://127.0.0.1:{port}", _token(), timeout=2) as client,
        pytest.raises(ExternalSystemError) as info,
    ):
        client.get("/version")
    message = str(info.value)
    assert message.startswith(f"Proxmox: GET /version: connecting to https://127.0.0.1:{port} failed")
    assert "8006" in message


@pytest.mark.fake
def test_a_plain_http_server_is_not_mistaken_for_proxmox(fake_proxmox) -> None:
    pve = fake_proxmox("homelab", tls=False)
    with ProxmoxClient(pve.url, _token()) as client:
        assert client.get("/version")["release"] == "9.1"


@pytest.mark.fake
def test_certificate_for_another_name_is_a_tls_error(fake_proxmox) -> None:
    pve = fake_proxmox("homelab")
    other_name = pve.url.replace("127.0.0.1", "localhost")  # the certificate is for 127.0.0.1 only
    with (
        ProxmoxClient(other_name, _token(), ca_cert=pve.ca_file) as client,
        pytest.raises(ExternalSystemError) as info,
    ):
        client.get("/version")
    assert "TLS handshake" in str(info.value)
    assert "localhost" in str(info.value)
