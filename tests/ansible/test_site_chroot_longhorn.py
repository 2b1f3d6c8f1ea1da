"""Host prerequisites for real: site.yml with Longhorn on, against Debian 12 chroot hosts.

The hosts start without open-iscsi, nfs-common, cryptsetup or dmsetup (the suite's rootfs does not
carry them): the node role must install them from the Debian mirror, enable iscsid, write the
module list, and a second run must change nothing. Then the metrics firewall file the role wrote
is loaded into a network namespace standing for a server and real connections are opened from a
pod, another node, and a host of the services VLAN that is not a node.

What a chroot cannot show: no systemd runs there, so "iscsid running" is proven as far as a unit
can be without booting (enabled in sysinit.target.wants, as systemd itself reports it offline, and
the binaries Longhorn calls run); the modules are written to /etc/modules-load.d, not loaded (the
hosts share this machine's kernel: `homelab_apply_kernel` is false, as for an image build).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Interface
from pathlib import Path

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.model import build
from homelabeazy.ops.ansible import PlaybookResult
from tests.netpolicy.netlab import NetLab
from tests.support.chroot_lab import ChrootLab, build_lab, lab_config_text
from tests.support.integration import need_binary, need_root
from tests.support.rootfs import hosts_under, mounts_below, rootfs_tarball

pytestmark = pytest.mark.integration

SERVER = "k3s-server-1"
AGENT = "k3s-agent-1"
LONGHORN_OFF = "  longhorn:\n    version: 1.10.1\n    enabled: false\n"
LONGHORN_ON = "  longhorn:\n    version: 1.10.1\n    enabled: true\n"
VELERO_PREFIX = "      prefix: velero\n"
PACKAGES = ("open-iscsi", "nfs-common", "cryptsetup", "dmsetup")


@dataclass
class Runs:
    lab: ChrootLab
    first: PlaybookResult
    second: PlaybookResult


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    need_root("chroot hosts")
    need_binary("debootstrap", "apt install debootstrap")
    need_binary("chroot", "coreutils")
    tarball = rootfs_tarball()
    base = tmp_path_factory.mktemp("chroot-longhorn")
    with hosts_under(base):
        text = lab_config_text(servers=1, agents=1)
        assert LONGHORN_OFF in text
        assert VELERO_PREFIX in text
        text = text.replace(LONGHORN_OFF, LONGHORN_ON, 1).replace(VELERO_PREFIX, "", 1)
        lab = build_lab(build(load_config(text).config), base, tarball)
        for root in lab.roots.values():
            assert not _installed(root, "open-iscsi"), "the rootfs must not carry Longhorn's packages"
        # The airgap switch only concerns K3s here: the chroots reach the Debian mirror for apt.
        first = lab.run(node_apt_update_cache=True)
        second = lab.run(node_apt_update_cache=True)
        yield Runs(lab, first, second)
    assert not mounts_below(base), "a chroot mount survived the lab"


def _chroot(root: Path, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["chroot", str(root), *command], capture_output=True, text=True, check=check, timeout=60
    )


def _installed(root: Path, package: str) -> bool:
    answer = _chroot(root, "dpkg-query", "-W", "-f", "${Status}", package, check=False)
    return answer.stdout == "install ok installed"


def test_first_run_succeeds_and_second_changes_nothing(runs: Runs) -> None:
    assert sorted(runs.first.recap) == sorted(runs.second.recap) == [AGENT, SERVER]
    for host, stats in runs.first.recap.items():
        assert (stats.failed, stats.unreachable) == (0, 0), host
        assert stats.changed > 5, host
    for host, stats in runs.second.recap.items():
        assert (stats.changed, stats.failed, stats.unreachable) == (0, 0, 0), host
    installs = [e for e in runs.lab.events if e.task == "Install the packages the enabled services need"]
    assert sorted((e.host, e.status) for e in installs) == [
        (AGENT, "changed"), (AGENT, "ok"), (SERVER, "changed"), (SERVER, "ok"),
    ]  # fmt: skip


@pytest.mark.parametrize("host", [SERVER, AGENT])
def test_longhorns_packages_are_installed_and_their_tools_run(runs: Runs, host: str) -> None:
    root = runs.lab.roots[host]
    for package in PACKAGES:
        assert _installed(root, package), (host, package)
    # What Longhorn runs on the host: iscsiadm for every V1 volume, mount.nfs for RWX volumes,
    # cryptsetup and dmsetup for encrypted ones.
    assert _chroot(root, "iscsiadm", "--version").stdout.startswith("iscsiadm version 2.1.")
    assert "nfs-utils 2." in _chroot(root, "/sbin/mount.nfs", "-V").stdout
    assert _chroot(root, "cryptsetup", "--version").stdout.startswith("cryptsetup 2.")
    assert "Library version" in _chroot(root, "dmsetup", "--version").stdout
    initiator = (root / "etc/iscsi/initiatorname.iscsi").read_text()
    assert "InitiatorName=" in initiator


@pytest.mark.parametrize("host", [SERVER, AGENT])
def test_iscsid_is_enabled_at_boot(runs: Runs, host: str) -> None:
    root = runs.lab.roots[host]
    link = root / "etc/systemd/system/sysinit.target.wants/iscsid.service"
    assert link.is_symlink()
    assert link.resolve().name == "iscsid.service"
    assert (root / str(link.readlink()).lstrip("/")).is_file()
    # systemd's own verdict, read offline from the unit files (no systemd runs in a chroot).
    assert _chroot(root, "systemctl", "is-enabled", "iscsid.service").stdout.strip() == "enabled"
    assert (
        _chroot(root, "systemctl", "is-enabled", "homelab-node-metrics.service").stdout.strip() == "enabled"
    )


@pytest.mark.parametrize("host", [SERVER, AGENT])
def test_modules_are_loaded_at_boot_and_no_sysctl_file_is_left(runs: Runs, host: str) -> None:
    root = runs.lab.roots[host]
    lines = (root / "etc/modules-load.d/homelab-services.conf").read_text().splitlines()
    assert [line for line in lines if not line.startswith("#")] == ["dm_crypt", "iscsi_tcp", "nfs"]
    assert not (root / "etc/sysctl.d/91-homelab-services.conf").exists()


def test_server_disables_local_storage(runs: Runs) -> None:
    config = yaml.safe_load((runs.lab.roots[SERVER] / "etc/rancher/k3s/config.yaml").read_text())
    assert config["disable"] == ["traefik", "servicelb", "local-storage"]


# ----------------------------------------------------------------------------- metrics firewall

METRICS = (2381, 2112)
OTHER_TCP = (22, 6443)


@pytest.fixture
def netlab() -> Iterator[NetLab]:
    need_binary("ip", "apt-get install iproute2")
    need_binary("nft", "apt-get install nftables")
    lab = NetLab()
    try:
        yield lab
    finally:
        lab.close()


def _nft(namespace: str, *args: str) -> str:
    return subprocess.run(
        ["ip", "netns", "exec", namespace, "nft", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout


def test_metrics_listeners_answer_only_the_cluster(runs: Runs, netlab: NetLab) -> None:
    """The file the role wrote on the server, loaded where the server's packets arrive."""
    ruleset = runs.lab.roots[SERVER] / "etc/homelab/node-metrics.nft"
    netlab.build_router()
    server = netlab.add_site("server", IPv4Interface("10.10.10.17/29"), [IPv4Interface("10.10.10.20/29")])
    agent = netlab.add_site("agent", IPv4Interface("10.10.10.30/29"), [IPv4Interface("10.10.10.25/29")])
    outsider = netlab.add_site("vlan", IPv4Interface("10.10.10.49/29"), [IPv4Interface("10.10.10.50/29")])
    pod = netlab.add_site("pod", IPv4Interface("10.42.1.1/24"), [IPv4Interface("10.42.1.7/24")])
    # A table standing for the rules K3s keeps (iptables-nft): loading ours must leave it alone.
    _nft(server.namespace, "add", "table", "ip", "filter")
    _nft(server.namespace, "add", "chain", "ip", "filter", "KUBE-FIREWALL")
    _nft(server.namespace, "add", "rule", "ip", "filter", "KUBE-FIREWALL", "counter", "accept")
    foreign = _nft(server.namespace, "list", "table", "ip", "filter")
    for _ in range(2):  # loading twice is the same as once: the reload path
        _nft(server.namespace, "-f", str(ruleset))
    assert _nft(server.namespace, "list", "table", "ip", "filter") == foreign
    assert _nft(server.namespace, "list", "tables").splitlines() == [
        "table ip filter",
        "table inet homelab_node_metrics",
    ]
    netlab.listen(server, tcp=[*METRICS, *OTHER_TCP], udp=[2381])

    def cases(prefix: str, address: str, udp: bool = True) -> list[dict[str, object]]:
        ports = (*METRICS, *OTHER_TCP)
        tcp = [{"id": f"{prefix}:{p}", "address": address, "port": p, "protocol": "tcp"} for p in ports]
        # UDP on a metrics port is not the firewall's business (the listener answers on the address).
        other = [{"id": f"{prefix}:udp2381", "address": address, "port": 2381, "protocol": "udp"}]
        return [*tcp, *(other if udp else [])]

    probes = {
        "vlan": netlab.start_probes(outsider, cases("vlan", "10.10.10.20")),
        "agent": netlab.start_probes(agent, cases("agent", "10.10.10.20")),
        "pod": netlab.start_probes(pod, cases("pod", "10.10.10.20")),
        "self": netlab.start_probes(
            server, cases("self", "10.10.10.20") + cases("loopback", "127.0.0.1", udp=False)
        ),
    }
    seen = {case: verdict for process in probes.values() for case, verdict in netlab.results(process).items()}
    allowed = {case for case, verdict in seen.items() if verdict == "allow"}
    every = set(seen)
    refused = {"vlan:2381", "vlan:2112"}
    assert every - allowed == refused, sorted(every - allowed)
    counters = _nft(server.namespace, "list", "chain", "inet", "homelab_node_metrics", "metrics")
    assert "counter packets 0 " not in counters  # the refusals went through our reject rule
