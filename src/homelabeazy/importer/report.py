"""IMPORT_REPORT.md: what was imported, what was not mapped and why, what failed to read.

The report is the honest half of "zero diff": every setting the generated Terraform does not
carry is named here with its reason, so a user knows what `terraform plan` cannot see.
"""

from __future__ import annotations

from collections.abc import Sequence

from homelabeazy.importer.addresses import ReadFailure, resource_address
from homelabeazy.importer.guests import Guest
from homelabeazy.importer.lxc import Container


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _summary(guests: Sequence[Guest]) -> list[str]:
    lines = ["| node | vmid | kind | name | resource | not mapped |", "|---|---|---|---|---|---|"]
    for g in guests:
        kind = ("template " if g.template else "") + ("LXC" if isinstance(g, Container) else "QEMU")
        address = resource_address(g)
        lines.append(f"| {g.node} | {g.vmid} | {kind} | {_cell(g.name)} | `{address}` | {len(g.unmapped)} |")
    return lines


def _unmapped(guests: Sequence[Guest]) -> list[str]:
    lines: list[str] = []
    for g in guests:
        notes = list(g.unmapped)
        if not notes and not isinstance(g, Container):
            continue
        lines += ["", f"### {g.node}/{g.vmid} {_cell(g.name)}", ""]
        if isinstance(g, Container):
            lines.append(
                "- `operating_system.template_file_id`: needs your input — Proxmox does not record the "
                "template a container was created from, and the provider requires one: set the variable "
                "`container_template_file_id` (versions.tf). `lifecycle.ignore_changes` keeps Terraform "
                "from replacing the adopted container because of it."
            )
        for note in notes:
            value = f" (`{_cell(note.value)}`)" if note.value else ""
            lines.append(f"- `{note.key}`{value}: {note.reason}")
    return lines


def report_markdown(
    guests: Sequence[Guest],
    failures: Sequence[ReadFailure],
    *,
    endpoint: str,
    release: str,
    warnings: Sequence[str] = (),
) -> str:
    """The report text (deterministic: no timestamps)."""
    source = f"{endpoint} (Proxmox VE {release})" if release else endpoint or "Proxmox VE"
    vms = sum(1 for g in guests if not isinstance(g, Container))
    lines = [
        "# Import report",
        "",
        f"Source: {source}. Imported {len(guests)} guest(s): {vms} QEMU VM(s), "
        f"{len(guests) - vms} LXC container(s); {len(failures)} could not be read.",
        "",
        "Next: `terraform init`, then `terraform plan` — the `import {}` blocks in imports.tf adopt every",
        "guest and the plan should show no changes. Below: what the generated resources do not carry;",
        "read `terraform plan` before any apply, as such a setting can show up there as a change.",
        "",
        "## Guests",
        "",
        *(_summary(guests) if guests else ["No guests were imported."]),
        "",
        "## Not mapped",
        *(_unmapped(guests) or ["", "Every setting of every guest was mapped."]),
        "",
    ]
    if warnings:
        lines += ["## Warnings", "", *(f"- {_cell(w)}" for w in warnings), ""]
    if failures:
        lines += [
            "## Could not be read",
            "",
            "These guests are not in the generated files; fix the cause and re-run.",
            "",
        ]
        lines += [f"- {f.node}/{f.vmid} {_cell(f.name)} ({f.kind}): {_cell(f.error)}" for f in failures]
        lines.append("")
    return "\n".join(lines)
