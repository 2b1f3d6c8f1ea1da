"""Start-up speed: `homelab --help` and `homelab validate` of the example, against a bare interpreter.

A CLI feels instant when it costs a small multiple of starting Python at all. Targets (issue 13):
`--help` at most 12x and `validate` of the example at most 20x a bare `python -c pass`, all three
measured in the same run, interleaved, best of REPEAT, so the ratio holds on a slow machine.
The target is judged on CPU time (user + system, from getrusage): on an idle machine it equals the
wall time of these single-threaded commands, and on a shared one (CI, several jobs on two cores) it
is still what the command costs, where the wall time mostly measures the neighbours. Both are shown.
Each command runs in a new process, as a user runs it, with the bytecode already cached (a user's
second run). When a target is missed, `python -X importtime -m homelabeazy ...` shows what to import
later.
Run: `python benchmarks/bench_startup.py` (or `make bench` for every benchmark).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from homelabeazy.config.starter import example_text  # noqa: E402

REPEAT = 15
BARE = "python -c pass"
TARGETS = {"--help": 12.0, "validate": 20.0}


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of `argv`; a failing command stops the run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {result.returncode}:\n{result.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    env = {
        "PYTHONPATH": str(ROOT / "src"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
    }
    homelab = [sys.executable, "-m", "homelabeazy"]
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "homelab.yaml"
        config.write_text(example_text(), encoding="utf-8")
        commands = {
            BARE: [sys.executable, "-c", "pass"],
            "--help": [*homelab, "--help"],
            "validate": [*homelab, "validate", str(config)],
        }
        for argv in commands.values():  # warm the bytecode and file caches once
            timed(argv, env)
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(REPEAT):
            for name, argv in commands.items():
                wall, cpu = timed(argv, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
    bare_wall, bare_cpu = min(walls[BARE]), min(cpus[BARE])
    print(f"{'command':<16} {'wall ms':>8} {'x bare':>7} {'cpu ms':>8} {'x bare':>7} {'target':>7}")
    missed = []
    for name in commands:
        wall, cpu = min(walls[name]), min(cpus[name])
        target = TARGETS.get(name)
        mark = "" if target is None else f"<={target:.0f}x"
        print(
            f"{name:<16} {wall * 1000:8.1f} {wall / bare_wall:7.1f} {cpu * 1000:8.1f} {cpu / bare_cpu:7.1f}"
            f" {mark:>7}"
        )
        if target is not None and cpu / bare_cpu > target:
            missed.append(
                f"{name}: {cpu / bare_cpu:.1f}x the CPU time of a bare interpreter (target {target:.0f}x)"
            )
    for line in missed:
        print(f"MISSED {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
