"""The chroot hosts' mounts never outlive the test process that made them, even one killed
outright: `base_image()` first unmounts what dead processes recorded (tests/support/rootfs.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support import rootfs
from tests.support.integration import need_root

pytestmark = pytest.mark.integration


def _mount_tmpfs(point: Path) -> None:
    point.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(point)], check=True)


def test_a_dead_processs_host_is_unmounted_a_live_ones_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_root("mounting")
    monkeypatch.setenv("HOMELAB_ROOTFS_CACHE", str(tmp_path / "cache"))
    dead, alive = tmp_path / "hosts" / "dead", tmp_path / "hosts" / "alive"
    gone = subprocess.Popen(["true"])
    gone.wait()
    try:
        for point, pid in ((dead, gone.pid), (alive, os.getpid())):
            _mount_tmpfs(point)
            rootfs._record_mount(point).write_text(f"{pid}\n{point.resolve()}\n")
        rootfs.unmount_orphans()
        assert rootfs.mounts_below(dead) == []
        assert rootfs.mounts_below(alive) == [str(alive.resolve())]
        assert len(list((tmp_path / "cache" / "mounts").iterdir())) == 1
    finally:
        rootfs.remove_tree(tmp_path / "hosts")
    assert rootfs.mounts_below(tmp_path) == []
    assert list((tmp_path / "cache" / "mounts").iterdir()) == [], "removing a host forgets its record"
