"""PortSet against Python sets on a small universe (every operation, random sets)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from homelabeazy.netpolicy.ports import PortSet

UNIVERSE = range(1, 41)
intervals = st.lists(
    st.tuples(st.integers(1, 40), st.integers(0, 6)).map(lambda t: (t[0], min(40, t[0] + t[1]))), max_size=5
)


def as_set(ports: PortSet) -> set[int]:
    return {p for p in UNIVERSE if p in ports}


def naive(items: list[tuple[int, int]]) -> set[int]:
    return {p for lo, hi in items for p in range(lo, hi + 1)}


@given(intervals, intervals)
def test_set_operations_match_python_sets(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> None:
    left, right = PortSet.of(a), PortSet.of(b)
    assert as_set(left) == naive(a)
    assert as_set(left.intersect(right)) == naive(a) & naive(b)
    assert as_set(left.subtract(right)) == naive(a) - naive(b)
    assert as_set(left.union(right)) == naive(a) | naive(b)
    # normalised: sorted, disjoint, not adjacent
    for (_, hi), (lo, _) in zip(left.intervals, left.intervals[1:], strict=False):
        assert lo > hi + 1


def test_parse_and_render() -> None:
    ports = PortSet.parse([443, "8000-8100", "80", 81])
    assert ports.specs() == ["80-81", "443", "8000-8100"]
    assert str(ports) == "80-81,443,8000-8100"
    assert PortSet.parse([]).is_all()
    assert str(PortSet.all()) == "all ports"
    assert 8050 in ports
    assert 82 not in ports
    assert not PortSet()
    assert PortSet.all()


def test_empty_intervals_are_dropped_and_the_rest_kept() -> None:
    """`(lo, hi)` with lo > hi is empty (subtracting can make one): it vanishes, later ones stay."""
    assert PortSet.of([(5, 4), (7, 9), (20, 19), (30, 30)]).intervals == ((7, 9), (30, 30))
    assert not PortSet.of([(2, 1)])
