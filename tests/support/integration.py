"""Policy for integration tests: skip only when a tool is truly absent, fail when CI requires it."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(reason: str) -> None:
    """Skip with `reason` — or fail when HOMELAB_REQUIRE_INTEGRATION=1 (CI), so nothing silently skips."""
    if os.environ.get("HOMELAB_REQUIRE_INTEGRATION") == "1":
        pytest.fail(f"integration requirement missing (HOMELAB_REQUIRE_INTEGRATION=1): {reason}")
    pytest.skip(reason)


def need_binary(name: str, how: str) -> str:
    """Path of `name` on PATH, or skip/fail saying how to install it."""
    path = shutil.which(name)
    if path is None:
        require_tool(f"`{name}` not found on PATH ({how})")
    assert path is not None
    return path


def need_root(what: str) -> None:
    """Skip/fail unless running as root (network namespaces, chroot, slapd on a port)."""
    if os.geteuid() != 0:
        require_tool(f"{what} needs root")
