"""Port sets as sorted, disjoint, inclusive intervals.

Rules name ports as lists of single ports and ranges; the checker needs to intersect and subtract
them (what part of a rule's ports is still undecided after the rules above it), so they are kept
as normalised intervals instead of expanded lists of up to 65535 numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MIN_PORT = 1
MAX_PORT = 65535

Interval = tuple[int, int]


def _normalise(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    merged: list[list[int]] = []
    for lo, hi in sorted(intervals):
        if lo > hi:
            continue
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return tuple((lo, hi) for lo, hi in merged)


@dataclass(frozen=True)
class PortSet:
    """A set of ports; `PortSet.all()` is every port 1-65535."""

    intervals: tuple[Interval, ...] = ()

    @classmethod
    def of(cls, intervals: Iterable[Interval]) -> PortSet:
        """A normalised set from any intervals (overlapping or adjacent ones are merged)."""
        return cls(_normalise(intervals))

    @classmethod
    def all(cls) -> PortSet:
        """Every port."""
        return cls(((MIN_PORT, MAX_PORT),))

    @classmethod
    def parse(cls, specs: Iterable[str | int]) -> PortSet:
        """`[443, "8000-8100"]` -> the set; an empty list means every port (as in the config)."""
        intervals: list[Interval] = []
        for spec in specs:
            low, _, high = str(spec).partition("-")
            intervals.append((int(low), int(high or low)))
        return cls.of(intervals) if intervals else cls.all()

    def __bool__(self) -> bool:
        return bool(self.intervals)

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and any(lo <= port <= hi for lo, hi in self.intervals)

    def is_all(self) -> bool:
        """Whether this is every port."""
        return self.intervals == ((MIN_PORT, MAX_PORT),)

    def intersect(self, other: PortSet) -> PortSet:
        """Ports in both sets."""
        out: list[Interval] = []
        for lo, hi in self.intervals:
            for olo, ohi in other.intervals:
                if max(lo, olo) <= min(hi, ohi):
                    out.append((max(lo, olo), min(hi, ohi)))
        return PortSet.of(out)

    def subtract(self, other: PortSet) -> PortSet:
        """Ports in this set and not in `other`."""
        remaining = list(self.intervals)
        for olo, ohi in other.intervals:
            nxt: list[Interval] = []
            for lo, hi in remaining:
                if ohi < lo or olo > hi:
                    nxt.append((lo, hi))
                    continue
                if lo < olo:
                    nxt.append((lo, olo - 1))
                if ohi < hi:
                    nxt.append((ohi + 1, hi))
            remaining = nxt
        return PortSet.of(remaining)

    def union(self, other: PortSet) -> PortSet:
        """Ports in either set."""
        return PortSet.of((*self.intervals, *other.intervals))

    def specs(self) -> list[str]:
        """`["22", "8000-8100"]`: the set as config-style port specs."""
        return [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.intervals]

    def __str__(self) -> str:
        return "all ports" if self.is_all() else ",".join(self.specs())
