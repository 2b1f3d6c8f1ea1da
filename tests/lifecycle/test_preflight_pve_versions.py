"""Preflight against Proxmox VE 8.x and 9.x: the version read through GET /version decides which
privileges the token must hold and whether the cloud image can be downloaded.

The fake Proxmox checks every request against the real API description; only the tool, render and
git checks (tested in test_runners.py) are stubbed here, since they do not depend on the version.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from homelabeazy.errors import ExternalSystemError
from homelabeazy.lifecycle import runners as r
from homelabeazy.lifecycle.stages import StageContext
from homelabeazy.model import Homelab, build
from homelabeazy.model.proxmox_privileges import PveVersion, required_privileges
from homelabeazy.ops.proxmox import ApiToken, ProxmoxClient
from tests.lifecycle import pve
from tests.lifecycle.test_runners import up_tools


def _stage(server, homelab: Homelab) -> r.PreflightStage:
    token = ApiToken.parse(pve.token(homelab), "test")
    return r.PreflightStage(
        tools=up_tools(),
        proxmox=lambda: ProxmoxClient(server.url, token, ca_cert=server.ca_file, timeout=3),
        ls_remote=lambda url, rev: "0" * 40,
        render_current=lambda ctx: [],
    )


def _problems(stage: r.PreflightStage, homelab: Homelab, tmp_path: Path) -> str:
    with pytest.raises(ExternalSystemError) as info:
        stage.run(StageContext(tmp_path, homelab))
    return str(info.value)


@pytest.fixture
def template_homelab(example_homelab: Homelab) -> Homelab:
    """The example, cloning template 9000 instead of downloading the cloud image."""
    from homelabeazy.config.schema import VmTemplate

    proxmox = example_homelab.config.proxmox.model_copy(
        update={"image": None, "template": VmTemplate(vm_id=9000, node="pve1")}
    )
    return build(example_homelab.config.model_copy(update={"proxmox": proxmox}))


@pytest.mark.parametrize(
    ("version", "summary"),
    [(pve.VERSION, "Proxmox VE 9.1, token ok"), (pve.VERSION_8, "Proxmox VE 8.4, token ok")],
    ids=["pve-9.1", "pve-8.4"],
)
@pytest.mark.fake
def test_preflight_passes_with_the_privileges_of_the_detected_version(
    example_homelab: Homelab, fake_proxmox, tmp_path: Path, version: dict[str, str], summary: str
) -> None:
    server = fake_proxmox(pve.estate_for(example_homelab, version=version), token=pve.token(example_homelab))
    assert summary in _stage(server, example_homelab).run(StageContext(tmp_path, example_homelab))
    assert [q.path for q in server.requests] == ["/version", "/access/permissions"]
    server.assert_valid()


@pytest.mark.fake
def test_a_pve9_role_on_pve8_names_vm_monitor(example_homelab: Homelab, fake_proxmox, tmp_path: Path) -> None:
    """The role made for 9.x cannot even be created on 8.x; one made without the agent privilege
    lacks exactly VM.Monitor there."""
    estate = pve.estate_for(
        example_homelab,
        version=pve.VERSION_8,
        privileges=set(required_privileges(9)) - {"VM.GuestAgent.Audit"},
    )
    server = fake_proxmox(estate, token=pve.token(example_homelab))
    text = _problems(_stage(server, example_homelab), example_homelab, tmp_path)
    assert "lacks VM.Monitor on / (granted with propagation), which Proxmox VE 8.x requires" in text
    assert "the Proxmox VE 8.x block" in text
    assert "GuestAgent" not in text


@pytest.mark.fake
def test_a_pve8_role_on_pve9_names_the_guest_agent_privilege(
    example_homelab: Homelab, fake_proxmox, tmp_path: Path
) -> None:
    estate = pve.estate_for(example_homelab, privileges=required_privileges(8))
    server = fake_proxmox(estate, token=pve.token(example_homelab))
    text = _problems(_stage(server, example_homelab), example_homelab, tmp_path)
    assert "lacks VM.GuestAgent.Audit on / (granted with propagation), which Proxmox VE 9.x requires" in text


@pytest.mark.fake
def test_a_cloud_image_on_pve_before_8_4_is_refused_with_the_template_way_out(
    example_homelab: Homelab, template_homelab: Homelab, fake_proxmox, tmp_path: Path
) -> None:
    estate = pve.estate_for(example_homelab, version=pve.VERSION_8_OLD)
    server = fake_proxmox(estate, token=pve.token(example_homelab))
    text = _problems(_stage(server, example_homelab), example_homelab, tmp_path)
    assert "Proxmox VE 8.3 cannot hold the cloud image proxmox.image downloads" in text
    assert "from Proxmox VE 8.4 on" in text
    assert "set proxmox.template" in text
    # Cloning a template needs no `import` content type: the same Proxmox passes.
    summary = _stage(server, template_homelab).run(StageContext(tmp_path, template_homelab))
    assert "Proxmox VE 8.3, token ok" in summary


@pytest.mark.fake
def test_an_unknown_major_is_refused_not_guessed(
    example_homelab: Homelab, fake_proxmox, tmp_path: Path
) -> None:
    estate = pve.estate_for(example_homelab, privileges=required_privileges(9))
    estate.version = {"release": "10.0", "version": "10.0.1", "repoid": "0badc0de"}
    server = fake_proxmox(estate, token=pve.token(example_homelab))
    text = _problems(_stage(server, example_homelab), example_homelab, tmp_path)
    assert "Proxmox VE 10.0 is not supported: homelab knows the privileges of Proxmox VE 8.x and 9.x" in text
    assert [q.path for q in server.requests] == ["/version"]


@pytest.mark.parametrize(
    ("release", "expected", "has_import"),
    [("9.1", PveVersion(9, 1), True), ("8.4", PveVersion(8, 4), True), ("8.3", PveVersion(8, 3), False)],
)
def test_release_parsing(release: str, expected: PveVersion, has_import: bool) -> None:
    assert PveVersion.parse(release) == expected
    assert expected.has_import_content is has_import
    with pytest.raises(ValueError):
        PveVersion.parse("nine")
