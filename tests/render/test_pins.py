"""The pins homelab.yaml owns outside the charts: kube-vip, the bpg provider, the Ansible collections."""

from __future__ import annotations

import re

import pytest
import yaml

from homelabeazy import toolchain
from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.model import build
from homelabeazy.render import render_all, terraform
from tests.gitops.conftest import example_data


def _tree(data: dict[str, object]) -> dict[str, str]:
    return render_all(build(load_config(yaml.safe_dump(data, sort_keys=False)).config))


def test_the_example_writes_every_tested_pin_out(example_loaded) -> None:
    config = example_loaded.config
    assert config.cluster.kube_vip_version == toolchain.KUBE_VIP_VERSION
    assert config.proxmox.provider_version == toolchain.BPG_PROVIDER_VERSION
    assert config.ansible.collections == toolchain.COLLECTION_PINS
    text = example_text()
    assert f"\n  kube_vip_version: {toolchain.KUBE_VIP_VERSION}\n" in text
    assert f"\n  provider_version: {toolchain.BPG_PROVIDER_VERSION}\n" in text
    for name, version in toolchain.COLLECTION_PINS.items():
        assert f"\n    {name}: {version}\n" in text


def test_omitted_pins_default_to_the_tested_ones() -> None:
    data = example_data()
    del data["cluster"]["kube_vip_version"], data["proxmox"]["provider_version"], data["ansible"]
    config = load_config(yaml.safe_dump(data, sort_keys=False)).config
    assert config.cluster.kube_vip_version == toolchain.KUBE_VIP_VERSION
    assert config.proxmox.provider_version == toolchain.BPG_PROVIDER_VERSION
    assert config.ansible.collections == toolchain.COLLECTION_PINS
    assert _tree(data) == _tree(example_data())


@pytest.mark.parametrize(
    ("edit", "changed"),
    [
        (lambda d: d["cluster"].update(kube_vip_version="v1.0.2"), {"ansible/group_vars/k3s_cluster.yml"}),
        (lambda d: d["proxmox"].update(provider_version="0.112.0"), {"terraform/versions.tf"}),
        (
            lambda d: d["ansible"]["collections"].update({"community.general": "11.4.3"}),
            {"ansible/requirements.yml", "network/proxmox/requirements.yml", "README.md"},
        ),
        (
            lambda d: d["ansible"]["collections"].update({"pfsensible.core": "0.7.2"}),
            {"network/pfsense/requirements.yml", "network/README.md", "README.md"},
        ),
    ],
)
def test_each_pin_reaches_exactly_the_files_that_use_it(edit, changed: set[str]) -> None:
    before = _tree(example_data())
    data = example_data()
    edit(data)
    after = _tree(data)
    assert {p for p in before if before[p] != after[p]} == changed


def test_the_provider_pin_is_the_only_change_to_versions_tf() -> None:
    data = example_data()
    data["proxmox"]["provider_version"] = "0.112.0"
    text = _tree(data)["terraform/versions.tf"]
    assert re.findall(r'^\s+version = "([^"]+)"', text, re.M) == ["0.112.0"]
    assert text == terraform.blueprint_text("versions.tf").replace('"0.111.1"', '"0.112.0"')


def test_a_blueprint_without_the_tested_provider_pin_is_a_bug(example_loaded) -> None:
    with pytest.raises(LookupError, match=r"versions\.tf"):
        terraform.pin_provider('version = "0.1.0"\n', example_loaded.config.proxmox)


def test_collection_pins_reach_requirements_and_kube_vip_its_variable() -> None:
    data = example_data()
    data["ansible"]["collections"] = {"community.general": "11.4.3"}
    data["cluster"]["kube_vip_version"] = "v1.0.2"
    files = _tree(data)
    pins = {c["name"]: c["version"] for c in yaml.safe_load(files["ansible/requirements.yml"])["collections"]}
    assert pins == {"ansible.posix": "2.1.0", "community.general": "11.4.3"}
    proxmox = yaml.safe_load(files["network/proxmox/requirements.yml"])["collections"]
    assert proxmox == [{"name": "community.general", "version": "11.4.3"}]
    assert yaml.safe_load(files["ansible/group_vars/k3s_cluster.yml"])["kube_vip_version"] == "v1.0.2"
