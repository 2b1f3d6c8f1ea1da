"""How `validate --deep` prints: file validators' problems, the convergence report, each finding
with the homelab.yaml line behind it; or all of it as one JSON document on stdout."""

from __future__ import annotations

import json
import re

from homelabeazy.cli import console
from homelabeazy.config.load import LoadedConfig
from homelabeazy.converge.deep import DeepResult
from homelabeazy.converge.engine import Report
from homelabeazy.desired.state import Finding
from homelabeazy.errors import ExitCode


def config_line(finding: Finding, loaded: LoadedConfig) -> str | None:
    """`homelab.yaml:12: services.vault` for a finding that knows its config path."""
    if not finding.config_path:
        return None
    steps: list[str | int] = []
    for part in finding.config_path.split("."):
        match = re.fullmatch(r"([^\[]+)((?:\[\d+\])*)", part)
        if match is None:
            return None
        steps.append(match.group(1))
        steps.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    line, _ = loaded.source.locate(tuple(steps), prefer_key=True)
    where = f"{loaded.source.file}:{line}" if line else loaded.source.file
    return f"{where}: {finding.config_path}"


def _summary(report: Report) -> None:
    for wave in report.waves:
        found = ", ".join(f"{n} {check}" for check, n in sorted(wave.findings.items())) or "ok"
        crds = f", {len(wave.crds)} CRDs" if wave.crds else ""
        console.info(
            f"wave {wave.wave:>3}: {', '.join(wave.applications)}: {wave.objects} objects{crds} — {found}"
        )
    checks = ", ".join(f"{name} {count}" for name, count in report.checks.items())
    console.info(f"{report.objects} objects checked; findings per check: {checks}")


def print_deep(result: DeepResult, loaded: LoadedConfig, as_json: bool) -> int:
    """Print the result; exit 2 when the state does not converge, 1 when only a file validator failed."""
    report = result.report
    if as_json:
        data = report.as_json()
        for item, finding in zip(data["findings"], report.findings, strict=True):
            item["config_line"] = config_line(finding, loaded)
        data["config_warnings"] = [p.__dict__ for p in loaded.warnings]
        data["file_problems"] = list(result.problems)
        console.out.print_json(json.dumps(data))
    else:
        for text in result.problems:
            console.failure(text)
        _summary(report)
        for finding in report.findings:
            console.failure(finding.text())
            located = config_line(finding, loaded)
            console.info(f"    {finding.check} check" + (f"; from {located}" if located else ""))
        if report.findings:
            console.failure(f"{len(report.findings)} finding(s): the cluster state would not converge")
    if report.findings:
        return ExitCode.BAD_INPUT
    return ExitCode.FAILED if result.problems else ExitCode.OK
