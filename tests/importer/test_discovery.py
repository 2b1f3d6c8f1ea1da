"""Discovery against the fake Proxmox: the whole estate, bounded concurrency, failures isolated."""

from __future__ import annotations

import pytest

from homelabeazy.errors import ExternalSystemError
from homelabeazy.importer import Container, Vm, render_import
from homelabeazy.lifecycle.importer import GuestRef, discover, list_guests
from homelabeazy.ops.proxmox import ApiToken, ProxmoxClient
from tests.importer.conftest import parsed_estate
from tests.support.fake_proxmox import DEFAULT_TOKEN, Estate


def _client(pve, concurrency: int = 8) -> ProxmoxClient:
    return ProxmoxClient(
        pve.url, ApiToken.parse(DEFAULT_TOKEN, "test"), ca_cert=pve.ca_file, max_connections=concurrency
    )


@pytest.mark.fake
def test_discovers_every_host_and_guest(fake_proxmox) -> None:
    pve = fake_proxmox("homelab")
    progress: list[tuple[int, int]] = []
    with _client(pve) as client:
        found = discover(client, on_progress=lambda done, total, ref: progress.append((done, total)))
    assert found.release == "9.1"
    assert found.nodes == ("pve1", "pve2", "pve3")
    assert found.failures == ()
    assert list(found.guests) == sorted(parsed_estate("homelab"), key=lambda g: (g.node, g.vmid))
    assert {type(g) for g in found.guests} == {Vm, Container}
    assert progress[-1] == (7, 7)
    assert len(progress) == 7
    paths = sorted(r.path for r in pve.config_requests())
    assert paths == sorted(f"/nodes/{g.node}/{g.kind}/{g.vmid}/config" for g in found.guests)


@pytest.mark.fake
def test_a_failing_guest_is_reported_and_the_rest_continue(fake_proxmox) -> None:
    pve = fake_proxmox("homelab")
    pve.fail_guest(101)
    pve.deny(r"^/nodes/pve3/lxc/201/config$", reason="Permission check failed (/vms/201, VM.Audit)")
    with _client(pve) as client:
        found = discover(client)
    assert [(f.vmid, f.name) for f in found.failures] == [(101, "pfsense"), (201, "jellyfin")]
    assert "HTTP 500 unable to read config of 101" in found.failures[0].error
    assert "HTTP 403 Permission check failed (/vms/201, VM.Audit)" in found.failures[1].error
    assert sorted(g.vmid for g in found.guests) == [100, 102, 200, 9000, 9001]


@pytest.mark.fake
def test_a_config_proxmox_would_not_produce_is_reported(fake_proxmox) -> None:
    estate = Estate.load("homelab")
    broken = estate.guest(100)
    assert broken is not None
    broken.config["net0"] = "bridge=vmbr0"  # no model: a parse failure, not a crash
    pve = fake_proxmox(estate)
    with _client(pve) as client:
        found = discover(client)
    assert [f.vmid for f in found.failures] == [100]
    assert "config not understood" in found.failures[0].error


@pytest.mark.fake
def test_essential_reads_failing_stop_the_import(fake_proxmox) -> None:
    pve = fake_proxmox("homelab")
    pve.deny(r"^/nodes$", reason="Permission check failed (/nodes, Sys.Audit)")
    with _client(pve) as client, pytest.raises(ExternalSystemError, match="GET /nodes failed: HTTP 403"):
        discover(client)


@pytest.mark.fake
def test_concurrency_is_bounded_and_used(fake_proxmox) -> None:
    pve = fake_proxmox(Estate.synthetic(40, nodes=2), latency=0.02)
    with _client(pve, concurrency=4) as client:
        found = discover(client, concurrency=4)
    assert len(found.guests) == 40
    assert pve.max_in_flight == 4


@pytest.mark.fake
def test_one_at_a_time_means_one_at_a_time(fake_proxmox) -> None:
    pve = fake_proxmox(Estate.synthetic(8, nodes=2), latency=0.005)
    with _client(pve, concurrency=1) as client:
        discover(client, concurrency=1)
    assert pve.max_in_flight == 1


@pytest.mark.fake
def test_an_empty_view_warns_about_privileges(fake_proxmox) -> None:
    pve = fake_proxmox(Estate(version={"release": "9.1", "version": "9.1.1", "repoid": "abcdef12"},
                              nodes=[{"node": "pve1", "status": "online"}], guests=[]))  # fmt: skip
    with _client(pve) as client:
        found = discover(client)
    assert found.guests == ()
    assert "VM.Audit" in found.warnings[0]
    report = render_import(found.guests, found.failures, warnings=found.warnings)["IMPORT_REPORT.md"]
    assert "## Warnings\n\n- no guests are visible" in report


def test_list_guests_keeps_qemu_and_lxc_only() -> None:
    rows = [
        {"id": "qemu/100", "type": "qemu", "vmid": 100, "node": "pve1", "name": "a", "status": "running"},
        {"id": "lxc/200", "type": "lxc", "vmid": 200, "node": "pve1", "status": "stopped"},
        {"id": "storage/pve1/local", "type": "storage", "node": "pve1"},
        {"id": "openvz/300", "type": "openvz", "vmid": 300, "node": "pve1"},
    ]
    assert list_guests(rows) == [
        GuestRef("pve1", "qemu", 100, "a", "running"),
        GuestRef("pve1", "lxc", 200, "lxc 200", "stopped"),
    ]


@pytest.mark.fake
def test_concurrency_outside_the_bounds_is_refused(fake_proxmox) -> None:
    pve = fake_proxmox("homelab")
    with _client(pve) as client, pytest.raises(ValueError, match="between 1 and 64"):
        discover(client, concurrency=0)
