"""K3s releases as the model, the checks and `homelab upgrade k3s` compare them.

A K3s tag is `v1.MINOR.PATCH+k3sBUILD`: the Kubernetes release it carries plus K3s's own build of
it. Releases of one minor line are ordered by patch, then build; a feature K3s backports arrives in
each supported line at a different patch (see model/k3s_flags.py), so "has it" is decided per line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from homelabeazy.config.schema import K3S_VERSION

OLDEST_SUPPORTED_MINOR = 29
"""The oldest Kubernetes minor line homelabeazy's roles and manifests support (the `k3s-version` check)."""


@dataclass(frozen=True, order=True)
class K3sVersion:
    """A K3s release `v1.MINOR.PATCH+k3sBUILD`, ordered as releases are."""

    minor: int
    patch: int
    build: int

    @property
    def text(self) -> str:
        """The release tag, e.g. `v1.33.5+k3s1`."""
        return f"v1.{self.minor}.{self.patch}+k3s{self.build}"

    @property
    def line(self) -> str:
        """The minor line, e.g. `1.33`."""
        return f"1.{self.minor}"

    @classmethod
    def parse(cls, text: str) -> K3sVersion | None:
        """`v1.33.5+k3s1` -> K3sVersion; None for anything that is not a K3s release tag."""
        match = re.match(K3S_VERSION, text.strip())
        if match is None:
            return None
        minor, patch, build = (int(part) for part in match.groups())
        return cls(minor, patch, build)
