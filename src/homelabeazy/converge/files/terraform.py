"""`validate --deep` for the terraform/ tree, without the provider binary.

`terraform validate` needs the bpg/proxmox plugin, which `terraform init` downloads from the
registry; where that is impossible this validator does what it can offline: every .tf file must
parse (python-hcl2), every argument and block used on a bpg resource must exist in the provider's
documented schema (`bpg_schema`), and the generated tfvars JSON must fit the types declared in
variables.tf (`tf_types`). `terraform fmt -check` runs in the test suite with the real binary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from homelabeazy.converge.files.bpg_schema import schema_problems
from homelabeazy.converge.files.tf_types import TypeSyntaxError, parse_type, type_problems

TERRAFORM_DIR = "terraform/"


def validate_terraform(files: Mapping[str, str], schemas: Path | None = None) -> list[str]:  # noqa: ARG001
    """Problems in the rendered terraform/ files; `schemas` is unused (the schema is bpg_schema)."""
    import hcl2  # noqa: PLC0415 - only validation needs the parser

    problems: list[str] = []
    parsed: dict[str, dict[str, Any]] = {}
    for path, text in sorted(files.items()):
        if not path.startswith(TERRAFORM_DIR):
            continue
        if path.endswith(".tf"):
            try:
                parsed[path] = hcl2.loads(text)
            except Exception as exc:  # the parser raises lark's many error types
                problems.append(f"{path}: does not parse as HCL: {str(exc).splitlines()[0]}")
                continue
            problems.extend(f"{path}: {p}" for p in schema_problems(parsed[path]))
        elif path.endswith(".json"):
            try:
                json.loads(text)
            except json.JSONDecodeError as exc:
                problems.append(f"{path}: invalid JSON: {exc.msg} at line {exc.lineno}")
    variables = {k: v for tree in parsed.values() for k, v in _variables(tree).items()}
    for path, text in sorted(files.items()):
        if path.startswith(TERRAFORM_DIR) and path.endswith(".tfvars.json"):
            problems.extend(f"{path}: {p}" for p in tfvars_problems(json.loads(text), variables))
    return problems


def _variables(tree: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for block in tree.get("variable", []):
        for raw_name, body in block.items():
            name = raw_name[1:-1] if raw_name.startswith('"') else raw_name
            out[name] = body
    return out


def tfvars_problems(values: Mapping[str, Any], variables: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Undeclared, missing and mistyped variables of a tfvars JSON against parsed variable blocks."""
    problems = [f"{name}: no such variable in variables.tf" for name in values if name not in variables]
    for name, body in variables.items():
        has_default = "default" in body
        if name not in values:
            if not has_default:
                problems.append(f"{name}: required variable has no value")
            continue
        if "type" not in body:
            continue
        try:
            tf_type = parse_type(str(body["type"]))
        except TypeSyntaxError as exc:
            problems.append(f"{name}: cannot read its type in variables.tf: {exc}")
            continue
        problems.extend(type_problems(values[name], tf_type, name, nullable=has_default))
    return problems
