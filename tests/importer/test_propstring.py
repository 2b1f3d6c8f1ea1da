"""Proxmox property strings and scalar formats, from captured config values."""

from __future__ import annotations

import pytest

from homelabeazy.importer.propstring import (
    PropertyStringError,
    decode_sshkeys,
    parse_bool,
    parse_tags,
    size_bytes,
    size_whole_gib,
    split_list,
    split_property_string,
    volume_datastore,
)


def test_split_with_default_key() -> None:
    assert split_property_string("local-lvm:vm-100-disk-0,discard=on,iothread=1,size=32G", "file") == {
        "file": "local-lvm:vm-100-disk-0",
        "discard": "on",
        "iothread": "1",
        "size": "32G",
    }


def test_split_nic_keeps_the_model_as_a_key() -> None:
    assert split_property_string("virtio=BC:24:11:4A:10:01,bridge=vmbr0,firewall=1,tag=10") == {
        "virtio": "BC:24:11:4A:10:01",
        "bridge": "vmbr0",
        "firewall": "1",
        "tag": "10",
    }


@pytest.mark.parametrize(
    ("text", "default"),
    [("bridge=vmbr0,oops", None), ("a=1,a=2", None), ("first,second", "file")],
    ids=["bare-value-later", "duplicate-key", "two-bare-values"],
)
def test_split_rejects_malformed(text: str, default: str | None) -> None:
    with pytest.raises(PropertyStringError):
        split_property_string(text, default)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("32G", 32 << 30), ("512M", 512 << 20), ("708862K", 708862 << 10), ("1T", 1 << 40), ("4096", 4096)],
)
def test_size_bytes(text: str, expected: int) -> None:
    assert size_bytes(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("32G", 32), ("1T", 1024), ("2048M", 2), ("512M", None), ("4M", None)]
)
def test_size_whole_gib(text: str, expected: int | None) -> None:
    assert size_whole_gib(text) == expected


def test_size_rejects_garbage() -> None:
    with pytest.raises(PropertyStringError):
        size_bytes("lots")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("docker;media;prod", ["docker", "media", "prod"]), ("k3s,edge", ["k3s", "edge"]), ("a b", ["a", "b"])],
)
def test_tags(text: str, expected: list[str]) -> None:
    assert parse_tags(text) == expected


def test_sshkeys_are_url_decoded_and_keep_plus_signs() -> None:
    encoded = "ssh-ed25519%20AAAAC3Nz%2Bab%2Fcd%20admin%40laptop%0Assh-rsa%20AAAAB3%2B%2B%20b%0A"
    assert decode_sshkeys(encoded) == ["ssh-ed25519 AAAAC3Nz+ab/cd admin@laptop", "ssh-rsa AAAAB3++ b"]
    assert decode_sshkeys("ssh-ed25519 AAAA+x literal") == ["ssh-ed25519 AAAA+x literal"]


@pytest.mark.parametrize(
    ("raw", "expected"), [(1, True), ("0", False), ("on", True), ("no", False), (True, True)]
)
def test_bool(raw: object, expected: bool) -> None:
    assert parse_bool(raw) is expected  # type: ignore[arg-type]


def test_bool_rejects_other_words() -> None:
    with pytest.raises(PropertyStringError):
        parse_bool("maybe")


def test_volume_datastore() -> None:
    assert volume_datastore("local-lvm:vm-100-disk-0") == "local-lvm"
    assert volume_datastore("local:110/vm-110-disk-2.qcow2") == "local"
    assert volume_datastore("/dev/disk/by-id/ata-X") is None
    assert volume_datastore("none") is None


def test_split_list() -> None:
    assert split_list("10.10.10.1 1.1.1.1") == ["10.10.10.1", "1.1.1.1"]
