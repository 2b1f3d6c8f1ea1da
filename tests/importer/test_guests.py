"""Guest configs -> typed guests: each mapping rule from captured config strings."""

from __future__ import annotations

from typing import Any

import hcl2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from homelabeazy.importer import Container, GuestConfigError, Vm, parse_guest, render_import
from homelabeazy.importer.disks import Cdrom, Disk, parse_mount_point, parse_qemu_disk
from homelabeazy.importer.nics import IpConfig, parse_container_nic, parse_ipconfig, parse_qemu_nic
from tests.support.fake_proxmox import Estate, estate_names


def _vm(config: dict[str, Any], status: str = "running") -> Vm:
    guest = parse_guest("qemu", "pve1", 100, status, config)
    assert isinstance(guest, Vm)
    return guest


def _ct(config: dict[str, Any], status: str = "running") -> Container:
    guest = parse_guest("lxc", "pve1", 200, status, config)
    assert isinstance(guest, Container)
    return guest


def test_qemu_disk_with_options() -> None:
    unmapped: list = []
    disk = parse_qemu_disk("scsi0", "local-lvm:vm-100-disk-0,discard=on,iothread=1,size=32G,ssd=1", unmapped)
    assert disk == Disk("scsi0", "local-lvm", 32, iothread=True, ssd=True, discard="on")
    assert unmapped == []


def test_qemu_disk_kinds() -> None:
    unmapped: list = []
    assert parse_qemu_disk("ide2", "local-lvm:vm-100-cloudinit,media=cdrom", unmapped) == "local-lvm"
    assert parse_qemu_disk("ide0", "local:iso/debian.iso,media=cdrom,size=600M", unmapped) == Cdrom(
        "ide0", "local:iso/debian.iso"
    )
    assert parse_qemu_disk("ide2", "none,media=cdrom", unmapped) == Cdrom("ide2", "none")
    assert unmapped == []
    assert parse_qemu_disk("scsi2", "/dev/disk/by-id/ata-X,size=100G", unmapped) is None
    assert parse_qemu_disk("sata1", "local:110/vm-110-disk-2.qcow2,size=512M", unmapped) is None
    assert [u.key for u in unmapped] == ["scsi2", "sata1"]


def test_qemu_disk_unknown_option_is_reported() -> None:
    unmapped: list = []
    parse_qemu_disk("scsi0", "local-lvm:vm-100-disk-0,size=8G,mbps_rd=100", unmapped)
    assert [(u.key, u.value) for u in unmapped] == [("scsi0.mbps_rd", "100")]


@pytest.mark.parametrize(
    ("text", "model", "mac"),
    [
        ("virtio=BC:24:11:4A:10:01,bridge=vmbr0,tag=10,firewall=1", "virtio", "BC:24:11:4A:10:01"),
        ("model=virtio,macaddr=BC:24:11:00:01:10,bridge=vmbr0,tag=10", "virtio", "BC:24:11:00:01:10"),
        ("e1000e=BC:24:11:4A:12:01,bridge=vmbr0,tag=10", "e1000e", "BC:24:11:4A:12:01"),
    ],
    ids=["model-as-key", "explicit-model", "e1000e"],
)
def test_qemu_nic(text: str, model: str, mac: str) -> None:
    nic = parse_qemu_nic("net0", text, [])
    assert (nic.model, nic.mac_address, nic.bridge, nic.vlan_id) == (model, mac, "vmbr0", 10)


def test_qemu_nic_flags() -> None:
    nic = parse_qemu_nic(
        "net3", "virtio=BC:24:11:4A:11:04,bridge=vmbr1,link_down=1,mtu=1500,queues=2,rate=12.5", []
    )
    assert (nic.disconnected, nic.mtu, nic.queues, nic.rate_limit, nic.firewall) == (
        True,
        1500,
        2,
        12.5,
        None,
    )


def test_qemu_nic_without_model_is_an_error() -> None:
    with pytest.raises(GuestConfigError, match="no NIC model"):
        parse_qemu_nic("net0", "bridge=vmbr0", [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ip=10.10.10.11/24,gw=10.10.10.1", IpConfig("10.10.10.11/24", "10.10.10.1")),
        ("ip=dhcp", IpConfig("dhcp")),
        ("ip6=auto", IpConfig(ipv6_address="auto")),
        ("ip=10.0.0.2/8,ip6=fd00::2/64,gw6=fd00::1", IpConfig("10.0.0.2/8", None, "fd00::2/64", "fd00::1")),
    ],
)
def test_ipconfig(text: str, expected: IpConfig) -> None:
    assert parse_ipconfig(text) == expected


def test_vm_scalars_and_cloud_init() -> None:
    vm = _vm(
        {
            "name": "web",
            "cores": 4,
            "sockets": 2,
            "memory": "current=8192",
            "balloon": 2048,
            "agent": "enabled=1,fstrim_cloned_disks=1",
            "tags": "web;prod",
            "onboot": 1,
            "cpu": "cputype=host,flags=+aes",
            "ide2": "local-lvm:vm-100-cloudinit,media=cdrom",
            "ipconfig1": "ip=10.10.30.5/24",
            "ciuser": "admin",
            "sshkeys": "ssh-ed25519%20AAAA%2Bk%20me%0A",
            "boot": "order=scsi0;net0",
        }
    )
    assert (vm.cores, vm.sockets, vm.memory, vm.balloon) == (4, 2, 8192, 2048)
    assert (vm.cpu_type, vm.cpu_flags, vm.tags, vm.on_boot, vm.started) == (
        "host",
        ("+aes",),
        ("web", "prod"),
        True,
        True,
    )
    assert vm.agent is not None
    assert (vm.agent.enabled, vm.agent.trim) == (True, True)
    assert vm.boot_order == ("scsi0", "net0")
    ci = vm.cloud_init
    assert ci is not None
    assert (ci.datastore_id, ci.interface, ci.username, ci.keys) == (
        "local-lvm",
        "ide2",
        "admin",
        ("ssh-ed25519 AAAA+k me",),
    )
    # ipconfig0 is absent: slot 0 stays empty so ipconfig1 stays the second NIC's.
    assert ci.ip_configs == (IpConfig(), IpConfig("10.10.30.5/24"))
    assert vm.ip == "10.10.30.5"
    assert vm.unmapped == ()


def test_template_is_never_started_and_stopped_vm_stays_stopped() -> None:
    assert _vm({"name": "t", "template": 1}, status="stopped").template is True
    assert _vm({"name": "t", "template": 1}, status="running").started is False
    assert _vm({"name": "s"}, status="stopped").started is False


def test_unknown_and_secret_keys_are_reported_without_secret_values() -> None:
    vm = _vm({"name": "x", "cipassword": "$5$salt$hash", "frobnicate": "1", "digest": "abc"})
    by_key = {u.key: u for u in vm.unmapped}
    assert set(by_key) == {"cipassword", "frobnicate"}
    assert by_key["cipassword"].value == ""
    assert "secret" in by_key["cipassword"].reason
    assert by_key["frobnicate"].value == "1"


def test_legacy_boot_and_startup_without_order_are_reported() -> None:
    vm = _vm({"name": "x", "boot": "cdn", "startup": "up=30"})
    assert vm.boot_order == ()
    assert vm.startup is None
    assert {u.key for u in vm.unmapped} == {"boot", "startup"}


def test_malformed_value_is_a_guest_error() -> None:
    with pytest.raises(GuestConfigError):
        parse_guest("qemu", "pve1", 100, "running", {"cores": "many"})
    with pytest.raises(GuestConfigError):
        parse_guest("openvz", "pve1", 100, "running", {})


def test_container_nic() -> None:
    nic = parse_container_nic(
        "net0",
        "name=eth0,bridge=vmbr0,firewall=1,gw=10.10.10.1,hwaddr=BC:24:11:4A:20:00,ip=10.10.10.53/24,tag=10,type=veth",
        [],
    )
    assert (nic.name, nic.bridge, nic.mac_address, nic.vlan_id, nic.firewall) == (
        "eth0",
        "vmbr0",
        "BC:24:11:4A:20:00",
        10,
        True,
    )
    assert nic.ip == IpConfig("10.10.10.53/24", "10.10.10.1")
    unmapped: list = []
    parse_container_nic("net1", "name=eth1,bridge=vmbr1,link_down=1", unmapped)
    assert [u.key for u in unmapped] == ["net1.link_down"]


def test_mount_points() -> None:
    volume = parse_mount_point("mp0", "tank:subvol-201-disk-1,mp=/var/lib/jellyfin,backup=1,size=64G", [])
    assert (volume.volume, volume.path, volume.size, volume.backup) == (
        "tank:subvol-201-disk-1",
        "/var/lib/jellyfin",
        "64G",
        True,
    )
    bind = parse_mount_point("mp1", "/tank/media,mp=/media,ro=1", [])
    assert (bind.volume, bind.path, bind.read_only) == ("/tank/media", "/media", True)


def test_container_scalars() -> None:
    ct = _ct(
        {
            "hostname": "pihole",
            "cores": 1,
            "memory": 512,
            "swap": 256,
            "rootfs": "local-lvm:vm-200-disk-0,size=8G",
            "features": "fuse=1,mount=nfs;cifs,nesting=1",
            "nameserver": "1.1.1.1 9.9.9.9",
            "onboot": 1,
            "unprivileged": 1,
            "lxc": [["lxc.apparmor.profile", "unconfined"]],
        }
    )
    assert (ct.name, ct.cores, ct.memory, ct.swap) == ("pihole", 1, 512, 256)
    assert (ct.rootfs_datastore, ct.rootfs_size_gb, ct.start_on_boot, ct.unprivileged) == (
        "local-lvm",
        8,
        True,
        True,
    )
    assert ct.features == (("nesting", True), ("fuse", True), ("mount", ("nfs", "cifs")))
    assert ct.dns_servers == ("1.1.1.1", "9.9.9.9")
    assert [u.key for u in ct.unmapped] == ["lxc"]


@pytest.mark.parametrize("name", estate_names())
def test_every_config_key_is_mapped_ignored_or_reported(name: str) -> None:
    """Nothing is dropped silently: each key is internal, reported, or changes the parsed guest —
    unless it holds the value Proxmox documents as the default for an absent key."""
    from dataclasses import replace

    from homelabeazy.importer.config_keys import INTERNAL_KEYS
    from tests.support.pve_apidata import ApiDescription, config_property_spec

    api = ApiDescription.load()
    for raw in Estate.load(name).guests:
        endpoint = api.endpoint(f"/nodes/{{node}}/{raw.kind}/{{vmid}}/config", "GET")
        assert endpoint is not None
        guest = parse_guest(raw.kind, raw.node, raw.vmid, raw.status, raw.config)
        reported = {u.key for u in guest.unmapped}
        for key in sorted(set(raw.config) - INTERNAL_KEYS - reported):
            without = {k: v for k, v in raw.config.items() if k != key}
            other = parse_guest(raw.kind, raw.node, raw.vmid, raw.status, without)
            if replace(other, unmapped=()) == replace(guest, unmapped=()):
                spec = config_property_spec(endpoint.info["returns"], key) or {}
                assert str(spec.get("default")) == str(raw.config[key]), f"{raw.vmid}: {key} has no effect"


def test_absent_keys_take_proxmox_defaults_where_the_provider_differs() -> None:
    vm = _vm({"name": "bare"})
    assert (vm.on_boot, vm.scsi_hardware, vm.cpu_type) == (False, "lsi", None)
    ct = _ct({"hostname": "bare"})
    assert (ct.start_on_boot, ct.memory, ct.swap) == (False, 512, 512)


_KEYS = st.sampled_from(
    ["name", "hostname", "net0", "net1", "scsi0", "virtio0", "ide2", "ipconfig0", "cores", "memory",
     "balloon", "agent", "tags", "onboot", "template", "rootfs", "mp0", "features", "cpu", "boot", "startup",
     "sshkeys", "cicustom", "efidisk0", "vga", "dev0", "swap", "description", "unknown9"]
)  # fmt: skip
_VALUES = st.one_of(
    st.text(alphabet="abcvirtoe01=,:;/.-GMK", max_size=40),
    st.integers(min_value=-5, max_value=10**6),
    st.lists(st.text(max_size=5), max_size=2),
)


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(["qemu", "lxc"]), config=st.dictionaries(_KEYS, _VALUES, max_size=8))
def test_garbage_configs_fail_only_as_guest_errors(kind: str, config: dict[str, Any]) -> None:
    """Whatever a (broken) Proxmox returns, one guest never crashes the import, and whatever parses
    renders to HCL that parses again."""
    try:
        guest = parse_guest(kind, "pve1", 100, "running", config)
    except GuestConfigError:
        return
    hcl2.loads(render_import([guest])["guests.tf"])
