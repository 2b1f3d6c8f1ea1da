"""Debian 12 root filesystems as Ansible hosts (chroot connection), for tests and benchmarks.

`debootstrap` builds one minbase rootfs with the packages the node role wants (so the role's apt
task finds them installed and needs no network) into a cache keyed by suite, mirror and package
list (`base_image()`): built once, under a lock (every xdist worker and every later run reuses it),
and never written to afterwards.

Each host is a copy-on-write view of the base image: an overlay mount (the image as its read-only
lower layer, the host's own changes in an upper layer beside it), so a new host costs no copying;
where overlayfs is refused, a full `cp -a --reflink=auto` copy. `remove_tree` unmounts everything
below a folder before deleting it, so no host mount (nor one a task left) survives a test. A test
process killed outright (SIGKILL) cannot clean up: each host mount is recorded with its process id
in the cache, and the next `base_image()` unmounts those whose process is gone.
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


def _image_name() -> tuple[str, str]:
    """(file name stem of the image for this machine's mirror and the package list, that mirror)."""
    mirror = apt_mirror()
    key = hashlib.sha256("\n".join((SUITE, mirror, *PACKAGES)).encode()).hexdigest()[:12]
    return f"debian-{SUITE}-{key}", mirror


def base_image() -> Path:
    """The Debian 12 rootfs, built with debootstrap on first use into the cache (keyed by suite,
    mirror and packages): the read-only lower layer of every host. Never modified afterwards."""
    name, mirror = _image_name()
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / name
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder; every other worker and run waits, then reuses it
        unmount_orphans()
        if not image.is_dir():
            partial = Path(tempfile.mkdtemp(prefix=f"{name}.partial-", dir=folder))
            try:
                tarball = folder / f"{name}.tar"  # a cache from before the image was kept unpacked
                if tarball.is_file():
                    subprocess.run(["tar", "-C", str(partial), "-xf", str(tarball)], check=True, timeout=300)
                else:
                    _debootstrap(partial, mirror)
                partial.chmod(0o755)
                partial.rename(image)
            finally:
                remove_tree(partial)
    return image


def rootfs_tarball() -> Path:
    """The base image as a tarball (for callers that extract a host themselves), made on first use."""
    image = base_image()
    tarball = image.with_name(f"{image.name}.tar")
    with open(image.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not tarball.exists():
            partial = tarball.with_suffix(".partial")
            subprocess.run(["tar", "-C", str(image), "-cf", str(partial), "."], check=True, timeout=300)
            partial.rename(tarball)
    return tarball


UNSAFE_IO = Path("etc/dpkg/dpkg.cfg.d/homelab-build-unsafe-io")
"""dpkg without an fsync per file while debootstrap installs (a minute less on ext4); removed afterwards."""


def _debootstrap(target: Path, mirror: str) -> None:
    (target / UNSAFE_IO).parent.mkdir(parents=True)
    (target / UNSAFE_IO).write_text("force-unsafe-io\n")
    subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(target), mirror],
        check=True,
        capture_output=True,
        timeout=900,
    )
    (target / UNSAFE_IO).unlink()
    subprocess.run(["sync", "-f", str(target)], check=True, timeout=300)  # on disk before it is shared


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
    _forget_mounts_below(path.resolve())
    shutil.rmtree(path, ignore_errors=True)


def make_host(image: Path, root: Path, admin_user: str, public_key: str) -> Path:
    """A fresh host at `root`: the rootfs plus what cloud-init would add (the admin user's key).

    `image` is `base_image()` (the host is an overlay on it; a copy where overlayfs is refused) or
    a rootfs tarball (extracted)."""
    if image.is_dir():
        _overlay_or_copy(image, root)
    else:
        root.mkdir(parents=True)
        subprocess.run(["tar", "-C", str(root), "-xf", str(image)], check=True, timeout=300)
    home = f"/home/{admin_user}"
    script = (
        f"useradd --create-home --shell /bin/bash {admin_user} && "
        f"install -d -m 0700 -o {admin_user} -g {admin_user} {home}/.ssh && "
        f"printf '%s\\n' '{public_key}' > {home}/.ssh/authorized_keys && "
        f"chown {admin_user}: {home}/.ssh/authorized_keys && chmod 0600 {home}/.ssh/authorized_keys"
    )
    subprocess.run(["chroot", str(root), "/bin/sh", "-c", script], check=True, timeout=60)
    return root


def _overlay_or_copy(image: Path, root: Path) -> None:
    """`root` as an overlay whose lower layer is `image` and whose upper and work layers live in
    `.<name>.layers` beside it (removed with it); a full copy when the mount is refused."""
    layers = root.with_name(f".{root.name}.layers")
    (layers / "upper").mkdir(parents=True)
    (layers / "work").mkdir()
    root.mkdir(parents=True)
    options = f"lowerdir={image},upperdir={layers / 'upper'},workdir={layers / 'work'}"
    record = _record_mount(root)
    mounted = subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o", options, str(root)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        record.unlink()
        root.rmdir()
        subprocess.run(["cp", "-a", "--reflink=auto", str(image), str(root)], check=True, timeout=300)


def _mount_records() -> Path:
    return cache_dir() / "mounts"


def _record_mount(root: Path) -> Path:
    """Note that this process mounts a host at `root` (see `unmount_orphans`)."""
    folder = _mount_records()
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    record.write_text(f"{os.getpid()}\n{root.resolve()}\n")
    return record


def _forget_mounts_below(path: Path) -> None:
    folder = _mount_records()
    for record in folder.glob("*") if folder.is_dir() else ():
        point = Path(record.read_text().splitlines()[1])
        if point == path or point.is_relative_to(path):
            record.unlink(missing_ok=True)


def unmount_orphans() -> None:
    """Unmount the hosts of test processes that died without cleaning up (killed outright)."""
    folder = _mount_records()
    for record in folder.glob("*") if folder.is_dir() else ():
        pid, point = record.read_text().splitlines()[:2]
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            unmount_below(Path(point))
            record.unlink(missing_ok=True)
        except PermissionError:
            continue  # alive (another user's): its own teardown unmounts it


@contextlib.contextmanager
def hosts_under(base: Path) -> Iterator[Path]:
    """A directory for host roots that is always unmounted and removed afterwards."""
    base.mkdir(parents=True, exist_ok=True)
    try:
        yield base
    finally:
        remove_tree(base)
