"""nftables: check a ruleset with the real `nft` parser without touching the host's firewall.

`nft -c` still needs CAP_NET_ADMIN, so the check runs in a fresh user + network namespace
(`unshare --user --map-root-user --net`): it works unprivileged and can never see or change the
machine's own rules.
"""

from __future__ import annotations

import shutil
import subprocess

from homelabeazy.errors import ExternalSystemError


def nft_available() -> bool:
    """Whether `nft` and `unshare` are installed (the check needs both)."""
    return shutil.which("nft") is not None and shutil.which("unshare") is not None


def check_ruleset(text: str, name: str = "homelab.nft") -> list[str]:
    """Problems `nft -c` finds in a ruleset (empty when it is valid)."""
    nft, unshare = shutil.which("nft"), shutil.which("unshare")
    if nft is None or unshare is None:
        raise ExternalSystemError(
            "nftables",
            f"checking {name}",
            "`nft` or `unshare` is not installed",
            "apt-get install nftables util-linux",
        )
    try:
        result = subprocess.run(
            [unshare, "--user", "--map-root-user", "--net", nft, "-c", "-f", "-"],
            input=text,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ExternalSystemError("nftables", f"checking {name}", str(exc), "") from None
    if result.returncode == 0:
        return []
    answer = (result.stderr or result.stdout).strip()
    if "unshare" in answer and ("Operation not permitted" in answer or "Permission denied" in answer):
        raise ExternalSystemError(
            "nftables",
            f"checking {name}",
            answer,
            "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1) or run as root",
        )
    return [f"{name}: nft -c: {line}" for line in answer.splitlines() if line.strip()]
