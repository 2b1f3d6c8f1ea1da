"""`homelab validate --deep`: render everything and validate it with its real consumers.

- Files: every rendered file that is not a Kubernetes object, checked by its consumer (`files`:
  Terraform against the bpg provider's schema, the nftables ruleset, the Ansible playbooks).
- The Kubernetes tree: the convergence proof builds the whole desired cluster state with real Helm
  and runs its checks over it.

Both read one render of the model, so what is proven is what `homelab render` writes.

A file validator's clean answer is remembered (`file-checks.json` in the user's cache) under a hash
of everything it depends on: the rendered files it reads, the tools it runs (their size and time;
for Ansible every installed collection's manifest too) and this homelabeazy. A warm re-run with an
unchanged input and unchanged tools skips the subprocess; any change runs the check again. Problems
are never remembered: a failing check always runs.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from homelabeazy import __version__
from homelabeazy.converge import build, schema
from homelabeazy.converge.engine import Report, run_checks
from homelabeazy.converge.files.ansible import validate_ansible
from homelabeazy.converge.files.nftables import validate_nftables
from homelabeazy.converge.files.terraform import validate_terraform
from homelabeazy.model import Homelab
from homelabeazy.ops.helm import ChartCache
from homelabeazy.ops.memo import cache_root, fingerprint, read_json, tool_files, write_json
from homelabeazy.render.registry import render_all

Validator = Callable[[dict[str, str], Path | None], list[str]]


@dataclass(frozen=True)
class FileCheck:
    """A file validator, the rendered folder it reads and the tools it runs."""

    validator: Validator
    folder: str
    tools: tuple[str, ...]


FILE_CHECKS: tuple[FileCheck, ...] = (
    FileCheck(validate_terraform, "terraform/", ()),
    FileCheck(validate_nftables, "network/nftables/", ("nft", "unshare")),
    FileCheck(validate_ansible, "ansible/", ("ansible-playbook",)),
)
VALIDATORS: tuple[Validator, ...] = tuple(c.validator for c in FILE_CHECKS)
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
        pending = pool.submit(_file_problems, files, cache_root() / "file-checks.json")
        built = build.build_proof(homelab, files, cache)
        report = run_checks(built.state, homelab, rerender=built.rerender)
        problems = pending.result()
    write_json(memo_path, {key: schema.MEMO[key] for key in sorted(schema.USED)})
    return DeepResult(problems, report)


def _file_problems(files: dict[str, str], memo: Path | None = None) -> list[str]:
    """Every validator's problems; with `memo`, a check whose inputs and tools are unchanged since
    it last passed is not run again."""
    known = read_json(memo) if memo is not None else None
    passed = set(known) if isinstance(known, list) else set()
    now: list[str] = []
    problems: list[str] = []
    for check in FILE_CHECKS:
        key = _input_key(check, files)
        if key in passed:
            now.append(key)
            continue
        found = check.validator(files, None)
        problems.extend(found)
        if not found:
            now.append(key)
    if memo is not None and sorted(now) != sorted(passed):
        write_json(memo, sorted(now))
    return problems


def _input_key(check: FileCheck, files: dict[str, str]) -> str:
    """A hash of everything the check's answer depends on."""
    module = check.validator.__module__
    name = getattr(check.validator, "__name__", type(check.validator).__name__)
    digest = hashlib.sha256(f"{__version__}\n{module}.{name}\n".encode())
    code = [Path(str(getattr(sys.modules[module], "__file__", "")))]
    digest.update(fingerprint([*code, *tool_files(check.tools)]).encode())
    for path in sorted(p for p in files if p.startswith(check.folder)):
        digest.update(f"\0{path}\0{len(files[path])}\0".encode())
        digest.update(files[path].encode())
    return digest.hexdigest()
