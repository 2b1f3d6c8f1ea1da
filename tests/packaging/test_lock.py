"""requirements/dev.lock, the pinned dev/CI environment, must still satisfy pyproject.toml.

`make setup` installs the lock with --require-hashes and --no-deps, so a dependency added to
pyproject without `make lock` would only show as a failed `pip check` at setup; this says which
requirement is missing or out of range, before anything installs.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements" / "dev.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def pins(text: str) -> dict[str, tuple[Version, int]]:
    """Canonical name -> (pinned version, number of hashes) of a pip-compile'd lock."""
    found: dict[str, tuple[Version, int]] = {}
    current = ""
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            found[current] = (Version(match.group(2)), 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = found[current]
            found[current] = (version, hashes + 1)
    return found


def requirements() -> list[Requirement]:
    """The runtime dependencies and the dev extra, as pyproject declares them."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(t) for t in [*project["dependencies"], *project["optional-dependencies"]["dev"]]]


def unsatisfied(lock: dict[str, tuple[Version, int]], wanted: list[Requirement]) -> list[str]:
    """Requirements (for this interpreter) the lock does not pin, or pins outside their range."""
    problems = []
    for req in wanted:
        if req.marker is not None and not req.marker.evaluate():
            continue
        pinned = lock.get(canonicalize_name(req.name))
        if pinned is None:
            problems.append(f"{req}: not in the lock")
        elif not req.specifier.contains(pinned[0], prereleases=True):
            problems.append(f"{req}: the lock pins {pinned[0]}")
    return problems


def test_the_lock_pins_every_requirement_within_its_range() -> None:
    lock = pins(LOCK.read_text(encoding="utf-8"))
    problems = unsatisfied(lock, requirements())
    assert not problems, "requirements/dev.lock is stale, run `make lock`:\n" + "\n".join(problems)


def test_every_pin_has_a_hash() -> None:
    """`pip install --require-hashes` refuses a lock with one unhashed line; say which."""
    unhashed = [name for name, (_, hashes) in pins(LOCK.read_text(encoding="utf-8")).items() if not hashes]
    assert not unhashed, f"pinned without --hash: {unhashed}"


def test_the_lock_pins_the_installers() -> None:
    """pip and setuptools come from the lock too (`make setup` builds with --no-build-isolation)."""
    lock = pins(LOCK.read_text(encoding="utf-8"))
    assert {"pip", "setuptools", "pip-tools"} <= lock.keys()


def test_a_stale_lock_is_reported() -> None:
    lock = pins("typer==0.28.0 \\\n    --hash=sha256:00\nrich==15.0.0 \\\n    --hash=sha256:11\n")
    problems = unsatisfied(
        lock, [Requirement("typer>=0.29,<0.30"), Requirement("rich>=13.8"), Requirement("jinja2")]
    )
    assert problems == ["typer<0.30,>=0.29: the lock pins 0.28.0", "jinja2: not in the lock"]
