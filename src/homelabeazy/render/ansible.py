"""The ansible layer of the rendered repo.

Filled in by its own issue; until then it contributes no files.
"""

from __future__ import annotations

from homelabeazy.model import Homelab


def render(homelab: Homelab) -> dict[str, str]:  # noqa: ARG001 - layer not built yet
    """Relative path -> file text for the ansible/ tree."""
    return {}
