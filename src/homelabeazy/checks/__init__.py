"""Semantic checks: rules that relate several fields of homelab.yaml, one small function each, by
domain; and `load_config`, which parses the file (config) and runs them all.

They stand above the config and the model because they ask the model's own rules (placement,
address allocation, the catalog, the firewall policy compiler) rather than re-deriving them.
Each check has an id, a one-line doc, a good and a bad fixture under tests/fixtures/config/.
"""

from __future__ import annotations

from homelabeazy.checks import (
    cluster,
    day_one,
    dns,
    dr,
    etcd,
    firewall,
    identity,
    network,
    overrides,
    proxmox,
    public,
    services,
    unmanaged,
)
from homelabeazy.checks.base import Check, Finding, checks_of
from homelabeazy.config.load import FieldPath, LoadedConfig, Shaped, problem_at, shape_config
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.errors import ConfigError, Problem

DOMAINS = (
    network,
    cluster,
    proxmox,
    services,
    identity,
    firewall,
    unmanaged,
    day_one,
    dns,
    dr,
    etcd,
    overrides,
    public,
)
"""The order checks run in: their findings are reported in it where two point at the same place."""

CHECKS: tuple[Check, ...] = tuple(c for domain in DOMAINS for c in checks_of(domain))


def run_checks(config: HomelabConfig) -> list[Finding]:
    """Run every check; return all findings, each tagged with its check id."""
    findings: list[Finding] = []
    for registered in CHECKS:
        for finding in registered.run(config):
            findings.append(
                Finding(finding.path, finding.message, finding.hint, finding.severity, registered.id)
            )
    return findings


def load_config(text: str, file: str = "homelab.yaml") -> LoadedConfig:
    """Parse, validate the shape, run every semantic check; raise ConfigError with all errors.

    All at once: when the shape has problems, the checks still run on what remains (see
    `config.load.Shaped`), and both are reported in one run, in the order of the file.
    """
    shaped = shape_config(text, file)
    if shaped.loaded is None:
        raise ConfigError(list(shaped.problems))
    findings = [f for f in run_checks(shaped.loaded.config) if _believable(f.path, shaped)]
    located = [
        (f, problem_at(shaped.loaded.source, f.path, f.message, f.hint, severity=f.severity, check=f.check))
        for f in findings
    ]
    errors = [problem for f, problem in located if f.severity == "error"]
    warnings = tuple(problem for f, problem in located if f.severity != "error")
    if shaped.problems and not errors:
        raise ConfigError(list(shaped.problems))
    if shaped.problems:
        raise ConfigError(sorted([*shaped.problems, *errors], key=_order))
    if errors:
        raise ConfigError(sorted(errors, key=_order) + list(warnings))
    return LoadedConfig(shaped.loaded.config, shaped.loaded.source, warnings)


def _believable(path: FieldPath, shaped: Shaped) -> bool:
    """A finding is not about a part the shape check set aside (nor, for a value that took its
    default, about anything that holds it)."""
    for aside in shaped.set_aside:
        if path[: len(aside)] == aside:
            return False
    return not any(aside[: len(path)] == path for aside in shaped.defaulted)


def _order(problem: Problem) -> tuple[int, int]:
    return (problem.line or 0, problem.column or 0)


__all__ = ["CHECKS", "Check", "Finding", "LoadedConfig", "load_config", "run_checks"]
