"""`validate --deep` speed: the convergence proof of the example with real Helm, and its scaling.

Measured: the CLI's wall time on the example with a warm chart cache, cold (no rendered-chart
cache: every chart goes through `helm template`) and warm (renders reused); then the state build
plus checks in-process for the example with 0, 10, 20 and 50 extra chart apps (whoami 5.3.0 each),
and each registered check's share of the warm run.
Target: warm `validate --deep` of the example under 5 s on 2 cores.

Needs Helm (HOMELAB_HELM or PATH) and the shared charts (HOMELAB_SHARED or ../shared).
Run: `python benchmarks/bench_deep.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.support.chart_cache import build_chart_cache  # noqa: E402

from homelabeazy.checks import load_config  # noqa: E402
from homelabeazy.config.starter import example_text  # noqa: E402
from homelabeazy.converge.build import build_state  # noqa: E402
from homelabeazy.converge.engine import CHECKS, run_checks  # noqa: E402
from homelabeazy.errors import UsageError  # noqa: E402
from homelabeazy.model import Homelab, build  # noqa: E402
from homelabeazy.ops.helm import ChartCache, find_helm  # noqa: E402
from homelabeazy.render import render_all  # noqa: E402

TARGET = 5.0


def with_apps(count: int) -> Homelab:
    """The example with `count` more whoami chart apps, each with its own route."""
    data = yaml.safe_load(example_text())
    data["apps"] += [
        {
            "name": f"bench{i}",
            "chart": {"repo": "https://cowboysysop.github.io/charts/", "name": "whoami", "version": "5.3.0"},
            "host": f"bench{i}",
            "access": "public",
        }
        for i in range(count)
    ]
    return build(load_config(yaml.safe_dump(data, sort_keys=False)).config)


def cli_seconds(config: Path, charts: Path, env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "homelabeazy", "validate", "--deep", "--charts", str(charts), str(config)],
        env=env, capture_output=True, check=False,
    )  # fmt: skip
    return time.perf_counter() - start, done.returncode


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-deep-"))
    try:
        find_helm()
        charts = build_chart_cache(ROOT / ".cache" / "bench-charts")
    except (UsageError, FileNotFoundError) as exc:
        print(f"cannot measure validate --deep: {exc}", file=sys.stderr)
        return 1
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(work / "xdg"),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    subprocess.run([sys.executable, "-m", "homelabeazy", "init", str(work), "--force"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    config = work / "homelab.yaml"
    cold, code = cli_seconds(config, charts, env)
    warm = sorted(cli_seconds(config, charts, env)[0] for _ in range(3))[1]
    print(f"validate --deep of the example (exit {code}): cold renders {cold:.2f} s, warm {warm:.2f} s "
          f"(median of 3; target < {TARGET:.0f} s)")  # fmt: skip
    os.environ["XDG_CACHE_HOME"] = str(work / "xdg")
    cache = ChartCache(charts, work / "pulled", pull=False)
    print("apps  objects  first (s)  warm (s)   [state build + checks, in-process]")
    for count in (0, 10, 20, 50):
        homelab = with_apps(count)
        runs = []
        for _ in range(2):
            start = time.perf_counter()
            state = build_state(homelab, render_all(homelab), cache)
            run_checks(state, homelab)
            runs.append(time.perf_counter() - start)
        print(f"{count:>4}  {len(state.objects):>7}  {runs[0]:>9.2f}  {runs[1]:>8.2f}")
    homelab = with_apps(0)
    state = build_state(homelab, render_all(homelab), cache)
    shares = []
    for name, check in CHECKS:
        start = time.perf_counter()
        run_checks(state, homelab, [(name, check)])
        shares.append(f"{name} {time.perf_counter() - start:.2f}")
    print(f"checks on the example (s, warm schema memo): {', '.join(shares)}; load {os.getloadavg()[0]:.1f}")
    return 0 if warm < TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
