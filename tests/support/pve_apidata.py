"""The Proxmox VE API description (pve-apidata.json) as a request validator.

The fake Proxmox server checks every request it receives against this description, so a client
that asks for a path Proxmox does not have, uses a method the path does not allow, or sends a
parameter that is unknown, mistyped, outside its enum or range, fails the test instead of
passing against a lenient fake. The description is reference data read from ../shared/schemas.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve()

# Proxmox's own parser accepts these spellings for booleans (PVE::JSONSchema::parse_boolean).
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

# The formats the read-only paths we use rely on; others are accepted as plain strings.
_FORMATS = {
    "pve-node": re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"),
    "pve-vmid": re.compile(r"^[1-9][0-9]{2,8}$"),
    "pve-configid": re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]+$"),
    "pve-storage-id": re.compile(r"^[a-z][a-z0-9._-]*[a-z0-9]$", re.IGNORECASE),
}


def find_apidata() -> Path:
    """Locate pve-apidata.json: $HOMELAB_SCHEMAS, else the shared folder beside the checkout."""
    candidates = []
    if os.environ.get("HOMELAB_SCHEMAS"):
        candidates.append(Path(os.environ["HOMELAB_SCHEMAS"]))
    candidates += [parent / "shared" / "schemas" for parent in _HERE.parents]
    for base in candidates:
        path = base / "proxmox" / "pve-apidata.json"
        if path.is_file():
            return path
    raise FileNotFoundError("pve-apidata.json not found: set HOMELAB_SCHEMAS to the shared schemas folder")


@dataclass(frozen=True)
class Endpoint:
    """One method of one path template, e.g. GET /nodes/{node}/qemu/{vmid}/config."""

    template: str
    method: str
    info: dict[str, Any]
    pattern: re.Pattern[str]
    path_params: tuple[str, ...]

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        """Declared parameters (path and query), name -> JSON-schema-like description."""
        return dict(self.info.get("parameters", {}).get("properties", {}))


class ApiDescription:
    """Every path and method of the Proxmox VE API, and the checks of one request against them."""

    def __init__(self, tree: list[dict[str, Any]]) -> None:
        self._by_template: dict[str, dict[str, Endpoint]] = {}
        self._patterns: dict[str, re.Pattern[str]] = {}
        self._walk(tree)
        # Literal segments must win over placeholders (/nodes/{node}/qemu vs a node called 'qemu').
        self._ordered = sorted(self._by_template, key=lambda t: (t.count("{"), -len(t)))

    @classmethod
    def load(cls, path: Path | None = None) -> ApiDescription:
        """Read the description from `path` (default: the shared schemas folder)."""
        return _load_cached(str(path or find_apidata()))

    def _walk(self, nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            template = node["path"]
            params = tuple(re.findall(r"\{(\w+)\}", template))
            regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
            compiled = re.compile(regex)
            methods = {
                method: Endpoint(template, method, info, compiled, params)
                for method, info in node.get("info", {}).items()
            }
            self._by_template[template] = methods
            self._patterns[template] = compiled
            self._walk(node.get("children", []))

    def match(self, path: str) -> tuple[str, dict[str, str]] | None:
        """The path template `path` belongs to and its placeholder values, or None."""
        for template in self._ordered:
            hit = self._patterns[template].match(path)
            if hit:
                return template, hit.groupdict()
        return None

    def endpoint(self, template: str, method: str) -> Endpoint | None:
        """The description of `method` on `template`, or None when the path does not allow it."""
        return self._by_template.get(template, {}).get(method)

    def check_request(self, method: str, path: str, query: dict[str, list[str]]) -> list[str]:
        """Every way this request violates the API description (empty when it is valid)."""
        found = self.match(path)
        if found is None:
            return [f"{method} {path}: no such path in the Proxmox VE API"]
        template, path_values = found
        endpoint = self.endpoint(template, method)
        if endpoint is None:
            allowed = sorted(self._by_template[template])
            return [f"{method} {path}: method not allowed on {template} (allowed: {', '.join(allowed)})"]
        problems: list[str] = []
        declared = endpoint.parameters
        values: dict[str, str] = dict(path_values)
        for name, items in query.items():
            if len(items) != 1:
                problems.append(f"{method} {template}: parameter {name!r} given {len(items)} times")
            if name in path_values:
                problems.append(f"{method} {template}: path parameter {name!r} repeated in the query")
            values[name] = items[-1]
        for name, value in values.items():
            spec = declared.get(name)
            if spec is None:
                problems.append(f"{method} {template}: unknown parameter {name!r}")
                continue
            problems += [f"{method} {template}: {name}={value!r}: {p}" for p in check_value(spec, value)]
        for name, spec in declared.items():
            if not spec.get("optional") and name not in values:
                problems.append(f"{method} {template}: required parameter {name!r} missing")
        if not endpoint.info.get("allowtoken", 0):
            problems.append(f"{method} {template}: API tokens are not allowed on this endpoint")
        return problems


@cache
def _load_cached(path: str) -> ApiDescription:
    return ApiDescription(json.loads(Path(path).read_text(encoding="utf-8")))


def check_value(spec: dict[str, Any], raw: str) -> list[str]:
    """Problems of one wire value (always a string in a query) against its parameter spec."""
    kind = spec.get("type", "string")
    if kind == "boolean":
        return [] if raw.lower() in _TRUE | _FALSE else ["not a boolean"]
    if kind in ("integer", "number"):
        try:
            number: float = int(raw) if kind == "integer" else float(raw)
        except ValueError:
            return [f"not an {kind}"]
        problems = []
        if "minimum" in spec and number < spec["minimum"]:
            problems.append(f"below the minimum {spec['minimum']}")
        if "maximum" in spec and number > spec["maximum"]:
            problems.append(f"above the maximum {spec['maximum']}")
        return problems
    problems = []
    if "enum" in spec and raw not in spec["enum"]:
        problems.append(f"not one of {spec['enum']}")
    if "maxLength" in spec and len(raw) > spec["maxLength"]:
        problems.append(f"longer than {spec['maxLength']}")
    if "pattern" in spec and not re.fullmatch(perl_pattern(spec["pattern"]), raw):
        problems.append(f"does not match {spec['pattern']}")
    fmt = spec.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS and not _FORMATS[fmt].match(raw):
        problems.append(f"not a valid {fmt}")
    return problems


def perl_pattern(pattern: str) -> str:
    """Proxmox's patterns are Perl regexes serialised with `(?^:...)` / `(?^i:...)` groups."""
    return re.sub(r"\(\?\^([a-z]*):", lambda m: f"(?{m.group(1)}:" if m.group(1) else "(?:", pattern)


def _split_property_string(text: str, default_key: str | None) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for part in text.split(","):
        if "=" in part:
            key, _, value = part.partition("=")
            out[key] = value
        elif default_key is not None and default_key not in out:
            out[default_key] = part
        else:
            return None
    return out


def check_property_string(fmt: dict[str, Any], text: str) -> list[str]:
    """Problems of a property string (`virtio=..,bridge=vmbr0,tag=10`) against its format.

    Used to prove the fixture estates hold configs a real Proxmox could return: every key must be
    declared (directly, as an alias, or as a keyAlias such as a NIC model), every value typed.
    """
    default_key = next((k for k, v in fmt.items() if isinstance(v, dict) and v.get("default_key")), None)
    parts = _split_property_string(text, default_key)
    if parts is None:
        return [f"{text!r}: cannot be split into key=value pairs"]
    problems = []
    for key, value in parts.items():
        spec = fmt.get(key)
        if spec is None:
            problems.append(f"{text!r}: unknown key {key!r}")
            continue
        if "alias" in spec:
            spec = fmt.get(spec["alias"], {})
        problems += [f"{text!r}: {key}={value!r}: {p}" for p in check_value(spec, value)]
    return problems


def config_property_spec(returns: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The spec of a guest config key, resolving indexed keys (`net0` -> `net[n]`)."""
    props = returns.get("properties", {})
    if key in props:
        return dict(props[key])
    indexed = re.fullmatch(r"([a-z]+)(\d+)", key)
    if indexed and f"{indexed.group(1)}[n]" in props:
        return dict(props[f"{indexed.group(1)}[n]"])
    return None
