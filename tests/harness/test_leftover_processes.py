"""The suite's own rule: no process outlives the test (or fixture scope) that started it, in
whatever session or process group it runs (tests/support/leftovers.py, loaded by tests/conftest.py).

Each case runs a small test file under a fresh pytest with this suite's conftest, alone and on two
xdist workers, and then looks for the processes it started anywhere on the machine: every one
marked with this run's token must be gone, and the scope that left it must have errored naming it.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # two fresh pytest runs, one of them on two xdist workers

INNER = '''
import subprocess
import pytest

def sleeper(seconds):
    """A process in a session of its own whose parent exits at once (an orphan, like Ansible's workers)."""
    subprocess.run(["setsid", "-f", "sleep", seconds], check=True)

@pytest.fixture(scope="module")
def kept_server():
    proc = subprocess.Popen(["sleep", "{kept}"])
    yield proc
    proc.terminate()
    proc.wait()

@pytest.fixture(scope="module")
def forgotten_server():
    return subprocess.Popen(["sleep", "{module_leak}"], start_new_session=True)

@pytest.fixture(scope="module")
def restarted_server():
    holder = {{"proc": subprocess.Popen(["sleep", "{restarted}"])}}
    yield holder
    holder["proc"].terminate()
    holder["proc"].wait()

@pytest.fixture(scope="session")
def session_server():
    proc = subprocess.Popen(["sleep", "{session}"])
    yield proc
    proc.terminate()
    proc.wait()

def test_an_orphan_in_its_own_session_is_a_leftover():
    sleeper("{orphan}")

def test_a_child_never_waited_for_is_a_leftover():
    subprocess.Popen(["sleep", "{child}"])

def test_a_module_server_is_not_the_tests_first(kept_server):
    assert kept_server.poll() is None

def test_a_module_server_is_not_the_tests_second(kept_server, session_server):
    assert kept_server.poll() is None

def test_a_process_that_is_waited_for_is_fine():
    subprocess.run(["sleep", "0.1"], check=True)

def test_a_module_server_restarted_in_a_test_stays_the_modules(restarted_server):
    from tests.support import leftovers
    old = restarted_server["proc"]
    old.terminate()
    old.wait()
    restarted_server["proc"] = subprocess.Popen(["sleep", "{restarted}"])
    leftovers.keep_as(restarted_server["proc"].pid, old.pid)

def test_a_module_fixture_that_forgets_its_server(forgotten_server):
    assert forgotten_server.poll() is None
'''


def _marked(token: str) -> list[int]:
    """Live processes whose command line holds `token` (a unique `sleep` duration)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if token not in (entry / "cmdline").read_bytes().decode(errors="replace"):
                continue
            if (entry / "stat").read_text().rpartition(")")[2].split()[0] not in ("Z", "X"):
                found.append(int(entry.name))
        except (OSError, IndexError):
            continue
    return found


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_every_process_a_test_starts_is_ended_and_named(tmp_path: Path, workers: list[str]) -> None:
    stamp = f"{secrets.randbelow(10**6):06d}"
    durations = {
        name: f"{seconds}.{stamp}"
        for name, seconds in (
            ("orphan", 301),
            ("child", 302),
            ("kept", 303),
            ("module_leak", 304),
            ("session", 305),
            ("restarted", 306),
        )
    }
    test_file = tmp_path / "test_inner.py"
    test_file.write_text(INNER.format(**durations))
    report = tmp_path / "report.xml"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src")]),
        "HOMELAB_LEFTOVER_GRACE": "0.5",  # the leftovers here never exit by themselves
    }
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "tests.conftest",
                "-p",
                "no:cacheprovider",
                "--rootdir",
                str(tmp_path),
                "-o",
                "addopts=",
                f"--junitxml={report}",
                "-q",
                *workers,
                str(test_file),
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        still_running = {name: _marked(value) for name, value in durations.items() if _marked(value)}
    finally:
        for value in durations.values():
            for pid in _marked(value):
                os.kill(pid, signal.SIGKILL)
    output = done.stdout + done.stderr
    assert still_running == {}, f"outlived the inner run: {still_running}\n{output}"
    errors = {
        case.get("name"): (case.find("error").get("message", "") + (case.find("error").text or ""))
        for case in ET.parse(report).getroot().iter("testcase")
        if case.find("error") is not None
    }
    assert set(errors) == {
        "test_an_orphan_in_its_own_session_is_a_leftover",
        "test_a_child_never_waited_for_is_a_leftover",
        "test_a_module_fixture_that_forgets_its_server",
    }, output
    assert f"sleep {durations['orphan']}" in errors["test_an_orphan_in_its_own_session_is_a_leftover"], output
    assert f"sleep {durations['child']}" in errors["test_a_child_never_waited_for_is_a_leftover"], output
    assert f"sleep {durations['module_leak']}" in errors["test_a_module_fixture_that_forgets_its_server"], (
        output
    )
    assert done.returncode == 1, output
