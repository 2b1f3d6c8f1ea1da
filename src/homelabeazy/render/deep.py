"""`homelab validate --deep`: render everything and validate it with its real consumers.

- Files: each layer registers a validator of its rendered files (Terraform, nftables, Ansible).
- The Kubernetes tree: the convergence proof (homelabeazy.converge) builds the whole desired
  cluster state with real Helm and runs its checks over it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from homelabeazy.model import Homelab
from homelabeazy.render.registry import render_all

if TYPE_CHECKING:
    from homelabeazy.converge.engine import Report

Validator = Callable[[dict[str, str], Path | None], list[str]]

VALIDATORS: list[Validator] = []
"""Each takes the rendered files (and a folder argument none of them uses any more, kept for
their signature), returns problems as text."""

Note = Callable[[str], None]


def validate_rendered(homelab: Homelab, note: Note | None = None) -> list[str]:  # noqa: ARG001
    """Every problem every registered file validator finds in the rendered tree."""
    files = render_all(homelab)
    problems: list[str] = []
    for validator in VALIDATORS:
        problems.extend(validator(files, None))
    return problems


@dataclass(frozen=True)
class DeepResult:
    """File validators' problems and the convergence report of the Kubernetes tree."""

    problems: list[str]
    report: Report


def validate_deep(homelab: Homelab, charts: Path | None = None) -> DeepResult:
    """Render once; run the file validators and the convergence proof over the same files."""
    from homelabeazy.converge.build import build_state  # noqa: PLC0415 - jsonschema/yaml are slow to import
    from homelabeazy.converge.engine import run_checks  # noqa: PLC0415
    from homelabeazy.ops.helm import ChartCache  # noqa: PLC0415

    files = render_all(homelab)
    problems: list[str] = []
    for validator in VALIDATORS:
        problems.extend(validator(files, None))
    state = build_state(homelab, files, ChartCache.default(charts))
    return DeepResult(problems, run_checks(state, homelab))


def _register_layer_validators() -> None:
    """Layers append their validators here (imported late: they import the renderers)."""
    from homelabeazy.render.deep_ansible import validate_ansible  # noqa: PLC0415
    from homelabeazy.render.deep_network import validate_nftables  # noqa: PLC0415
    from homelabeazy.render.terraform_validate import validate_terraform  # noqa: PLC0415

    VALIDATORS.append(validate_terraform)
    VALIDATORS.append(validate_nftables)
    VALIDATORS.append(validate_ansible)


_register_layer_validators()
