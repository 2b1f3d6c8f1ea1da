"""Install homelab as a user does: the wheel alone, in a fresh venv, and run it (issue 13).

The dev environment hides a missing dependency (click came with ansible-lint), and a checkout
hides a file the wheel does not ship or a path computed from the repository's location. So: build
the wheel from a copy of the sources, install it alone in a new venv (no extras, not editable; pip
resolves the dependencies from the registry, as for a user), `pip check`, then run the commands
from an empty folder with HOME pointing at another, recording every file the process opens.
One venv per test session; pip's cache keeps the second session fast.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.chart_cache import build_chart_cache, shared_dir
from tests.support.integration import require_tool

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

# Runs the CLI in the installed venv with an audit hook that records each file opened (by this
# Python process; programs it starts, such as helm, are not seen) into the file named by argv[1].
AUDITED_RUN = """
import os, sys
opened = set()
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        opened.add(os.path.abspath(os.fsdecode(args[0])))
sys.addaudithook(hook)
from homelabeazy.cli.app import run
code = run(sys.argv[2:])
with open(sys.argv[1], "w", encoding="utf-8") as out:
    out.write("\\n".join(sorted(opened)))
sys.exit(code)
"""


@dataclass(frozen=True)
class Installed:
    """A venv holding only the wheel and its dependencies, and the folders commands may touch."""

    venv: Path
    work: Path
    home: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self) -> dict[str, str]:
        """Nothing from the test's environment but PATH (for helm): no PYTHONPATH to the sources."""
        path = os.pathsep.join([str(self.bin), os.environ.get("PATH", "/usr/bin:/bin")])
        return {"PATH": path, "HOME": str(self.home), "TMPDIR": str(self.work), "LANG": "C.UTF-8"}

    def run(self, *argv: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in argv],
            cwd=self.work,
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )

    def homelab(self, *args: str | Path) -> tuple[subprocess.CompletedProcess[str], list[Path]]:
        """`homelab ARGS` in the venv, and every file it opened."""
        record = self.work / "opened.txt"
        result = self.run(self.bin / "python", "-c", AUDITED_RUN, record, *args)
        opened = (
            [Path(line) for line in record.read_text(encoding="utf-8").splitlines()]
            if record.exists()
            else []
        )
        record.unlink(missing_ok=True)
        return result, opened

    def outside(self, opened: list[Path], *also: Path) -> list[Path]:
        """Files opened outside the venv, the interpreter's own library, the work/home folders,
        `also`, and the system's (/etc, /usr, /dev, /proc, /sys): the sources or ../shared would show."""
        base = Path(self.run(self.bin / "python", "-c", "import sys; print(sys.base_prefix)").stdout.strip())
        roots = [
            self.venv,
            base,
            self.work,
            self.home,
            *also,
            *map(Path, ("/etc", "/usr", "/dev", "/proc", "/sys")),
        ]
        return [p for p in opened if not any(p.is_relative_to(r) for r in roots)]


def _copy_sources(target: Path) -> Path:
    """What the build reads, and nothing else: no stale build/ or egg-info from the checkout."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, target / name)
    shutil.copytree(
        REPO / "src", target / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    )
    return target


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel-install")
    sources = _copy_sources(root / "src-copy")
    dist = root / "dist"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            dist,
            sources,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, f"building the wheel failed:\n{built.stderr}"
    (wheel,) = dist.glob("homelabeazy-*.whl")
    venv.EnvBuilder(with_pip=True).create(root / "venv")
    work, home = root / "work", root / "home"
    work.mkdir()
    home.mkdir()
    target = Installed(root / "venv", work, home)
    pip = target.bin / "pip"
    result = subprocess.run(
        # No byte-compiling of every installed module up front (a third of the install's CPU): what
        # runs compiles what it imports, inside the venv.
        [pip, "install", "-q", "--disable-pip-version-check", "--no-compile", wheel],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        if "Could not find a version" in result.stderr or "ConnectionError" in result.stderr:
            require_tool(f"the package registry, to install the wheel's dependencies:\n{result.stderr}")
        pytest.fail(f"pip install of the wheel alone failed:\n{result.stderr}")
    return target


def test_the_wheel_installs_alone_with_consistent_dependencies(installed: Installed) -> None:
    check = installed.run(installed.bin / "pip", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    where = installed.run(installed.bin / "python", "-c", "import homelabeazy; print(homelabeazy.__file__)")
    assert Path(where.stdout.strip()).is_relative_to(installed.venv), (
        "the sources were imported, not the wheel"
    )


def test_help_runs_from_the_console_script(installed: Installed) -> None:
    result = installed.run(installed.bin / "homelab", "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: homelab" in result.stdout
    assert "validate" in result.stdout


def test_init_validate_render_of_the_example(installed: Installed) -> None:
    config = installed.work / "lab" / "homelab.yaml"
    for args in (("init", "lab"), ("validate", config), ("render", config), ("render", "--check", config)):
        result, opened = installed.homelab(*map(str, args))
        assert result.returncode == 0, f"homelab {' '.join(map(str, args))}:\n{result.stdout}{result.stderr}"
        assert "Traceback" not in result.stderr
        assert installed.outside(opened) == [], f"homelab {args[0]} read files outside its venv"
    assert (installed.work / "lab" / "kubernetes").is_dir()
    assert (installed.work / "lab" / "terraform").is_dir()


@pytest.fixture(scope="session")
def chart_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`$HOMELAB_CHARTS`, else the cache tests/support/chart_cache.py assembles from the shared charts."""
    env = os.environ.get("HOMELAB_CHARTS")
    if env:
        return Path(env)
    if not (shared_dir() / "charts").is_dir():
        require_tool(
            f"the upstream charts at {shared_dir() / 'charts'} (set HOMELAB_SHARED or HOMELAB_CHARTS)"
        )
    return build_chart_cache(tmp_path_factory.mktemp("wheel-charts"))


def test_deep_validation_of_the_example_converges(installed: Installed, chart_cache: Path) -> None:
    """`validate --deep --charts DIR` with real Helm (on PATH) from the wheel alone: the example
    converges (exit 0), no traceback, nothing read outside the venv, its HOME and the charts."""
    if not shutil.which("helm", path=installed.env()["PATH"]):
        require_tool("helm on PATH (`make helm` puts Helm into .venv/bin)")
    config = installed.work / "deep" / "homelab.yaml"
    init, _ = installed.homelab("init", "deep")
    assert init.returncode == 0, init.stderr
    result, opened = installed.homelab("validate", "--deep", "--charts", str(chart_cache), str(config))
    assert result.returncode == 0, f"exit {result.returncode}:\n{result.stdout}{result.stderr}"
    assert "converges" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    # The cache links each chart to its upstream folder: reading through the link is reading the charts.
    charts = [chart_cache, *{p.resolve().parent for p in chart_cache.iterdir() if p.is_symlink()}]
    assert installed.outside(opened, *charts) == [], "validate --deep read files outside its venv and charts"
