"""`homelab validate --deep`: render everything and validate it with its real consumers.

- Files: every rendered file that is not a Kubernetes object, checked by its consumer (`files`:
  Terraform against the bpg provider's schema, the nftables ruleset, the Ansible playbooks).
- The Kubernetes tree: the convergence proof builds the whole desired cluster state with real Helm
  and runs its checks over it.

Both read one render of the model, so what is proven is what `homelab render` writes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from homelabeazy.converge import build, schema
from homelabeazy.converge.engine import Report, run_checks
from homelabeazy.converge.files.ansible import validate_ansible
from homelabeazy.converge.files.nftables import validate_nftables
from homelabeazy.converge.files.terraform import validate_terraform
from homelabeazy.model import Homelab
from homelabeazy.ops.helm import ChartCache
from homelabeazy.ops.memo import cache_root, read_json, write_json
from homelabeazy.render.registry import render_all

Validator = Callable[[dict[str, str], Path | None], list[str]]

VALIDATORS: tuple[Validator, ...] = (validate_terraform, validate_nftables, validate_ansible)
"""Each takes the rendered files (and a folder argument none of them uses any more, kept for
their signature), returns problems as text."""

Note = Callable[[str], None]


def validate_rendered(homelab: Homelab, note: Note | None = None) -> list[str]:  # noqa: ARG001
    """Every problem every file validator finds in the rendered tree."""
    return _file_problems(render_all(homelab))


@dataclass(frozen=True)
class DeepResult:
    """File validators' problems and the convergence report of the Kubernetes tree."""

    problems: list[str]
    report: Report


def validate_deep(homelab: Homelab, charts: Path | None = None) -> DeepResult:
    """Render once; run the file validators and the convergence proof over the same files."""
    files = render_all(homelab)
    cache = ChartCache.default(charts)
    memo_path = cache_root() / "schema-memo.json"
    stored = read_json(memo_path)
    if isinstance(stored, dict):
        schema.MEMO.update(stored)
    schema.USED.clear()
    # The file validators mostly wait on subprocesses (ansible, terraform): run them meanwhile.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_file_problems, files)
        built = build.build_proof(homelab, files, cache)
        report = run_checks(built.state, homelab, rerender=built.rerender)
        problems = pending.result()
    write_json(memo_path, {key: schema.MEMO[key] for key in sorted(schema.USED)})
    return DeepResult(problems, report)


def _file_problems(files: dict[str, str]) -> list[str]:
    problems: list[str] = []
    for validator in VALIDATORS:
        problems.extend(validator(files, None))
    return problems
