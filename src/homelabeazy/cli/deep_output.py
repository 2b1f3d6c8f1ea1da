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
    steps = config_steps(finding.config_path)
    if steps is None:
        return None
    line, _ = loaded.source.locate(tuple(steps), prefer_key=True)
    where = f"{loaded.source.file}:{line}" if line else loaded.source.file
    return f"{where}: {finding.config_path}"


_STEP = re.compile(r'(?:"((?:[^"\\]|\\.)*)"|([^.\[\]"]+))((?:\[\d+\])*)(?:\.|$)')


def config_steps(path: str) -> list[str | int] | None:
    """`apps[1].chart.values.configs.params."server.insecure"` -> its keys and indexes; a key holding
    a dot is quoted (model.catalog.overrides.dotted writes it so). None when it is not such a path."""
    steps: list[str | int] = []
    position = 0
    while position < len(path):
        match = _STEP.match(path, position)
        if match is None or match.end() == position:
            return None
        quoted, plain, indexes = match.groups()
        steps.append(json.loads(f'"{quoted}"') if quoted is not None else plain)
        steps.extend(int(i) for i in re.findall(r"\[(\d+)\]", indexes))
        position = match.end()
    return steps


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
