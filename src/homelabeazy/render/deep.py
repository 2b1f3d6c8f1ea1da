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

Note = Callable[[str], None]
ModelValidator = Callable[[Homelab, dict[str, str], Path | None, Note], list[str]]
MODEL_VALIDATORS: list[ModelValidator] = []
"""Validators that also need the model (the Kubernetes version, the GitOps path); they may `note`
things worth saying that are not problems."""


def _validate_kubernetes(
    homelab: Homelab, files: dict[str, str], schemas: Path | None, note: Note
) -> list[str]:
    from homelabeazy.render.k8s.validate import validate_tree  # noqa: PLC0415 - jsonschema is slow to import

    report = validate_tree(homelab, files, schemas)
    for text in report.notes:
        note(text)
    return report.problems


MODEL_VALIDATORS.append(_validate_kubernetes)


def validate_rendered(homelab: Homelab, schemas: Path | None, note: Note | None = None) -> list[str]:
    """Every problem every registered validator finds in the rendered tree."""
    files = render_all(homelab)
    problems: list[str] = []
    for validator in VALIDATORS:
        problems.extend(validator(files, schemas))
    for model_validator in MODEL_VALIDATORS:
        problems.extend(model_validator(homelab, files, schemas, note or (lambda _text: None)))
    return problems


def _register_layer_validators() -> None:
    """Layers append their validators here (imported late: they import the renderers)."""
    from homelabeazy.render.deep_ansible import validate_ansible  # noqa: PLC0415
    from homelabeazy.render.deep_network import validate_nftables  # noqa: PLC0415
    from homelabeazy.render.terraform_validate import validate_terraform  # noqa: PLC0415

    VALIDATORS.append(validate_terraform)
    VALIDATORS.append(validate_nftables)
    VALIDATORS.append(validate_ansible)


_register_layer_validators()
