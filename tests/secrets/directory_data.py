"""A directory to back up: a real slapd with 200 people in groups, read back with plain ldap3.

Shared by the export/import tests and the CronJob test; the fixtures are registered in conftest.
The directory is read back and compared with plain ldap3, never with the code under test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import ldap3
import pytest

from homelabeazy.ops.ldap import ssha
from tests.conftest import CliResult
from tests.secrets.servers import SlapdServer
from tests.support.s3 import S3Server

BASE = "dc=home,dc=example,dc=com"
ADMIN = "cn=admin," + BASE
PEOPLE = "ou=people," + BASE
GROUPS = "ou=groups," + BASE
USERS = 200
GROUP_NAMES = ("admins", "family", "guests", "media", "dev")
PREFIX = "lab/"
"""Velero's folder inside the bucket (bucket_users' homelab.yaml): the LDAP exports go beside it,
at the bucket's root (`homelab-dr/`), never under it."""
PHOTO = bytes(range(256)) * 4
"""A binary value (not UTF-8): must come back byte for byte."""

Snapshot = dict[str, dict[str, list[bytes]]]
Cli = Callable[..., CliResult]


def password(i: int) -> str:
    return f"pw-{i:03d}-{os.urandom(4).hex()}"


def uid(i: int) -> str:
    return f"user{i:03d}"


def admin(server: SlapdServer) -> ldap3.Connection:
    return ldap3.Connection(
        ldap3.Server(server.url), ADMIN, server.root_password, auto_bind=True, raise_exceptions=True
    )


def populate(server: SlapdServer, users: int = USERS) -> dict[str, str]:
    """The OUs, 200 people (a few set through Password Modify, so slapd hashed those itself), five
    groups; returns each person's DN and password."""
    conn = admin(server)
    conn.add(BASE, ["top", "dcObject", "organization"], {"dc": "home", "o": "Home"})
    for ou in ("people", "groups", "services"):
        conn.add(f"ou={ou},{BASE}", ["top", "organizationalUnit"], {"ou": ou})
    passwords = {}
    for i in range(users):
        dn = f"uid={uid(i)},{PEOPLE}"
        attrs: dict[str, object] = {
            "uid": uid(i),
            "cn": f"Zoë Müller {i}" if i % 7 == 0 else f"User {i}",
            "sn": f"Number {i}",
            "mail": [f"{uid(i)}@home.example.com", f"{uid(i)}@alt.example.com"],
            "displayName": f"User {i} ",  # a trailing space: LDIF must base64 it
        }
        secret = password(i)
        if i % 10 == 0:
            attrs["jpegPhoto"] = PHOTO
        if i % 25 != 0:
            attrs["userPassword"] = ssha(secret)
        conn.add(dn, ["top", "person", "organizationalPerson", "inetOrgPerson"], attrs)
        if i % 25 == 0:
            conn.extend.standard.modify_password(user=dn, new_password=secret)
        passwords[dn] = secret
    for g, name in enumerate(GROUP_NAMES):
        members = [f"uid={uid(i)},{PEOPLE}" for i in range(users) if i % len(GROUP_NAMES) == g or i < 3]
        conn.add(f"cn={name},{GROUPS}", ["top", "groupOfNames"], {"cn": name, "member": members})
    conn.unbind()
    return passwords


def snapshot(server: SlapdServer) -> Snapshot:
    """Every entry under the base: DN (lower case) -> attribute (lower case) -> sorted raw values."""
    conn = admin(server)
    try:
        found = conn.extend.standard.paged_search(BASE, "(objectClass=*)", attributes=["*"], generator=False)
    except ldap3.core.exceptions.LDAPNoSuchObjectResult:
        return {}
    finally:
        conn.unbind()
    return {
        e["dn"].lower(): {k.lower(): sorted(v) for k, v in e["raw_attributes"].items()}
        for e in found
        if e["type"] == "searchResEntry"
    }


def wipe(server: SlapdServer) -> None:
    """Delete every entry under the base, the base included, deepest first."""
    dns = sorted(snapshot(server), key=lambda dn: dn.count(","), reverse=True)
    conn = admin(server)
    for dn in dns:
        conn.delete(dn)
    conn.unbind()


def can_bind(server: SlapdServer, dn: str, secret: str) -> bool:
    conn = ldap3.Connection(ldap3.Server(server.url), dn, secret)
    try:
        return bool(conn.bind())
    finally:
        conn.unbind()


def assert_identical(before: Snapshot, after: Snapshot) -> None:
    assert sorted(after) == sorted(before)
    for dn, attributes in before.items():
        assert after[dn] == attributes, dn


@pytest.fixture
def directory_server(tmp_path: Path) -> Iterator[SlapdServer]:
    server = SlapdServer(tmp_path / "slapd", BASE, ADMIN, "admin-" + os.urandom(6).hex())
    server.workdir.mkdir()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def backup_users(cli: Cli, repo: Path, directory_server: SlapdServer, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """`homelab users <command> ...` against this slapd as its admin (password from the environment)."""
    monkeypatch.setenv("LDAP_BIND_PASSWORD", directory_server.root_password)

    def invoke(command: str, *args: str) -> CliResult:
        return cli(
            "users", command, *args, "-c", str(repo / "homelab.yaml"), "--ldap-url", directory_server.url
        )

    return invoke


@pytest.fixture
def populated(directory_server: SlapdServer) -> dict[str, str]:
    return populate(directory_server)


@pytest.fixture
def bucket_users(
    cli: Cli, repo: Path, directory_server: SlapdServer, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> Cli:
    """`homelab users ...` whose homelab.yaml points the Velero target at moto (Velero's folder
    PREFIX), keeping 2 exports."""
    config = repo / "homelab.yaml"
    text = config.read_text(encoding="utf-8")
    assert "      prefix: velero\n" in text
    text = text.replace("      prefix: velero\n", f"      prefix: {PREFIX.rstrip('/')}\n", 1)
    text = text.replace("s3_url: https://minio.home.example.com", f"s3_url: {s3_server.endpoint}")
    text = text.replace(
        "organisation: Example Homelab\n", "organisation: Example Homelab\n    exports:\n      keep: 2\n"
    )
    config.write_text(text, encoding="utf-8")
    monkeypatch.setenv("LDAP_BIND_PASSWORD", directory_server.root_password)
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)

    def invoke(command: str, *args: str) -> CliResult:
        return cli("users", command, *args, "-c", str(config), "--ldap-url", directory_server.url)

    return invoke


def bucket_keys(s3_server: S3Server) -> list[str]:
    listed = s3_server.client().list_objects_v2(Bucket=s3_server.bucket)  # type: ignore[attr-defined]
    return sorted(str(o["Key"]) for o in listed.get("Contents", []))
