"""Run every `benchmarks/bench_*.py` in turn (`make bench`); exit 1 when any misses its target.

Each benchmark is a script that prints its own table and returns non-zero when a target is
missed; they run one after another in fresh interpreters so none warms the caches of the next.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    """Run the benchmarks named on the command line (`foundation`), or all of them."""
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        wanted = {name.removeprefix("bench_").removesuffix(".py") for name in argv}
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
        if not scripts:
            print(f"no benchmark called {', '.join(sorted(wanted))}", file=sys.stderr)
            return 2
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parent / "src"), os.environ.get("PYTHONPATH")])),
    }
    failed = []
    for script in scripts:
        print(f"=== {script.name}", flush=True)
        start = time.perf_counter()
        code = subprocess.run([sys.executable, str(script)], env=env, check=False).returncode
        print(f"=== {script.name}: exit {code} in {time.perf_counter() - start:.1f} s\n", flush=True)
        if code != 0:
            failed.append(script.name)
    if failed:
        print(f"missed targets or failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"{len(scripts)} benchmark(s) done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
