"""A real three-member OpenBao raft cluster on loopback, each member playing one Vault pod.

Like the chart's StatefulSet: members `vault-0..2`, integrated raft storage, every member
retry-joining the others, Shamir seal (5 shares, 3 to unseal). A member stopped and started again
comes back sealed, as a restarted Vault pod does; it rejoins once unsealed with the same keys.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from homelabeazy.ops.vault_bootstrap import VaultBootstrap
from tests.secrets.servers import bao_binary, free_port
from tests.support import leftovers

SHARES, THRESHOLD = 5, 3


@dataclass
class Member:
    """One OpenBao server of the cluster."""

    name: str
    workdir: Path
    api: int = field(default_factory=free_port)
    cluster: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    previous_pid: int | None = None
    """The last server process's pid (stopped or not): its owner owns the next one too."""
    starts: list[int] = field(default_factory=list)
    """Wall-clock ns of every start (the first, and each restart after an eviction)."""

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.api}"

    def configure(self, peers: list[Member]) -> None:
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        joins = "".join(
            f'  retry_join {{\n    leader_api_addr = "{peer.address}"\n  }}\n'
            for peer in peers
            if peer is not self
        )
        (self.workdir / "bao.hcl").write_text(
            f'storage "raft" {{\n  path = "{data}"\n  node_id = "{self.name}"\n{joins}}}\n'
            f'listener "tcp" {{\n  address = "127.0.0.1:{self.api}"\n'
            f'  cluster_address = "127.0.0.1:{self.cluster}"\n  tls_disable = true\n}}\n'
            f'api_addr = "{self.address}"\ncluster_addr = "https://127.0.0.1:{self.cluster}"\n'
            "disable_mlock = true\n",
            encoding="utf-8",
        )

    def start(self) -> None:
        with (self.workdir / "bao.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [bao_binary(), "server", f"-config={self.workdir / 'bao.hcl'}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={"PATH": os.environ.get("PATH", ""), "HOME": str(self.workdir)},
            )
        self.starts.append(time.time_ns())
        if self.previous_pid is not None:
            # A member restarted inside a test stays with the fixture that started the first one.
            leftovers.keep_as(self.proc.pid, self.previous_pid)
        self.previous_pid = self.proc.pid
        deadline = time.monotonic() + 30
        while self.seal_status() is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} did not start: {(self.workdir / 'bao.log').read_text()[-2000:]}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def seal_status(self) -> dict[str, object] | None:
        try:
            answer = httpx.get(f"{self.address}/v1/sys/seal-status", timeout=2)
            return dict(answer.json())
        except (httpx.HTTPError, ValueError):
            return None

    def sealed(self) -> bool:
        status = self.seal_status()
        return status is None or bool(status.get("sealed", True))

    def unseal(self, keys: tuple[str, ...]) -> None:
        for key in keys[:THRESHOLD]:
            httpx.put(f"{self.address}/v1/sys/unseal", json={"key": key}, timeout=30).raise_for_status()


@contextmanager
def vault_members(workdir: Path, count: int = 3) -> Iterator[tuple[dict[str, Member], VaultBootstrap]]:
    """Members vault-0.. started, initialised on vault-0, every one unsealed; the bootstrap keys."""
    members = {f"vault-{i}": Member(f"vault-{i}", workdir / f"vault-{i}") for i in range(count)}
    try:
        for member in members.values():
            member.configure(list(members.values()))
            member.start()
        first = members["vault-0"]
        init = httpx.put(
            f"{first.address}/v1/sys/init",
            json={"secret_shares": SHARES, "secret_threshold": THRESHOLD},
            timeout=120,
        ).json()
        keys = tuple(str(k) for k in init["keys"])
        first.unseal(keys)
        for member in list(members.values())[1:]:
            _join(member, keys)
        yield members, VaultBootstrap(first.address, SHARES, THRESHOLD, keys, str(init["root_token"]))
    finally:
        for member in members.values():
            member.stop()


def _join(member: Member, keys: tuple[str, ...]) -> None:
    """A follower joins (retry_join) once it holds the cluster's keys: unseal until it is in."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = member.seal_status() or {}
        if status.get("initialized") and not status.get("sealed", True):
            return
        if status.get("initialized"):
            member.unseal(keys)
        time.sleep(0.3)
    raise RuntimeError(f"{member.name} did not join the raft cluster")
