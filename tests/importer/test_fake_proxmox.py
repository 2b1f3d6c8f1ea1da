"""The fake Proxmox itself: it must reject what real Proxmox rejects, or it proves nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.support.fake_proxmox import DEFAULT_TOKEN, Estate, FakeProxmox


@pytest.fixture
def pve():
    server = FakeProxmox(Estate.load("homelab"), tls=False).start()
    yield server
    server.stop()


def _get(pve: FakeProxmox, path: str, method: str = "GET") -> httpx.Response:
    headers = {"Authorization": f"PVEAPIToken={DEFAULT_TOKEN}"}
    return httpx.request(method, f"{pve.url}/api2/json{path}", headers=headers)


@pytest.mark.parametrize(
    ("path", "method", "expected"),
    [
        ("/cluster/resources?type=qemu", "GET", "not one of"),
        ("/nodes/pve1/qemu/99/config", "GET", "below the minimum 100"),
        ("/nodes/pve1/qemu/100/config?current=maybe", "GET", "not a boolean"),
        ("/nodes/pve1/qemu/100/config?verbose=1", "GET", "unknown parameter 'verbose'"),
        ("/nodes/pve1/vms/100/config", "GET", "no such path"),
        ("/version", "DELETE", "method not allowed"),
        ("/nodes/pve_1/qemu", "GET", "not a valid pve-node"),
    ],
    ids=["enum", "range", "boolean", "unknown-param", "unknown-path", "method", "node-format"],
)
def test_invalid_requests_are_recorded_as_violations(
    pve: FakeProxmox, path: str, method: str, expected: str
) -> None:
    response = _get(pve, path, method)
    assert response.status_code == 400
    assert any(expected in v for v in pve.violations), pve.violations
    with pytest.raises(AssertionError, match="violating the Proxmox VE API"):
        pve.assert_valid()


def test_requests_outside_the_api_and_unauthenticated_ones_are_still_checked(pve: FakeProxmox) -> None:
    assert httpx.get(f"{pve.url}/api2/extjs/version").status_code == 404
    assert httpx.get(f"{pve.url}/api2/json/nodes/pve1/qemu/1/config").status_code == 401
    assert pve.violations == [
        "GET /api2/extjs/version: not under /api2/json",
        "GET /nodes/{node}/qemu/{vmid}/config: vmid='1': below the minimum 100",
    ]


def test_valid_requests_are_served(pve: FakeProxmox) -> None:
    assert _get(pve, "/cluster/resources?type=vm").json()["data"][0]["id"] == "qemu/100"
    assert _get(pve, "/nodes/pve2/lxc").json()["data"] == [
        {"vmid": 200, "name": "pihole", "status": "running"}
    ]
    assert _get(pve, "/nodes/pve1/qemu/100/config?current=1").json()["data"]["name"] == "docker-host"
    wrong_node = _get(pve, "/nodes/pve2/qemu/100/config")
    assert wrong_node.status_code == 500
    assert "does not exist" in wrong_node.reason_phrase
    pve.assert_valid()


def test_authentication_is_required(pve: FakeProxmox) -> None:
    assert httpx.get(f"{pve.url}/api2/json/version").status_code == 401
    assert pve.requests[-1].authorized is False


def test_synthetic_estate_is_valid_and_sized() -> None:
    estate = Estate.synthetic(500)
    assert len(estate.guests) == 500
    assert len({g.vmid for g in estate.guests}) == 500
    assert {g.kind for g in estate.guests} == {"qemu", "lxc"}
