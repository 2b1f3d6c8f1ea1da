"""`homelab diff --objects` speed: a one-change diff of the example against the warm `validate --deep`.

Measured: the CLI's wall time for `validate --deep` of the example, warm (renders cached: median of
3), then `diff --objects` of the same example committed in a git repository with one change in the
working tree (Traefik's replicas). Each diff run sets a replica count no earlier run used, so the
changed Application is rendered through Helm anew every time (as on a pull request), while the
unchanged ones come from the render cache the `validate --deep` runs left.
Target (issue 28): the one-change diff under twice the warm `validate --deep` time, on 2 cores.

Needs Helm (HOMELAB_HELM or PATH), git, and the shared charts (HOMELAB_SHARED or ../shared).
Run: `python benchmarks/bench_diff.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.support.chart_cache import build_chart_cache  # noqa: E402

from homelabeazy.errors import UsageError  # noqa: E402
from homelabeazy.ops.helm import find_helm  # noqa: E402

FACTOR = 2.0


def seconds(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "homelabeazy", *argv], env=env, capture_output=True, check=False
    )
    return time.perf_counter() - start, done.returncode


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-diff-"))
    try:
        find_helm()
        charts = build_chart_cache(ROOT / ".cache" / "bench-charts")
    except (UsageError, FileNotFoundError) as exc:
        print(f"cannot measure diff --objects: {exc}", file=sys.stderr)
        return 1
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(work / "xdg"),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    lab = work / "lab"
    subprocess.run([sys.executable, "-m", "homelabeazy", "init", str(lab)], env=env, check=True,
                   capture_output=True)  # fmt: skip
    git = ["git", "-C", str(lab), "-c", "user.email=b@example.com", "-c", "user.name=bench"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "example"], check=True)
    config = lab / "homelab.yaml"
    deep = ["validate", "--deep", "--charts", str(charts), str(config)]
    seconds(deep, env)  # cold: fills the render cache
    warm = sorted(seconds(deep, env)[0] for _ in range(3))[1]
    original = config.read_text()
    assert original.count("    replicas: 2\n  openldap:") == 1
    runs = []
    for replicas in (3, 4, 5):
        config.write_text(
            original.replace("    replicas: 2\n  openldap:", f"    replicas: {replicas}\n  openldap:")
        )
        took, code = seconds(["diff", "--objects", "--charts", str(charts), str(config)], env)
        if code != 1:
            print(f"diff --objects exited {code}, expected 1 (one Deployment differs)", file=sys.stderr)
            return 1
        runs.append(took)
    diff = sorted(runs)[1]
    print(f"validate --deep of the example, warm: {warm:.2f} s (median of 3)")
    print(f"diff --objects, one change (Traefik replicas, rendered anew each run): {diff:.2f} s "
          f"(median of 3: "
          f"{', '.join(f'{r:.2f}' for r in runs)}); ratio {diff / warm:.2f} (target < {FACTOR:.0f}); "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    return 0 if diff < FACTOR * warm else 1


if __name__ == "__main__":
    raise SystemExit(main())
