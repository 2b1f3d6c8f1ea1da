"""Preflight's Proxmox checks: the version decides the privilege set and the image path.

Pure decisions over what a `ProxmoxReader` reports (GET /version, GET /access/permissions), so
they are tested against the fake Proxmox with 8.x and 9.x answers.
"""

from __future__ import annotations

from collections.abc import Mapping

from homelabeazy.model import Homelab
from homelabeazy.model.proxmox_privileges import (
    IMPORT_CONTENT_SINCE,
    SUPPORTED_MAJORS,
    PveVersion,
    required_privileges,
)
from homelabeazy.ops.proxmox import ProxmoxReader


def missing_privileges(permissions: Mapping[str, set[str]], major: int) -> list[str]:
    """Privileges Proxmox VE `major` requires that the token lacks on `/` with propagation (pure)."""
    granted = permissions.get("/", set())
    return [p for p in required_privileges(major) if p not in granted]


def proxmox_problems(proxmox: ProxmoxReader, homelab: Homelab) -> tuple[list[str], str]:
    """What is wrong with the Proxmox side for this version, and a one-line summary when all is well.

    The version decides the privilege set (and whether a cloud image can be downloaded at all),
    so it is read first; the token's privileges are then checked against that version's set.
    """
    cfg = homelab.config.proxmox
    release = proxmox.release()
    try:
        version = PveVersion.parse(release)
    except ValueError:
        return [f"Proxmox answered an unknown release {release!r} to GET /version"], ""
    if not version.supported:
        known = " and ".join(f"{m}.x" for m in SUPPORTED_MAJORS)
        return [
            f"Proxmox VE {version} is not supported: homelab knows the privileges of Proxmox VE {known}"
        ], ""
    problems = []
    lacking = missing_privileges(proxmox.permissions(), version.major)
    if lacking:
        problems.append(
            f"Proxmox token {cfg.token_id} lacks {', '.join(lacking)} on / (granted with propagation), "
            f"which Proxmox VE {version.major}.x requires: add them to its role "
            f"(README.md, 'Proxmox API token', the Proxmox VE {version.major}.x block)"
        )
    if cfg.image is not None and not version.has_import_content:
        since = ".".join(map(str, IMPORT_CONTENT_SINCE))
        problems.append(
            f"Proxmox VE {version} cannot hold the cloud image proxmox.image downloads: the storage "
            f"content type `import` exists from Proxmox VE {since} on; upgrade Proxmox, or clone a "
            "template instead (set proxmox.template and remove proxmox.image)"
        )
    return problems, f"Proxmox VE {version}, token ok"
