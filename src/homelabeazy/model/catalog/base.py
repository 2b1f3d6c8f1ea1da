"""What a catalog entry says about one service: chart pin, namespace, wave, routes, secrets.

Adding a service is one module in this package plus one line in the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Access = Literal["public", "one_factor", "two_factor", "group"]


@dataclass(frozen=True)
class ChartPin:
    """A Helm chart pinned to an exact version."""

    repo: str
    name: str
    version: str
    schema_refs: tuple[tuple[str, str], ...] = ()
    """(URL, file in homelabeazy/converge/data) for each document the chart's values.schema.json
    `$ref`s by URL. Helm would fetch them (and fail offline), so `validate --deep` renders such a
    chart with `--skip-schema-validation` and checks its values against the shipped copies."""


@dataclass(frozen=True)
class RouteSpec:
    """A host the service exposes through Traefik."""

    host: str
    backend: str
    port: int
    access: Access
    groups: tuple[str, ...] = ()
    field: str = "host"
    """The key under `services.<name>` the host was written at (errors point there)."""


@dataclass(frozen=True)
class SecretSpec:
    """A secret the service reads, stored in Vault at `<kv_mount>/<path>`.

    `generate` secrets are created by `homelab secrets seed` with strong randomness; `external`
    ones (cloud credentials) must be provided by the user and are only checked for presence.
    """

    path: str
    keys: tuple[str, ...]
    consumer: str
    description: str
    generate: Literal["random", "external"] = "random"


@dataclass(frozen=True)
class ServiceEntry:
    """A resolved core service, as the model and every renderer see it."""

    name: str
    title: str
    namespace: str
    chart: ChartPin | None
    wave: int
    description: str
    routes: tuple[RouteSpec, ...] = ()
    secrets: tuple[SecretSpec, ...] = ()
    depends_on: tuple[str, ...] = field(default=())
