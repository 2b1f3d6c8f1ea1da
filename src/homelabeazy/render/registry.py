"""The render targets: one module per layer of the output repo, each a pure Homelab -> files."""

from __future__ import annotations

from collections.abc import Callable

from homelabeazy.model import Homelab
from homelabeazy.render import ansible, ci, docs, kubernetes, network, renovate, terraform

Renderer = Callable[[Homelab], dict[str, str]]

TARGETS: dict[str, Renderer] = {
    "terraform": terraform.render,
    "ansible": ansible.render,
    "kubernetes": kubernetes.render,
    "network": network.render,
    "docs": docs.render,
    "renovate": renovate.render,
    "ci": ci.render,
}
"""Target name -> renderer. Order is the order files are listed in; the output is sorted anyway."""


class DuplicatePathError(ValueError):
    """Two targets produced the same path: a bug in a renderer, never a user error."""


def render_all(homelab: Homelab, targets: list[str] | None = None) -> dict[str, str]:
    """Every file of the output repo, path -> text, sorted by path."""
    files: dict[str, str] = {}
    for name, renderer in TARGETS.items():
        if targets is not None and name not in targets:
            continue
        for path, text in renderer(homelab).items():
            if path in files:
                raise DuplicatePathError(f"{path} is rendered by two targets")
            files[path] = text
    return dict(sorted(files.items()))
