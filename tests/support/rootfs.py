"""Debian 12 root filesystems as Ansible hosts (chroot connection), for tests and benchmarks.

`debootstrap` builds one minbase rootfs with the packages the node role wants (so the role's apt
task finds them installed and needs no network) and stores it as a tarball in a cache keyed by
suite, mirror and package list: built once, reused by every later run. Each host is a fresh copy
extracted from the tarball. Nothing is mounted into the copies; `unmount_below` still runs before
every removal, so a mount left by a failed debootstrap or a task can never survive a test.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
PACKAGES = (
    "ca-certificates",
    "chrony",
    "curl",
    "kmod",
    "nftables",
    "openssh-server",
    "procps",
    "python3",
    "python3-apt",
    "qemu-guest-agent",
    "sudo",
    "systemd",
    "tzdata",
    "unattended-upgrades",
)
"""minbase + python3 for Ansible + what roles/node installs (+ sudo for `become`, systemd for units)."""


def cache_dir() -> Path:
    """Where built rootfs tarballs live between runs (HOMELAB_ROOTFS_CACHE overrides)."""
    default = Path.home() / ".cache" / "homelabeazy" / "rootfs"
    return Path(os.environ.get("HOMELAB_ROOTFS_CACHE", default))


def apt_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The machine's own Debian mirror (deb822 or one-line sources), else deb.debian.org."""
    candidates = [*sorted(sources.glob("sources.list.d/*.sources")), sources / "sources.list"]
    for path in candidates:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in re.finditer(r"^URIs:\s*(\S+)", text, re.MULTILINE):
            if "security" not in match.group(1) and "debian" in match.group(1):
                return match.group(1)
        for match in re.finditer(rf"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+{SUITE}\s", text, re.MULTILINE):
            return match.group(1)
    return DEFAULT_MIRROR


def rootfs_tarball() -> Path:
    """The cached tarball of the Debian 12 rootfs, built with debootstrap on first use."""
    mirror = apt_mirror()
    key = hashlib.sha256("\n".join((SUITE, mirror, *PACKAGES)).encode()).hexdigest()[:12]
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    tarball = folder / f"debian-{SUITE}-{key}.tar"
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test sessions must not build the same tarball
        if not tarball.exists():
            _build(tarball, mirror)
    return tarball


def _build(tarball: Path, mirror: str) -> None:
    target = Path(tempfile.mkdtemp(prefix="build-", dir=tarball.parent))
    try:
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(target),
                mirror,
            ],
            check=True,
            capture_output=True,
            timeout=900,
        )
        partial = tarball.with_suffix(".partial")
        subprocess.run(["tar", "-C", str(target), "-cf", str(partial), "."], check=True, timeout=300)
        partial.rename(tarball)
    finally:
        remove_tree(target)


def mounts_below(path: Path) -> list[str]:
    """Mount points at or below `path`, deepest first."""
    root = str(path.resolve())
    found = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if point == root or point.startswith(root + "/"):
            found.append(point)
    return sorted(found, key=len, reverse=True)


def unmount_below(path: Path) -> None:
    """Lazily unmount everything mounted at or below `path`."""
    for point in mounts_below(path):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)


def remove_tree(path: Path) -> None:
    """Unmount, then delete `path` (never follows a mount into the host's /proc or /dev)."""
    if not path.exists():
        return
    unmount_below(path)
    if mounts_below(path):
        raise RuntimeError(f"refusing to delete {path}: still mounted: {mounts_below(path)}")
    shutil.rmtree(path, ignore_errors=True)


def make_host(tarball: Path, root: Path, admin_user: str, public_key: str) -> Path:
    """A fresh host at `root`: the rootfs plus what cloud-init would add (the admin user's key)."""
    root.mkdir(parents=True)
    subprocess.run(["tar", "-C", str(root), "-xf", str(tarball)], check=True, timeout=300)
    home = f"/home/{admin_user}"
    script = (
        f"useradd --create-home --shell /bin/bash {admin_user} && "
        f"install -d -m 0700 -o {admin_user} -g {admin_user} {home}/.ssh && "
        f"printf '%s\\n' '{public_key}' > {home}/.ssh/authorized_keys && "
        f"chown {admin_user}: {home}/.ssh/authorized_keys && chmod 0600 {home}/.ssh/authorized_keys"
    )
    subprocess.run(["chroot", str(root), "/bin/sh", "-c", script], check=True, timeout=60)
    return root


@contextlib.contextmanager
def hosts_under(base: Path) -> Iterator[Path]:
    """A directory for host roots that is always unmounted and removed afterwards."""
    base.mkdir(parents=True, exist_ok=True)
    try:
        yield base
    finally:
        remove_tree(base)
