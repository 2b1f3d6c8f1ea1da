"""The rendered ansible/ tree: golden files, and the model facts it must carry."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import jinja2
from ruamel.yaml import YAML

from homelabeazy.model import Homelab
from homelabeazy.model.k3s_config import PER_NODE_FLAGS
from homelabeazy.render import ansible
from homelabeazy.render.inventory import inventory_for
from tests.gitops.conftest import example_data, homelab_from  # noqa: F401 - the variants' fixture
from tests.support.golden import assert_golden


def _load(text: str) -> object:
    return YAML(typ="safe").load(text)


def test_rendered_tree_matches_golden(example_homelab: Homelab) -> None:
    assert_golden(ansible.render(example_homelab), "ansible")


def test_render_is_deterministic(example_homelab: Homelab) -> None:
    assert ansible.render(example_homelab) == ansible.render(example_homelab)


def test_inventory_is_the_shared_inventory(example_homelab: Homelab) -> None:
    files = ansible.render(example_homelab)
    inventory = _load(files["ansible/inventory.yml"])
    assert inventory == inventory_for(example_homelab)
    groups = inventory["all"]["children"]
    assert sorted(groups) == ["k3s_cluster", "proxmox_hosts"]
    assert sorted(groups["k3s_cluster"]["children"]) == ["k3s_agents", "k3s_servers"]
    servers = groups["k3s_cluster"]["children"]["k3s_servers"]["hosts"]
    assert list(servers) == [n.name for n in example_homelab.servers]
    for node in example_homelab.nodes:
        role_group = "k3s_servers" if node.role == "server" else "k3s_agents"
        hostvars = groups["k3s_cluster"]["children"][role_group]["hosts"][node.name]
        assert hostvars["node_ip"] == hostvars["ansible_host"] == str(node.ip)


def test_cluster_vars_come_from_the_model(example_homelab: Homelab) -> None:
    files = ansible.render(example_homelab)
    cluster = _load(files["ansible/group_vars/k3s_cluster.yml"])
    model = example_homelab.cluster
    assert cluster["k3s_version"] == model.k3s_version
    assert cluster["k3s_api_vip"] == str(model.vip)
    settings = cluster["k3s_server_config"]
    assert settings["tls-san"] == [str(model.vip), model.api_host]
    assert settings["disable"] == ["traefik", "servicelb"]
    assert cluster["k3s_etcd_s3"] is True
    assert cluster["k3s_token_vault_path"] == f"{example_homelab.vault_kv_mount}/cluster/k3s"
    assert cluster["k3s_token"] == "{{ lookup('ansible.builtin.env', 'HOMELAB_K3S_TOKEN') }}"
    everything = _load(files["ansible/group_vars/all.yml"])
    assert everything["homelab_timezone"] == example_homelab.timezone
    assert everything["homelab_ssh_user"] == model.ssh_user
    assert everything["homelab_airgap"] is model.airgap
    assert everything["homelab_kubeconfig_path"] == f"~/.kube/{example_homelab.name}.yaml"
    assert everything["homelab_apply_kernel"] is everything["homelab_start_services"] is True


def test_the_example_node_gets_no_service_needs_and_a_metrics_firewall(example_homelab: Homelab) -> None:
    cluster = _load(ansible.render(example_homelab)["ansible/group_vars/k3s_cluster.yml"])
    assert cluster["node_needs"] == {"packages": [], "services": [], "kernel_modules": [], "sysctls": {}}
    assert cluster["node_metrics_firewall"] == {
        "ports": [2112, 2381],
        "sources": [
            "10.42.0.0/16",
            "10.10.10.20",
            "10.10.10.21",
            "10.10.10.22",
            "10.10.10.25",
            "10.10.10.26",
        ],
    }


def test_longhorn_on_gives_every_node_its_needs_and_disables_local_path(homelab_from) -> None:  # noqa: F811
    """Issue 25, defects 1 and 13: with Longhorn on, no node got open-iscsi or iscsid, and K3s's
    local-path stayed a second default StorageClass."""
    data = example_data()
    data["services"]["longhorn"] = {"enabled": True, "replicas": 3}
    cluster = _load(ansible.render(homelab_from(data))["ansible/group_vars/k3s_cluster.yml"])
    assert cluster["k3s_server_config"]["disable"] == ["traefik", "servicelb", "local-storage"]
    assert cluster["node_needs"] == {
        "packages": ["cryptsetup", "dmsetup", "nfs-common", "open-iscsi"],
        "services": ["iscsid.service"],
        "kernel_modules": ["dm_crypt", "iscsi_tcp", "nfs"],
        "sysctls": {},
    }


def test_model_changes_flow_into_group_vars(example_homelab: Homelab) -> None:
    cluster = dataclasses.replace(example_homelab.cluster, k3s_version="v1.34.1+k3s1", airgap=True)
    changed = dataclasses.replace(example_homelab, cluster=cluster, name="lab2")
    files = ansible.render(changed)
    assert _load(files["ansible/group_vars/k3s_cluster.yml"])["k3s_version"] == "v1.34.1+k3s1"
    everything = _load(files["ansible/group_vars/all.yml"])
    assert everything["homelab_airgap"] is True
    assert everything["homelab_kubeconfig_path"] == "~/.kube/lab2.yaml"


def test_roles_and_playbooks_are_copied_verbatim(example_homelab: Homelab) -> None:
    files = ansible.render(example_homelab)
    blueprint = ansible.blueprint_files()
    for role in ("node", "k3s_common", "k3s_server", "k3s_agent"):
        assert f"roles/{role}/tasks/main.yml" in blueprint
    for name in ("site.yml", "upgrade.yml", "reset.yml", "ansible.cfg"):
        assert files[f"ansible/{name}"] == blueprint[name]
    assert not [path for path in files if "__pycache__" in path or path.endswith(".py")]


def test_no_secret_values_in_the_tree(example_homelab: Homelab) -> None:
    text = "\n".join(ansible.render(example_homelab).values())
    assert "token:" not in text.replace("k3s_token:", "")


KUBE_VIP_V1_0_ENV = frozenset(
    {
        "address",
        "port",
        "vip_address",
        "vip_interface",
        "vip_subnet",
        "vip_arp",
        "cp_enable",
        "cp_namespace",
        "svc_enable",
        "vip_leaderelection",
        "vip_leasename",
        "vip_leaseduration",
        "vip_renewdeadline",
        "vip_retryperiod",
        "k8s_config_file",
        "prometheus_server",
    }
)
"""Environment names kube-vip v1.0.x reads (pkg/kubevip/config_envvar.go at v1.0.1), of those we may set.

An unknown name is silently ignored by kube-vip (`vip_cidr` was, before 1.0 renamed it), so the
manifest is checked against the names the pinned release really reads.
"""


def test_kube_vip_manifest_sets_only_names_the_pinned_release_reads(example_homelab: Homelab) -> None:
    files = ansible.render(example_homelab)
    assert example_homelab.config.cluster.kube_vip_version.startswith("v1.0."), (
        "re-check the env names against the new release"
    )
    template = files["ansible/roles/k3s_server/templates/kube-vip.yaml.j2"]
    env_block = template.split("env:", 1)[1].split("securityContext:", 1)[0]
    names = re.findall(r"^\s+- name: (\S+)$", env_block, re.M)
    assert names, "no env names found in the kube-vip manifest"
    assert set(names) <= KUBE_VIP_V1_0_ENV, sorted(set(names) - KUBE_VIP_V1_0_ENV)
    assert "vip_subnet" in names


def test_every_server_keeps_as_many_snapshots_in_s3_as_asked(example_homelab: Homelab) -> None:
    """K3s v1.33.4+k3s1 and later keep etcd-s3-retention (default 5) apart from
    etcd-snapshot-retention: the example's 28 must reach S3 too, not only the servers' disks."""
    settings = _load(ansible.render(example_homelab)["ansible/group_vars/k3s_cluster.yml"])
    config = settings["k3s_server_config"]  # type: ignore[index]
    assert (config["etcd-snapshot-retention"], config["etcd-s3-retention"]) == (28, 28)


def _server_config(example_homelab: Homelab, host: str) -> dict[str, Any]:
    """config.yaml as the k3s_server role's template writes it for `host` (Jinja, Ansible's filters)."""
    files = ansible.render(example_homelab)
    variables = _load(files["ansible/group_vars/k3s_cluster.yml"])
    assert isinstance(variables, dict)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["to_json"] = json.dumps
    template = env.from_string(files["ansible/roles/k3s_server/templates/config.yaml.j2"])
    first = example_homelab.servers[0].name
    text = template.render(
        **{**variables, "k3s_first_server": first},
        ansible_managed="managed",
        inventory_hostname=host,
        node_ip="10.10.10.21",
    )
    loaded = _load(text)
    assert isinstance(loaded, dict)
    return loaded


def test_server_config_is_the_models_settings_and_the_nodes_own(example_homelab: Homelab) -> None:
    """The template writes exactly the per-node flags the flag table expects of it, then the model's
    settings in order, as YAML values K3s reads back unchanged."""
    settings = example_homelab.cluster.k3s_server_settings
    for server in example_homelab.servers:
        config = _server_config(example_homelab, server.name)
        own = [key for key in config if key not in settings.names]
        assert set(own) <= set(PER_NODE_FLAGS)
        assert "cluster-init" in own if server == example_homelab.servers[0] else "server" in own
        shared = {key: value for key, value in config.items() if key in settings.names}
        assert shared == settings.as_dict()
        assert list(shared) == list(settings.names)
