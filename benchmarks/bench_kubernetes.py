"""GitOps layer speed: rendering the kubernetes/ tree.

Targets: the example's kubernetes/ tree well under 0.5 s (the whole render of the example must
stay under 0.5 s), 100 user apps under 1 s. (`validate --deep`: benchmarks/bench_deep.py.)
Run: `python benchmarks/bench_kubernetes.py`.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from homelabeazy.checks import load_config  # noqa: E402
from homelabeazy.config.starter import example_text  # noqa: E402
from homelabeazy.model import Homelab, build  # noqa: E402
from homelabeazy.render import kubernetes, render_all  # noqa: E402

REPEAT = 5


def timed(func: Callable[[], Any], repeat: int = REPEAT) -> tuple[float, float]:
    """(first run, median of the following runs) in seconds."""
    runs = []
    for _ in range(repeat + 1):
        start = time.perf_counter()
        func()
        runs.append(time.perf_counter() - start)
    return runs[0], statistics.median(runs[1:])


def with_apps(count: int) -> Homelab:
    """The example with `count` chart apps, each with its own route."""
    data = yaml.safe_load(example_text())
    data["apps"] = [
        {
            "name": f"app{i}",
            "chart": {"repo": "https://example.org/charts", "name": "web", "version": "1.0.0"},
            "host": f"app{i}",
            "access": ("public", "one_factor", "two_factor")[i % 3],
        }
        for i in range(count)
    ]
    return build(load_config(yaml.safe_dump(data, sort_keys=False)).config)


def main() -> None:
    example = build(load_config(example_text()).config)
    files = kubernetes.render(example)
    print(f"example kubernetes/ tree: {len(files)} files")
    first, median = timed(lambda: kubernetes.render(example))
    print(f"  render kubernetes/: first {first * 1000:.0f} ms, then median {median * 1000:.0f} ms")
    first, median = timed(lambda: render_all(example))
    print(f"  render everything:  first {first * 1000:.0f} ms, then median {median * 1000:.0f} ms")
    big = with_apps(100)
    first, median = timed(lambda: kubernetes.render(big))
    count = len(kubernetes.render(big))
    print(f"100 apps ({count} files): first {first * 1000:.0f} ms, median {median * 1000:.0f} ms")


if __name__ == "__main__":
    main()
