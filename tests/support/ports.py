"""Loopback ports for the servers the suite starts, never handed to two of them at once.

Asking the kernel for a free port (`bind(("127.0.0.1", 0))`, then close) leaves a window before
the server binds it in which another test process (an xdist worker, another checkout's run) or
any outgoing connection can take the same port. Here every port comes from 20000-31999, below
Linux's ephemeral range (32768-60999, which is what `connect()` and `bind(0)` hand out), so only
this allocator gives them out; and each process first claims a block of 1,000 of them with an
`flock` on a file in a folder every test process of the machine shares, held until it exits.
Within its block a process hands ports out in turn (a port comes back only after the other 999),
each checked free for TCP and UDP right then.
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
from pathlib import Path
from typing import IO

LOW = 20000
BLOCK = 1000
BLOCKS = 12
LOCKS = Path(os.environ.get("HOMELAB_TEST_PORT_LOCKS", "/tmp/homelabeazy-test-ports"))

_lock = threading.Lock()
_held: list[IO[str]] = []
_state = {"pid": 0, "block": -1, "next": 0}
"""The block this process claimed and the next offset in it; a forked child claims its own."""


def _claim_block() -> int:
    """The first block no other live process holds (its lock goes when that process exits)."""
    LOCKS.mkdir(parents=True, exist_ok=True)
    for block in range(BLOCKS):
        handle = open(LOCKS / f"block-{block}.lock", "w")  # noqa: SIM115 - held for the process's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _held.append(handle)
        return block
    raise RuntimeError(f"all {BLOCKS} port blocks under {LOCKS} are held by other test processes")


def _bindable(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port() -> int:
    """A loopback port (TCP and UDP) that nothing uses and no other test process will be given."""
    with _lock:
        if _state["pid"] != os.getpid():
            _held.clear()
            _state.update(pid=os.getpid(), block=_claim_block(), next=0)
        first = LOW + _state["block"] * BLOCK
        for _ in range(BLOCK):
            port = first + _state["next"]
            _state["next"] = (_state["next"] + 1) % BLOCK
            if _bindable(port):
                return port
    raise RuntimeError(f"no free port in {first}-{first + BLOCK - 1}")
