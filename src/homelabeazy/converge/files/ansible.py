"""`homelab validate --deep` for the ansible layer: every playbook through `ansible-playbook
--syntax-check`, run on the rendered ansible/ tree in a temporary folder (roles, group_vars and
inventory resolve exactly as they will in the user's repo)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from homelabeazy.ops.ansible import syntax_check

PLAYBOOKS = ("site.yml", "upgrade.yml", "reset.yml")


def validate_ansible(files: dict[str, str], schemas: Path | None) -> list[str]:  # noqa: ARG001
    """Problems `ansible-playbook --syntax-check` finds in the rendered playbooks."""
    tree = {path: text for path, text in files.items() if path.startswith("ansible/")}
    if not tree:
        return []
    with tempfile.TemporaryDirectory(prefix="homelab-deep-ansible-") as folder:
        root = Path(folder)
        for rel, text in tree.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        problems = []
        for playbook in PLAYBOOKS:
            answer = syntax_check(root / "ansible", playbook)
            if answer is not None:
                problems.append(f"ansible/{playbook}: ansible-playbook --syntax-check failed: {answer}")
        return problems
