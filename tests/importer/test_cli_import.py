"""`homelab import` end to end, in-process, against the fake Proxmox over HTTPS."""

from __future__ import annotations

import difflib
from pathlib import Path

import hcl2
import pytest

from homelabeazy.config.starter import example_text
from tests.support.fake_proxmox import DEFAULT_TOKEN

SECRET = DEFAULT_TOKEN.split("=", 1)[1]


def _import(cli, pve, out: Path, *extra: str):
    return cli("import", "--endpoint", pve.url, "--ca-cert", str(pve.ca_file), "--out", str(out), *extra)


@pytest.mark.fake
def test_import_writes_terraform_and_report(cli, fake_proxmox, token_env, tmp_path: Path) -> None:
    pve = fake_proxmox("homelab")
    out = tmp_path / "adopted"
    result = _import(cli, pve, out)
    assert result.code == 0, result.err
    assert "imported 7 guests from 3 nodes" in result.err
    assert sorted(p.name for p in out.iterdir()) == [
        ".homelab",
        "IMPORT_REPORT.md",
        "guests.tf",
        "imports.tf",
        "versions.tf",
    ]
    assert len(hcl2.loads((out / "imports.tf").read_text())["import"]) == 7
    assert "Proxmox VE 9.1" in (out / "IMPORT_REPORT.md").read_text()
    assert SECRET not in result.err + result.out
    assert not any(SECRET in p.read_text() for p in out.rglob("*") if p.is_file())
    again = _import(cli, pve, out)
    assert again.code == 0
    assert "0 created, 0 updated, 4 unchanged" in again.err


@pytest.mark.fake
def test_untrusted_certificate_fails_with_advice(cli, fake_proxmox, token_env, tmp_path: Path) -> None:
    pve = fake_proxmox("homelab")
    result = cli("import", "--endpoint", pve.url, "--out", str(tmp_path / "o"))
    assert result.code == 1
    assert "Proxmox: TLS handshake with" in result.err
    assert "--ca-cert" in result.err
    assert "Traceback" not in result.err
    assert not (tmp_path / "o").exists()


@pytest.mark.fake
def test_insecure_works_and_warns(cli, fake_proxmox, token_env, tmp_path: Path) -> None:
    pve = fake_proxmox("homelab")
    result = cli("import", "--endpoint", pve.url, "--insecure", "--out", str(tmp_path / "o"))
    assert result.code == 0, result.err
    assert "TLS verification is off" in result.err


@pytest.mark.fake
def test_bad_token_is_exit_1_without_the_secret(cli, fake_proxmox, monkeypatch, tmp_path: Path) -> None:
    pve = fake_proxmox("homelab")
    monkeypatch.setenv("MY_TOKEN", "homelab@pve!import=wrong-secret-value")
    result = _import(cli, pve, tmp_path / "o", "--token-env", "MY_TOKEN")
    assert result.code == 1
    assert "HTTP 401" in result.err
    assert "wrong-secret-value" not in result.err


def test_missing_token_variable_is_exit_2(cli, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PROXMOX_VE_API_TOKEN", raising=False)
    result = cli("import", "--endpoint", "https://127.0.0.1:8006", "--out", str(tmp_path))
    assert result.code == 2
    assert "PROXMOX_VE_API_TOKEN is not set" in result.err


def test_insecure_and_ca_cert_exclude_each_other(cli, token_env, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    result = cli(
        "import",
        "--endpoint",
        "https://127.0.0.1:8006",
        "--insecure",
        "--ca-cert",
        str(ca),
        "--out",
        str(tmp_path),
    )
    assert result.code == 2


@pytest.mark.fake
def test_failed_guest_is_exit_1_and_the_rest_is_written(cli, fake_proxmox, token_env, tmp_path: Path) -> None:
    pve = fake_proxmox("homelab")
    pve.fail_guest(9000)
    out = tmp_path / "o"
    result = _import(cli, pve, out)
    assert result.code == 1
    assert "pve2/9000 debian12-cloud: GET /nodes/pve2/qemu/9000/config: HTTP 500" in result.err
    assert "1 guest(s) could not be read" in result.err
    assert "debian12_cloud_9000" not in (out / "guests.tf").read_text()
    assert "docker_host_100" in (out / "guests.tf").read_text()
    assert "pve2/9000 debian12-cloud (qemu)" in (out / "IMPORT_REPORT.md").read_text()


@pytest.mark.fake
def test_edited_generated_file_is_not_overwritten(cli, fake_proxmox, token_env, tmp_path: Path) -> None:
    pve = fake_proxmox("homelab")
    out = tmp_path / "o"
    assert _import(cli, pve, out).code == 0
    (out / "guests.tf").write_text("# mine\n")
    result = _import(cli, pve, out)
    assert result.code == 1
    assert "guests.tf" in result.err
    assert (out / "guests.tf").read_text() == "# mine\n"
    assert _import(cli, pve, out, "--force").code == 0


@pytest.fixture
def homelab_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "homelab.yaml"
    path.write_text(example_text())
    return path


@pytest.mark.fake
def test_record_adds_unmanaged_inventory_keeping_the_file(
    cli, fake_proxmox, token_env, homelab_yaml: Path, tmp_path: Path
) -> None:
    pve = fake_proxmox("homelab")
    before = homelab_yaml.read_text()
    result = _import(cli, pve, tmp_path / "o", "--record", str(homelab_yaml))
    assert result.code == 0, result.err
    assert "recorded 7 unmanaged guests" in result.err
    # The example assigns VMIDs 200.. to its K3s nodes; the estate already uses 200 and 201.
    assert (
        "VMID 200 is taken by lxc guest 'pihole' on pve2, but homelab.yaml assigns it to node" in result.err
    )
    assert "VMID 201 is taken by lxc guest 'jellyfin'" in result.err
    assert "unmanaged[0].ip: docker-host already uses 10.10.10.21, inside cluster.node_ip_range" in result.err
    after = homelab_yaml.read_text()
    removed = [
        line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line.startswith("- ")
    ]
    assert removed == []  # every comment and line of the user's file survives
    assert (
        "  - name: docker-host\n    vmid: 100\n    node: pve1\n    kind: qemu\n    ip: 10.10.10.21\n" in after
    )
    assert cli("validate", str(homelab_yaml)).code == 0
    again = _import(cli, pve, tmp_path / "o", "--record", str(homelab_yaml))
    assert "already up to date" in again.err
    assert homelab_yaml.read_text() == after


@pytest.mark.fake
def test_record_updates_entries_in_place(
    cli, fake_proxmox, token_env, homelab_yaml: Path, tmp_path: Path
) -> None:
    homelab_yaml.write_text(
        example_text()
        + "\nunmanaged:\n  # the router, do not touch\n"
        + "  - name: old-name\n    vmid: 101\n    node: pve1\n    kind: qemu\n"
        + "  - name: gone\n    vmid: 150\n    node: pve1\n    kind: lxc\n"
    )
    pve = fake_proxmox("homelab")
    assert _import(cli, pve, tmp_path / "o", "--record", str(homelab_yaml)).code == 0
    text = homelab_yaml.read_text()
    assert "# the router, do not touch" in text
    assert "name: pfsense" in text
    assert "old-name" not in text
    assert "vmid: 150" not in text


@pytest.mark.fake
def test_record_refuses_an_invalid_config_before_contacting_proxmox(
    cli, fake_proxmox, token_env, tmp_path: Path
) -> None:
    pve = fake_proxmox("homelab")
    bad = tmp_path / "homelab.yaml"
    bad.write_text("name: x\n")
    result = _import(cli, pve, tmp_path / "o", "--record", str(bad))
    assert result.code == 2
    assert pve.requests == []


def test_the_homelabs_own_nodes_are_not_recorded() -> None:
    from homelabeazy.importer import parse_guest
    from homelabeazy.importer.record import record_unmanaged, vmid_clashes

    own = parse_guest("qemu", "pve1", 200, "running", {"name": "k3s-server-1"})
    other = parse_guest("qemu", "pve1", 201, "running", {"name": "legacy"})
    managed = {200: "k3s-server-1", 201: "k3s-server-2"}
    text = record_unmanaged("name: lab  # my lab\n", [own, other], managed)
    assert text == (
        "name: lab  # my lab\n\n"
        "# Proxmox guests found by `homelab import` that this homelab does not manage.\n"
        "unmanaged:\n  - name: legacy\n    vmid: 201\n    node: pve1\n    kind: qemu\n"
    )
    assert [c.split(" is taken")[0] for c in vmid_clashes([own, other], managed)] == ["VMID 201"]


@pytest.mark.fake
def test_record_keeps_entries_of_guests_that_could_not_be_read(
    cli, fake_proxmox, token_env, homelab_yaml: Path, tmp_path: Path
) -> None:
    pve = fake_proxmox("homelab")
    assert _import(cli, pve, tmp_path / "o", "--record", str(homelab_yaml)).code == 0
    before = homelab_yaml.read_text()
    pve.fail_guest(101)
    result = _import(cli, pve, tmp_path / "o", "--record", str(homelab_yaml))
    assert result.code == 1
    assert homelab_yaml.read_text() == before  # pfsense (101) is still recorded


@pytest.mark.fake
def test_no_progress_bar_when_the_essentials_fail(cli, fake_proxmox, token_env, tmp_path: Path) -> None:
    pve = fake_proxmox("homelab")
    pve.deny(r"^/version$", reason="Permission check failed")
    result = _import(cli, pve, tmp_path / "o")
    assert result.code == 1
    assert "reading guest configs" not in result.err
    assert "Proxmox: GET /version failed: HTTP 403" in result.err


@pytest.mark.fake
def test_plain_http_endpoint_is_warned_about(cli, fake_proxmox, token_env, tmp_path: Path) -> None:
    pve = fake_proxmox("homelab", tls=False)
    result = cli("import", "--endpoint", pve.url, "--out", str(tmp_path / "o"))
    assert result.code == 0, result.err
    assert "token travels unencrypted" in result.err
