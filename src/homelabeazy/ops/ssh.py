"""Reaching a freshly created node over SSH: is sshd up, has cloud-init finished?"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence

from homelabeazy.ops.probes import tcp_banner

BOOT_FINISHED = "/var/lib/cloud/instance/boot-finished"


def ssh_banner_ok(host: str, port: int, timeout: float) -> bool:
    """Whether an SSH server answers at host:port (its banner starts with `SSH-`)."""
    try:
        return tcp_banner(host, port, timeout).startswith("SSH-")
    except OSError:
        return False


def ssh_argv(
    user: str, host: str, port: int, command: str, timeout: float, *, options: Sequence[str] = ()
) -> list[str]:
    """The ssh command line: batch mode (never prompt), new host keys accepted once, short timeout.

    `options` are extra ssh arguments (an identity file, a known-hosts file) placed before the host.
    """
    return [
        "ssh",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        f"ConnectTimeout={max(1, int(timeout))}",
        *options,
        "-p",
        str(port),
        f"{user}@{host}",
        command,
    ]


def cloud_init_finished(
    user: str,
    host: str,
    port: int,
    timeout: float,
    *,
    marker: str = BOOT_FINISHED,
    options: Sequence[str] = (),
) -> bool:
    """Whether cloud-init wrote its boot-finished marker on the node (False while ssh cannot log in)."""
    try:
        done = subprocess.run(
            ssh_argv(user, host, port, f"test -f {shlex.quote(marker)}", timeout, options=options),
            capture_output=True,
            text=True,
            timeout=timeout + 5,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0
