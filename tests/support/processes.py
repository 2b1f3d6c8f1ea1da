"""Stopping the servers a test started: politely, then for sure, so none outlives its test."""

from __future__ import annotations

import subprocess
from typing import Any


def stop(process: subprocess.Popen[Any], grace: float = 10) -> None:
    """SIGTERM, wait `grace` seconds, then SIGKILL; always reaped."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
