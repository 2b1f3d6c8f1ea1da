"""A homelab's rendered ansible/ tree run against chroot hosts: shared by tests and the benchmark.

Every K3s node of the model becomes a Debian 12 rootfs copy; the inventory is the rendered one
with `ansible_host` pointing at the copy and the `community.general.chroot` connection. The run uses
the documented switches a real user has: airgap mode (with a shell-script stand-in for the K3s
binary, checksummed like a release), and `homelab_apply_kernel`/`homelab_start_services` false,
because the chroots share this machine's kernel and have no systemd running.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.model import Homelab, build
from homelabeazy.ops.ansible import PlaybookResult, TaskResult, run_playbook
from homelabeazy.render import ansible as render_ansible
from homelabeazy.render import writer
from homelabeazy.render.inventory import inventory_for
from homelabeazy.render.serialize import to_yaml
from tests.support.rootfs import make_host

TOKEN = "K10-test-join-token-0123456789abcdef"
STANDIN_STATE = "var/lib/k3s-standin"
"""Inside each chroot: the stand-in's call log, cordon marks, snapshots and failure switches."""

K3S_STANDIN = r"""#!/bin/sh
# Stand-in for the K3s binary in tests: the chroots never run K3s. It answers exactly the commands
# the playbooks run (anything else exits 64) and logs each call with a nanosecond timestamp, so a
# test can merge the logs of every host into one ordered story. `kubectl` is kubectl.py beside the
# state, against the fake Kubernetes API named in api.json (tests/support/standin_kubectl.py).
# State lives in /{state}:
#   calls.log         "<ns> <this binary's version> <arguments>"
#   snapshots/<name>  one file per `etcd-snapshot save`
#   fail-snapshot     makes `etcd-snapshot save` fail
state=/{state}
mkdir -p "$state/snapshots"
echo "$(date +%s%N) {version} $*" >> "$state/calls.log"
case "$1 $2" in
  "--version "*)
    echo "k3s version {version} (homelabeazy test stand-in)" ;;
  "etcd-snapshot save")
    if [ -e "$state/fail-snapshot" ]; then echo "etcd-snapshot: etcd is not healthy" >&2; exit 1; fi
    [ "$3" = "--name" ] || {{ echo "etcd-snapshot save: --name missing" >&2; exit 64; }}
    touch "$state/snapshots/$4"; echo "Snapshot $4 saved." ;;
  "kubectl "*)
    exec python3 "$state/kubectl.py" "$@" ;;
  *)
    echo "stand-in: unsupported: $*" >&2; exit 64 ;;
esac
"""
KUBECTL_STANDIN = Path(__file__).with_name("standin_kubectl.py")
K3S_KUBECONFIG = """apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: dGVzdC1jYQ==
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: dGVzdC1jZXJ0
    client-key-data: dGVzdC1rZXk=
"""
"""What K3s writes to /etc/rancher/k3s/k3s.yaml once it runs; seeded because it never runs here."""


def lab_config_text(servers: int, agents: int) -> str:
    """The example homelab.yaml (comments and all) with `servers` servers and `agents` agents."""
    text = example_text()
    for role, count in (("servers", servers), ("agents", agents)):
        old = f"  {role}:\n    count: "
        start = text.index(old) + len(old)
        end = text.index("\n", start)
        text = text[:start] + str(count) + text[end:]
    return text


def lab_homelab(servers: int, agents: int) -> Homelab:
    """The example homelab with `servers` servers and `agents` agents."""
    return build(load_config(lab_config_text(servers, agents)).config)


@dataclass
class ChrootLab:
    """A rendered repo, its chroot hosts, and how to run its playbooks against them."""

    homelab: Homelab
    repo: Path
    roots: dict[str, Path]
    inventory: Path
    airgap: Path
    kubeconfig: Path
    events: list[TaskResult] = field(default_factory=list)

    @property
    def ansible_dir(self) -> Path:
        return self.repo / "ansible"

    def extravars(self, **extra: Any) -> dict[str, Any]:
        """The documented switches for hosts that must not be changed live, plus `extra`."""
        return {
            "homelab_airgap": True,
            "homelab_apply_kernel": False,
            "homelab_start_services": False,
            "homelab_cluster_api": False,
            "k3s_airgap_dir": str(self.airgap),
            "homelab_kubeconfig_path": str(self.kubeconfig),
            **extra,
        }

    def run(
        self,
        playbook: str = "site.yml",
        limit: str | None = None,
        secrets: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> PlaybookResult:
        """Run `playbook` against the chroots (or the `limit` ones), recording progress events;
        `secrets` are more environment variables beside the join token (e.g. the etcd S3 keys)."""
        return run_playbook(
            self.ansible_dir,
            playbook,
            inventory=self.inventory,
            extravars=self.extravars(**extra),
            secret_env={render_ansible.TOKEN_ENV: TOKEN, **(secrets or {})},
            limit=limit,
            progress=self.events.append,
            timeout=900,
        )


def write_airgap(folder: Path, version: str, binary: str | None = None) -> Path:
    """An airgap directory like the K3s release page: binary, image tarball, sha256 list."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "k3s").write_text(binary or K3S_STANDIN.format(version=version, state=STANDIN_STATE))
    (folder / "k3s").chmod(0o755)
    (folder / "k3s-airgap-images-amd64.tar.zst").write_bytes(b"stand-in image tarball\n" * 64)
    sums = "".join(
        f"{hashlib.sha256((folder / name).read_bytes()).hexdigest()}  {name}\n"
        for name in ("k3s", "k3s-airgap-images-amd64.tar.zst")
    )
    (folder / "sha256sum-amd64.txt").write_text(sums)
    return folder


def build_lab(homelab: Homelab, base: Path, image: Path) -> ChrootLab:
    """Render the repo, create one chroot per node, write the chroot inventory and airgap dir."""
    repo = base / "repo"
    repo.mkdir(parents=True)
    writer.apply(repo, writer.plan(repo, render_ansible.render(homelab)))
    public_key = homelab.cluster.ssh_keys[0]
    roots = {}
    for node in homelab.nodes:
        root = make_host(image, base / "hosts" / node.name, homelab.cluster.ssh_user, public_key)
        (root / STANDIN_STATE).mkdir(parents=True, exist_ok=True)
        (root / STANDIN_STATE / "kubectl.py").write_text(KUBECTL_STANDIN.read_text())
        # A swap line, as a VM with swap has, so the role's fstab edit has work to do.
        with (root / "etc/fstab").open("a") as fstab:
            fstab.write("/swapfile none swap sw 0 0\n")
        roots[node.name] = root
    (roots[homelab.servers[0].name] / "etc/rancher/k3s").mkdir(parents=True)
    (roots[homelab.servers[0].name] / "etc/rancher/k3s/k3s.yaml").write_text(K3S_KUBECONFIG)
    inventory = chroot_inventory(inventory_for(homelab), roots)
    inventory_path = base / "chroot-inventory.yml"
    inventory_path.write_text(to_yaml(inventory))
    return ChrootLab(
        homelab=homelab,
        repo=repo,
        roots=roots,
        inventory=inventory_path,
        airgap=write_airgap(base / "airgap", homelab.cluster.k3s_version),
        kubeconfig=base / "kube" / f"{homelab.name}.yaml",
    )


def chroot_inventory(inventory: dict[str, Any], roots: dict[str, Path]) -> dict[str, Any]:
    """The rendered inventory with each node reached through its chroot instead of SSH."""
    result = copy.deepcopy(inventory)
    cluster = result["all"]["children"]["k3s_cluster"]
    for group in cluster["children"].values():
        for name, hostvars in (group.get("hosts") or {}).items():
            hostvars["ansible_host"] = str(roots[name])
    cluster["vars"]["ansible_connection"] = "community.general.chroot"
    del result["all"]["children"]["proxmox_hosts"]
    return result
