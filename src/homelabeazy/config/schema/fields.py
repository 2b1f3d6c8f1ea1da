"""Field types and validators every section shares (DNS names, ranges, versions, URLs), and
`Section`, the base of every model: unknown keys are errors, values are immutable.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from homelabeazy.config.cron import CronError, parse_cron

DNS_LABEL = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
DNS_NAME = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
K3S_VERSION = r"^v1\.(\d+)\.(\d+)\+k3s(\d+)$"
SENDER = r"^[A-Za-z0-9._~!#$%&'*/=?^{|}+-]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$"
"""A bare mailbox as Authelia's schema spells it. Its `Name <mailbox>` form is left out: the schema
offers the two forms as a `oneOf` with `format: email`, which a validator that does not check
formats strictly matches twice, so the deep validation would refuse it."""

Label = Annotated[str, StringConstraints(pattern=DNS_LABEL, max_length=63)]
"""A single DNS label: lowercase letters, digits and '-', not starting or ending with '-'."""

DnsName = Annotated[str, StringConstraints(pattern=DNS_NAME, max_length=253)]
Size = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*(Mi|Gi|Ti)$")]
Duration = Annotated[str, StringConstraints(pattern=r"^([0-9]+(h|m|s))+$")]


def _check_cron(value: str) -> str:
    """Refuse what Velero, Kubernetes and K3s would refuse (their parser: config/cron.py), and a
    schedule that never runs: its backups' age could never be judged."""
    try:
        parse_cron(value)
    except CronError as exc:
        raise ValueError(f"{value!r} is not a schedule Velero, Kubernetes and K3s accept: {exc}") from None
    return value


Cron = Annotated[
    str,
    StringConstraints(pattern=r"^(@(hourly|daily|weekly|monthly)|(\S+\s+){4}\S+)$"),
    AfterValidator(_check_cron),
]
ChartVersion = Annotated[str, StringConstraints(pattern=r"^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$")]
"""An exact chart (or release) version, `1.2.3` or `v1.2.3`, with an optional `-pre`/`+build` part."""
HelmValues = dict[str, Any]
"""Helm values: a mapping, exactly as in a Helm values file."""


def _check_range(value: str) -> str:
    """Validate `A.B.C.D-E.F.G.H` (inclusive, start <= end) and normalise spacing."""
    parts = [p.strip() for p in value.split("-")]
    if len(parts) != 2:
        raise ValueError("expected an address range like 10.10.10.20-10.10.10.59")
    try:
        start, end = IPv4Address(parts[0]), IPv4Address(parts[1])
    except ValueError as exc:
        raise ValueError(f"not a valid IPv4 range: {exc}") from None
    if start > end:
        raise ValueError(f"range start {start} is after its end {end}")
    return f"{start}-{end}"


IpRange = Annotated[str, AfterValidator(_check_range)]
"""An inclusive IPv4 range written `first-last`, e.g. 10.10.10.200-10.10.10.239."""


def _check_host(value: str) -> str:
    if not re.match(DNS_NAME, value):
        raise ValueError("not a valid DNS name (lowercase letters, digits, '-' and '.')")
    return value


HostName = Annotated[str, AfterValidator(_check_host)]
"""A route host: a single label (prefixed to the domain) or a full name inside the domain."""


def _check_repo_path(value: str) -> str:
    """A folder inside the repository: the writer would otherwise carry files out of the tree."""
    segments = value.strip("/").split("/") if not value.startswith("/") else ["/"]
    if value.startswith("/") or any(seg in ("", ".", "..") for seg in segments):
        raise ValueError(
            "must be a relative folder inside the repository (no leading '/', no '.' or '..' parts)"
        )
    if segments[0] in (".git", ".homelab"):
        raise ValueError(f"{segments[0]}/ is reserved (Git's and homelabeazy's own state)")
    return value


RepoPath = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._/-]+$"), AfterValidator(_check_repo_path)]
"""A folder inside the generated repository (relative, without `..`)."""


def _no_url_credentials(where: str) -> AfterValidator:
    """Refuse `scheme://user:password@host`: the URL is copied into committed files."""

    def check(value: str) -> str:
        authority = value.split("://", 1)[1].split("/", 1)[0] if "://" in value else ""
        userinfo = authority.rpartition("@")[0]
        if ":" in userinfo or (userinfo and value.startswith(("http://", "https://"))):
            raise ValueError(
                "must not hold credentials (user:password@ or token@): this URL is written into committed "
                f"files; {where}"
            )
        return value

    return AfterValidator(check)


class Section(BaseModel):
    """Base for every config section: unknown keys are errors, values are immutable."""

    # The field docstrings reach the JSON Schema through config.json_schema (make docs-gen).
    # defer_build: a model's validator is built when first used, so validating homelab.yaml builds the
    # root once instead of every section at import too (about a tenth of `homelab validate`'s CPU).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
