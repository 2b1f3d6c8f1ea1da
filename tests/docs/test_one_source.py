"""Facts the docs repeat come from one place in the code (issue: the Proxmox privileges were
described three different ways). Hand-written pages link to the generated reference instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from homelabeazy.model import proxmox_privileges

ROOT = Path(__file__).resolve().parents[2]
GUIDES = sorted((ROOT / "docs" / "guides").glob("*.md"))
HAND_WRITTEN = [*GUIDES, ROOT / "README.md", ROOT / "docs" / "index.md"]


@pytest.mark.parametrize("page", HAND_WRITTEN, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_hand_written_page_lists_proxmox_privileges(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert "pveum role add" not in text, "link to docs/reference/proxmox-token.md instead"
    assert not (set(proxmox_privileges.GUEST_AGENT_PRIVILEGE.values()) & set(text.replace("`", " ").split()))


def test_every_privilege_says_what_it_is_for() -> None:
    every = {
        p for m in proxmox_privileges.SUPPORTED_MAJORS for p in proxmox_privileges.required_privileges(m)
    }
    assert every == set(proxmox_privileges.PURPOSE)
