"""No process outlives the test (or fixture scope) that started it, whatever session it is in.

A pytest plugin (registered by tests/conftest.py). Every process that runs tests (the only one, or
each xdist worker) makes itself a *child subreaper* (Linux `PR_SET_CHILD_SUBREAPER`): a process
whose parent dies is re-parented to it instead of to init. So everything the suite starts stays
among its descendants, also what double-forks or `setsid()`s into a session of its own (Ansible's
workers do; a session or process-group check misses them).

The descendants are compared around each scope:

- a test: what is alive after its teardown that was not before its setup (its fixtures included),
  minus what a module- or session-scoped fixture started meanwhile (that fixture owns it);
- a module: the same around the module's fixtures, minus what session fixtures own;
- the session: everything still alive after the last session fixture is torn down.

A leftover gets a few seconds to finish exiting, then the whole lot is SIGKILLed (killed, not
left running) and the scope errors, naming each process. Orphans that have exited are reaped here
(this process is their parent now).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PR_SET_CHILD_SUBREAPER = 36
GRACE = float(os.environ.get("HOMELAB_LEFTOVER_GRACE", "5"))
"""Seconds a leftover gets to finish exiting (a server told to stop, not yet reaped) before it counts."""

SCOPES = ("session", "package", "module", "class", "function")
Proc = tuple[int, int]
"""(pid, start time in clock ticks): a pid can be reused, the pair cannot."""


def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux only); False when the kernel refuses or this is not Linux."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


@dataclass(frozen=True)
class Info:
    """What /proc says about one process."""

    pid: int
    start: int
    ppid: int
    state: str
    command: str


def _stat(pid: int) -> Info | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ..."; comm may hold spaces and parentheses: split at the last ')'.
    head, _, rest = raw.rpartition(")")
    fields = rest.split()
    if len(fields) < 20:
        return None
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").strip()
    except OSError:
        argv = b""
    command = argv.decode(errors="replace") or head.partition("(")[2]
    return Info(pid, int(fields[19]), int(fields[1]), fields[0], command[:300])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        with contextlib.suppress(OSError):
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    return found


def descendants(root: int | None = None) -> dict[Proc, Info]:
    """Every process below `root` (default: this one), zombies included."""
    root = os.getpid() if root is None else root
    found: dict[Proc, Info] = {}
    pending = _children(root)
    while pending:
        pid = pending.pop()
        info = _stat(pid)
        if info is None:
            continue
        found[(info.pid, info.start)] = info
        pending += _children(pid)
    return found


def live(procs: dict[Proc, Info]) -> set[Proc]:
    """The ones that are still running (not zombies, not dead)."""
    return {key for key, info in procs.items() if info.state not in ("Z", "X")}


def reap_orphans(keep: set[Proc]) -> None:
    """Collect the exit status of exited children that nobody will wait for (adopted orphans, or
    a finished test's unwaited children), as init would; those in `keep` (alive before the scope
    began: a wider fixture's, which its own Popen waits for) are left alone."""
    me = os.getpid()
    for key, info in descendants().items():
        if info.ppid == me and info.state == "Z" and key not in keep:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(info.pid, os.WNOHANG)


def kill(procs: dict[Proc, Info]) -> None:
    """SIGKILL each one still alive with the same start time (never a reused pid)."""
    for key, info in procs.items():
        current = _stat(info.pid)
        if current is not None and (current.pid, current.start) == key and current.state not in ("Z", "X"):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(info.pid, signal.SIGKILL)


def leftovers(before: set[Proc], owned: set[Proc], grace: float = GRACE) -> dict[Proc, Info]:
    """What is alive now that was not in `before` and is not `owned` by a wider scope, after
    giving it `grace` seconds to finish exiting."""
    deadline = time.monotonic() + grace
    while True:
        now = descendants()
        left = {key: now[key] for key in live(now) - before - owned}
        if not left or time.monotonic() >= deadline:
            return left
        reap_orphans(before)
        time.sleep(0.05)


def _reap(pid: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.02)


def end_and_describe(left: dict[Proc, Info], where: str) -> str:
    """Kill `left` (reaping the ones that are this process's children now) and say what it was."""
    kill(left)
    deadline = time.monotonic() + 5
    for info in left.values():
        if info.ppid == os.getpid():
            _reap(info.pid, deadline)
    lines = "\n".join(f"  pid {info.pid} (parent {info.ppid}): {info.command}" for info in left.values())
    return f"{len(left)} process(es) started by {where} outlived it (now killed):\n{lines}"


@dataclass
class Ledger:
    """Processes that fixtures of a wider scope started: theirs to stop, not the test's."""

    active: bool = False
    owned: dict[str, set[Proc]] = field(default_factory=lambda: {scope: set() for scope in SCOPES[:-1]})

    def wider_than(self, scope: str) -> set[Proc]:
        """What the fixtures of every scope wider than `scope` own."""
        return set().union(*(self.owned[name] for name in SCOPES[: SCOPES.index(scope)]))


LEDGER = Ledger()


def keep_as(successor: int, predecessor: int) -> None:
    """A server restarted inside a test (a new process in place of `predecessor`) stays with the
    scope that owned the one it replaces: a module fixture's restarted server is not the test's."""
    info = _stat(successor)
    if info is None:
        return
    for procs in LEDGER.owned.values():
        if any(pid == predecessor for pid, _ in procs):
            procs.add((info.pid, info.start))


def pytest_configure(config: pytest.Config) -> None:
    LEDGER.active = become_subreaper() and Path("/proc/self/task").is_dir()


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest
) -> Iterator[None]:
    """Remember which processes a wider-scoped fixture started: they outlive single tests."""
    if not LEDGER.active or fixturedef.scope == "function" or fixturedef.argname.startswith("_leftover"):
        return (yield)
    before = live(descendants())
    try:
        return (yield)
    finally:
        LEDGER.owned[fixturedef.scope] |= live(descendants()) - before


@contextlib.contextmanager
def _guard(scope: str, where: str) -> Iterator[None]:
    if not LEDGER.active:
        yield
        return
    before = live(descendants())
    yield
    left = leftovers(before, LEDGER.wider_than(scope))
    reap_orphans(before)
    if scope == "module":
        LEDGER.owned["module"].clear()
        LEDGER.owned["class"].clear()
    if left:
        pytest.fail(end_and_describe(left, where), pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def _leftover_session_guard() -> Iterator[None]:
    """Session scope: set up before, torn down after every other session fixture."""
    with _guard("session", "the test session"):
        yield


@pytest.fixture(scope="module", autouse=True)
def _leftover_module_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    with _guard("module", f"the module fixtures of {request.node.nodeid}"):
        yield


@pytest.fixture(autouse=True)
def _leftover_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Function scope: set up after every wider fixture, torn down after every function fixture."""
    with _guard("function", request.node.nodeid):
        yield
