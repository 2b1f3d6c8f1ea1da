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


def _register_layer_validators() -> None:
    """Layers append their validators here (imported late: they import the renderers)."""
    from homelabeazy.render.deep_network import validate_nftables  # noqa: PLC0415
    from homelabeazy.render.terraform_validate import validate_terraform  # noqa: PLC0415

    VALIDATORS.append(validate_terraform)
    VALIDATORS.append(validate_nftables)


_register_layer_validators()
