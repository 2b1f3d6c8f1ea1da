"""The drill's scratch servers: real OpenBao and slapd on loopback, always gone afterwards."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from homelabeazy.errors import ExternalSystemError
from homelabeazy.ops import scratch
from homelabeazy.ops.ldap import LdapAdapter
from homelabeazy.ops.scratch import ScratchServers
from homelabeazy.ops.vault import VaultAdapter
from tests.secrets.servers import bao_binary
from tests.support.integration import require_tool

pytestmark = pytest.mark.integration


def _need_tools() -> None:
    bao_binary()
    if not Path(scratch.SLAPD_PATHS[0]).exists():
        require_tool("slapd not found (apt-get install slapd)")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie would still answer; Popen.wait reaped ours, so a live pid here is a real leak.
    return False


def test_servers_answer_and_vanish() -> None:
    _need_tools()
    with ScratchServers() as servers:
        address = servers.start_vault()
        directory = servers.start_directory("dc=drill,dc=test", "cn=admin,dc=drill,dc=test")
        assert VaultAdapter(address).seal_status().initialized is False
        with LdapAdapter(directory.url, directory.root_dn, directory.root_password) as ldap:
            assert ldap.search("dc=drill,dc=test", "(objectClass=*)") == []
        root, pids = servers.root, servers.pids
        assert root is not None
        assert root.stat().st_mode & 0o777 == 0o700
        assert directory.root_password not in repr(directory)
    assert len(pids) == 2
    assert all(_gone(p) for p in pids)
    assert not root.exists()


def test_cleanup_on_sigterm() -> None:
    """SIGTERM in the middle unwinds like Ctrl-C: servers stopped, temp dir removed."""
    _need_tools()
    servers = ScratchServers()
    with servers:
        servers.start_vault()
        root, pids = servers.root, servers.pids
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
    assert root is not None
    assert not root.exists()
    assert all(_gone(p) for p in pids)
    assert signal.getsignal(signal.SIGTERM) is not scratch._raise_terminated


def test_failing_start_names_the_system(monkeypatch: pytest.MonkeyPatch) -> None:
    _need_tools()
    monkeypatch.setattr(scratch, "SCHEMAS", ("core", "no-such-schema"))
    with ScratchServers() as servers, pytest.raises(ExternalSystemError, match="scratch slapd"):
        servers.start_directory("dc=drill,dc=test", "cn=admin,dc=drill,dc=test")
