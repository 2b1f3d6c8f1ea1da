"""`homelab validate --deep`: render everything and validate each file with its real consumer.

Each layer registers a validator here as its issue lands; the foundation has none yet.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from homelabeazy.model import Homelab
from homelabeazy.render.registry import render_all

Validator = Callable[[dict[str, str], Path | None], list[str]]

VALIDATORS: list[Validator] = []
"""Each takes the rendered files and an optional schema folder, returns problems as text."""


def validate_rendered(homelab: Homelab, schemas: Path | None) -> list[str]:
    """Every problem every registered validator finds in the rendered tree."""
    files = render_all(homelab)
    problems: list[str] = []
    for validator in VALIDATORS:
        problems.extend(validator(files, schemas))
    return problems


from homelabeazy.render.deep_ansible import validate_ansible  # noqa: E402

VALIDATORS.append(validate_ansible)
