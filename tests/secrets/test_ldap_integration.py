"""`homelab users` against a real slapd (and the real OpenBao holding its passwords), on loopback."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import hvac
import hvac.exceptions
import ldap3
import pytest
from ldap3.core.exceptions import LDAPNoSuchObjectResult

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.lifecycle import directory
from homelabeazy.lifecycle import secrets as vault_secrets
from homelabeazy.model import Homelab, build
from homelabeazy.ops.vault import VaultAdapter
from tests.conftest import CliResult
from tests.secrets.conftest import Transcript
from tests.secrets.servers import BaoServer, SlapdServer, free_port, self_signed_cert

pytestmark = pytest.mark.integration

Cli = Callable[..., CliResult]


@dataclass
class SeededVault:
    """A running OpenBao, initialised and seeded from the example homelab."""

    server: BaoServer
    bootstrap: Path
    config: Path
    homelab: Homelab

    def client(self) -> hvac.Client:
        token = json.loads(self.bootstrap.read_text())["root_token"]
        return hvac.Client(url=self.server.address, token=token)

    def password(self, path: str) -> str:
        raw = self.client().secrets.kv.v2.read_secret_version(
            path, mount_point="homelab", raise_on_deleted_version=True
        )
        return str(raw["data"]["data"]["password"])

    def exists(self, path: str) -> bool:
        try:
            self.client().secrets.kv.v2.read_secret_version(
                path, mount_point="homelab", raise_on_deleted_version=True
            )
        except hvac.exceptions.InvalidPath:
            return False
        return True

    def every_secret(self) -> set[str]:
        client = self.client()
        boot = json.loads(self.bootstrap.read_text())
        found = {boot["root_token"], *boot["unseal_keys"]}
        listed = client.secrets.kv.v2.list_secrets("users", mount_point="homelab")["data"]["keys"]
        paths = {s.path for s in self.homelab.secrets} | {f"users/{k}" for k in listed}
        for path in paths:
            try:
                raw = client.secrets.kv.v2.read_secret_version(
                    path, mount_point="homelab", raise_on_deleted_version=True
                )
            except hvac.exceptions.InvalidPath:
                continue
            found.update(raw["data"]["data"].values())
        return found


@pytest.fixture(scope="module")
def seeded_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededVault]:
    """One OpenBao per module (initialising is the slow part); every test gets its own slapd."""
    root = tmp_path_factory.mktemp("vault")
    server = BaoServer(root / "bao")
    server.workdir.mkdir()
    repo = root / "repo"
    repo.mkdir()
    config = repo / "homelab.yaml"
    config.write_text(example_text(), encoding="utf-8")
    homelab = build(load_config(example_text()).config)
    bootstrap = root / "keys" / "vault-bootstrap.json"
    try:
        server.start()
        vault = VaultAdapter(server.address)
        vault_secrets.initialize(vault, homelab, bootstrap, repo)
        vault_secrets.seed(vault, homelab)
        yield SeededVault(server, bootstrap, config, homelab)
    finally:
        server.stop()


@pytest.fixture
def slapd(tmp_path: Path, seeded_vault: SeededVault) -> Iterator[SlapdServer]:
    """An empty directory whose admin password is the one Vault generated (as the chart gets it)."""
    layout = seeded_vault.homelab.ldap
    server = SlapdServer(
        tmp_path / "slapd", layout.base_dn, layout.admin_dn, seeded_vault.password("openldap/admin")
    )
    server.workdir.mkdir()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def users(
    homelab_cli: Cli, seeded_vault: SeededVault, slapd: SlapdServer, isolated: Path
) -> Callable[..., CliResult]:
    """`homelab users <command> ...` wired to this slapd and this Vault."""
    del isolated

    def invoke(command: str, *args: str) -> CliResult:
        return homelab_cli(
            "users",
            command,
            *args,
            "-c",
            str(seeded_vault.config),
            "--ldap-url",
            slapd.url,
            "--vault-addr",
            seeded_vault.server.address,
            "--bootstrap-file",
            str(seeded_vault.bootstrap),
        )

    return invoke


def admin(slapd: SlapdServer) -> ldap3.Connection:
    return ldap3.Connection(
        ldap3.Server(slapd.url), slapd.root_dn, slapd.root_password, auto_bind=True, raise_exceptions=True
    )


def can_bind(slapd: SlapdServer, dn: str, password: str) -> bool:
    conn = ldap3.Connection(ldap3.Server(slapd.url), dn, password)
    try:
        return bool(conn.bind())
    finally:
        conn.unbind()


def dns_under(slapd: SlapdServer, base: str) -> set[str]:
    conn = admin(slapd)
    try:
        conn.search(base, "(objectClass=*)", attributes=["objectClass"])
        return {e.entry_dn.lower() for e in conn.entries}
    except LDAPNoSuchObjectResult:
        return set()
    finally:
        conn.unbind()


def members(slapd: SlapdServer, group: str) -> set[str]:
    conn = admin(slapd)
    conn.search(f"cn={group},ou=groups,dc=home,dc=example,dc=com", "(objectClass=*)", attributes=["member"])
    found = {m.lower() for m in conn.entries[0].member.values}
    conn.unbind()
    return found


def stored_password(slapd: SlapdServer, dn: str) -> str:
    conn = admin(slapd)
    conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=["userPassword"])
    value = conn.entries[0].userPassword.value
    conn.unbind()
    return value.decode() if isinstance(value, bytes) else str(value)


ALICE = "uid=alice,ou=people,dc=home,dc=example,dc=com"
BOB = "uid=bob,ou=people,dc=home,dc=example,dc=com"
BASE = "dc=home,dc=example,dc=com"


def test_bootstrap_builds_the_directory_from_the_model(
    users: Cli, seeded_vault: SeededVault, slapd: SlapdServer, transcript: Transcript
) -> None:
    result = users("bootstrap")
    assert result.code == 0, result.err
    assert dns_under(slapd, BASE) == {
        BASE,
        "ou=people," + BASE,
        "ou=groups," + BASE,
        "ou=services," + BASE,
        "cn=authelia,ou=services," + BASE,
        ALICE,
        BOB,
        "cn=admins,ou=groups," + BASE,
        "cn=users,ou=groups," + BASE,
    }
    assert members(slapd, "admins") == {ALICE}
    assert members(slapd, "users") == {ALICE, BOB}
    for dn, path in (
        (ALICE, "users/alice"),
        (BOB, "users/bob"),
        ("cn=authelia,ou=services," + BASE, "authelia/ldap"),
    ):
        password = seeded_vault.password(path)
        assert stored_password(slapd, dn).startswith("{SSHA}")
        assert password not in stored_password(slapd, dn)
        assert can_bind(slapd, dn, password), dn

    again = users("bootstrap")
    assert again.code == 0
    assert "added" not in again.err
    assert "unchanged: every entry" in again.err
    transcript.assert_clean(seeded_vault.every_secret())


def test_rendered_ldif_loads_into_slapd_with_ldapadd(
    users: Cli, seeded_vault: SeededVault, slapd: SlapdServer, tmp_path: Path
) -> None:
    printed = users("bootstrap", "--print-ldif")
    assert printed.code == 0
    ldif = printed.out
    assert ldif == directory.render_ldif(directory.directory_entries(seeded_vault.homelab))
    assert "userPassword" not in ldif
    ldif_file = tmp_path / "directory.ldif"
    ldif_file.write_text(ldif)
    password_file = tmp_path / "admin.pw"
    password_file.write_text(slapd.root_password)
    password_file.chmod(0o600)
    loaded = subprocess.run(
        [
            "ldapadd",
            "-x",
            "-H",
            slapd.url,
            "-D",
            slapd.root_dn,
            "-y",
            str(password_file),
            "-f",
            str(ldif_file),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert members(slapd, "users") == {ALICE, BOB}
    assert "cn=authelia,ou=services," + BASE not in dns_under(slapd, BASE), "needs a password: not in LDIF"
    # Bootstrap over the LDIF-built directory adds only the Authelia account and sets the initial
    # passwords the LDIF could not carry.
    result = users("bootstrap")
    assert result.code == 0, result.err
    assert "added uid" not in result.err
    assert "added cn=authelia,ou=services" in result.err
    assert can_bind(slapd, "cn=authelia,ou=services," + BASE, seeded_vault.password("authelia/ldap"))
    for dn, path in ((ALICE, "users/alice"), (BOB, "users/bob")):
        assert stored_password(slapd, dn).startswith("{SSHA}")
        assert can_bind(slapd, dn, seeded_vault.password(path))
    assert "unchanged: every entry" in users("bootstrap").err


def test_authelia_filters_find_exactly_the_user_and_groups(
    users: Cli, seeded_vault: SeededVault, slapd: SlapdServer
) -> None:
    assert users("bootstrap").code == 0
    layout = seeded_vault.homelab.ldap
    conn = ldap3.Connection(
        ldap3.Server(slapd.url),
        layout.authelia_bind_dn,
        seeded_vault.password("authelia/ldap"),
        auto_bind=True,
        raise_exceptions=True,
    )
    expected = {"alice": ["admins", "users"], "bob": ["users"]}
    for login, groups in expected.items():
        conn.search(
            layout.base_dn, directory.authelia_users_filter(layout, login), attributes=["uid", "mail"]
        )
        assert [e.entry_dn for e in conn.entries] == [directory.user_dn(layout, login)]
        assert conn.entries[0].mail.value == f"{login}@home.example.com"
        dn = conn.entries[0].entry_dn
        conn.search(layout.base_dn, directory.authelia_groups_filter(layout, dn), attributes=["cn"])
        assert sorted(e.cn.value for e in conn.entries) == groups
    for hostile in ("*", "alice*", "alice)(uid=*", "authelia", "nobody"):
        conn.search(layout.base_dn, directory.authelia_users_filter(layout, hostile), attributes=["uid"])
        assert conn.entries == [], hostile
    conn.unbind()


def test_add_groups_list_and_remove_users(
    users: Cli, seeded_vault: SeededVault, slapd: SlapdServer, transcript: Transcript
) -> None:
    assert users("bootstrap").code == 0
    added = users("add", "carol", "--name", "Carol Guest", "--email", "carol@home.example.com", "-g", "users")
    assert added.code == 0, added.err
    carol = "uid=carol,ou=people," + BASE
    assert "generated into Vault at homelab/users/carol" in added.err
    assert can_bind(slapd, carol, seeded_vault.password("users/carol"))
    assert members(slapd, "users") == {ALICE, BOB, carol}

    duplicate = users("add", "carol", "--name", "Carol Again", "--email", "c@home.example.com")
    assert duplicate.code == 2
    assert "already exists" in duplicate.err
    no_group = users("add", "dave", "--name", "Dave", "--email", "d@home.example.com", "-g", "nope")
    assert no_group.code == 2
    assert "no group 'nope'" in no_group.err
    assert not seeded_vault.exists("users/dave"), "a refused add writes nothing to Vault"
    assert "uid=dave,ou=people," + BASE not in dns_under(slapd, BASE)

    listed = users("list", "--json")
    assert listed.code == 0
    rows = {r["username"]: r for r in json.loads(listed.out)}
    assert sorted(rows) == ["alice", "bob", "carol"]
    assert rows["carol"] == {
        "username": "carol",
        "name": "Carol Guest",
        "email": "carol@home.example.com",
        "groups": ["users"],
    }
    assert rows["alice"]["groups"] == ["admins", "users"]

    changed = users("groups", "carol", "--add", "admins", "--remove", "users")
    assert changed.code == 0, changed.err
    assert changed.out.split() == ["admins"]
    assert members(slapd, "admins") == {ALICE, carol}
    assert members(slapd, "users") == {ALICE, BOB}

    # Emptying a group keeps it valid (groupOfNames needs a member) and invisible to Authelia.
    assert users("groups", "alice", "--remove", "admins").code == 0
    assert users("groups", "carol", "--remove", "admins").code == 0
    assert members(slapd, "admins") == {BASE}
    assert users("groups", "alice", "--add", "admins").code == 0
    assert members(slapd, "admins") == {ALICE}

    removed = users("remove", "bob")
    assert removed.code == 0, removed.err
    assert BOB not in dns_under(slapd, BASE)
    assert members(slapd, "users") == {ALICE}
    assert users("remove", "bob").code == 2
    transcript.assert_clean(seeded_vault.every_secret())


def test_password_change_then_real_bind(
    users: Cli,
    seeded_vault: SeededVault,
    slapd: SlapdServer,
    transcript: Transcript,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert users("bootstrap").code == 0
    old = seeded_vault.password("users/alice")
    new = "correct-horse-battery-staple-42"
    monkeypatch.setattr(sys, "stdin", io.StringIO(new + "\n"))
    changed = users("passwd", "alice", "--password-stdin")
    assert changed.code == 0, changed.err
    assert can_bind(slapd, ALICE, new)
    assert not can_bind(slapd, ALICE, old)
    assert stored_password(slapd, ALICE).startswith("{SSHA}")

    before = seeded_vault.password("users/bob")
    generated = users("passwd", "bob", "--generate")
    assert generated.code == 0, generated.err
    after = seeded_vault.password("users/bob")
    assert after != before
    assert can_bind(slapd, BOB, after)
    assert not can_bind(slapd, BOB, before)

    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    too_short = users("passwd", "alice", "--password-stdin")
    assert too_short.code == 2
    assert can_bind(slapd, ALICE, new)
    transcript.assert_clean(seeded_vault.every_secret() | {new, old, before})


def test_rotating_authelias_password_then_bootstrap_updates_the_directory(
    users: Cli, seeded_vault: SeededVault, slapd: SlapdServer, transcript: Transcript
) -> None:
    assert users("bootstrap").code == 0
    authelia = "cn=authelia,ou=services," + BASE
    old = seeded_vault.password("authelia/ldap")
    vault = VaultAdapter(seeded_vault.server.address)
    vault.set_token(json.loads(seeded_vault.bootstrap.read_text())["root_token"])
    vault_secrets.rotate(vault, seeded_vault.homelab, "authelia/ldap")
    new = seeded_vault.password("authelia/ldap")
    assert new != old
    synced = users("bootstrap")
    assert synced.code == 0, synced.err
    assert f"set the password of {authelia} from Vault" in synced.err
    assert can_bind(slapd, authelia, new)
    assert not can_bind(slapd, authelia, old)
    transcript.assert_clean(seeded_vault.every_secret() | {old})


# ----------------------------------------------------------------------------- failures


def test_ldap_down_fails_clearly(
    homelab_cli: Cli, seeded_vault: SeededVault, isolated: Path, transcript: Transcript
) -> None:
    del isolated
    common = (
        "-c",
        str(seeded_vault.config),
        "--ldap-url",
        f"ldap://127.0.0.1:{free_port()}",
        "--vault-addr",
        seeded_vault.server.address,
        "--bootstrap-file",
        str(seeded_vault.bootstrap),
    )
    for command in (("list",), ("bootstrap",), ("add", "erin", "--name", "Erin", "--email", "e@x.io")):
        result = homelab_cli("users", *command, *common)
        assert result.code == 1, command
        assert "LDAP: connect to ldap://127.0.0.1" in result.err
        assert "unreachable" in result.err
        assert "LDAP_URL" in result.err
    assert not seeded_vault.exists("users/erin")
    transcript.assert_clean(seeded_vault.every_secret())


def test_wrong_bind_password_fails_and_writes_nothing(
    users: Cli,
    seeded_vault: SeededVault,
    slapd: SlapdServer,
    transcript: Transcript,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LDAP_BIND_PASSWORD", "not-the-admin-password")
    for command in (("bootstrap",), ("add", "frank", "--name", "Frank", "--email", "f@x.io"), ("list",)):
        result = users(*command)
        assert result.code == 1, command
        assert "LDAP: bind to" in result.err
        assert "invalidCredentials" in result.err
    assert dns_under(slapd, BASE) == set()
    assert not seeded_vault.exists("users/frank")
    monkeypatch.setenv("LDAP_BIND_PASSWORD", seeded_vault.password("openldap/admin"))
    assert users("bootstrap").code == 0, "the env password is used when given"
    transcript.assert_clean(seeded_vault.every_secret() | {"not-the-admin-password"})


def test_sealed_vault_stops_bootstrap_before_any_ldap_write(
    users: Cli, seeded_vault: SeededVault, slapd: SlapdServer, transcript: Transcript
) -> None:
    seeded_vault.server.restart()
    try:
        result = users("bootstrap")
        assert result.code == 1
        assert "Vault:" in result.err
        assert "sealed" in result.err
        assert dns_under(slapd, BASE) == set()
    finally:
        vault = VaultAdapter(seeded_vault.server.address)
        vault_secrets.unseal(vault, seeded_vault.bootstrap)
    transcript.assert_clean(seeded_vault.every_secret())


def test_ldaps_is_verified_and_trusts_the_given_ca(
    homelab_cli: Cli, seeded_vault: SeededVault, isolated: Path, tmp_path: Path, transcript: Transcript
) -> None:
    del isolated
    layout = seeded_vault.homelab.ldap
    cert, key = self_signed_cert(tmp_path)
    server = SlapdServer(
        tmp_path / "slapd-tls",
        layout.base_dn,
        layout.admin_dn,
        seeded_vault.password("openldap/admin"),
        tls=(cert, key),
    )
    server.workdir.mkdir()
    common = (
        "-c",
        str(seeded_vault.config),
        "--ldap-url",
        server.url,
        "--vault-addr",
        seeded_vault.server.address,
        "--bootstrap-file",
        str(seeded_vault.bootstrap),
    )
    try:
        server.start()
        untrusted = homelab_cli("users", "bootstrap", *common)
        assert untrusted.code == 1
        assert "LDAP: connect to ldaps://127.0.0.1" in untrusted.err
        assert "TLS certificate verification failed" in untrusted.err
        trusted = homelab_cli("users", "bootstrap", *common, "--ldap-ca-cert", str(cert))
        assert trusted.code == 0, trusted.err
        listed = homelab_cli("users", "list", "--json", *common, "--ldap-ca-cert", str(cert))
        assert [r["username"] for r in json.loads(listed.out)] == ["alice", "bob"]
    finally:
        server.stop()
    transcript.assert_clean(seeded_vault.every_secret())
