"""OpenLDAP over ldap3: the only code that talks LDAP.

Failures become `ExternalSystemError("LDAP", ...)` with the server's answer (result name and
diagnostic message). Passwords are never part of an action or message: the adapter names DNs only.

Every bind carries a password, so a password never crosses a network in clear (`transport`):
`ldaps://` is TLS from the first byte; `ldap://` to another machine is upgraded with StartTLS
before the bind, and refused when the server cannot; both verify the certificate (CA from
--ldap-ca-cert, else the system's roots) and its name. Only `ldap://` to a loopback address goes
unencrypted: that is a `kubectl port-forward`, whose tunnel through the API server is TLS already.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Literal
from urllib.parse import urlsplit

import ldap3
from ldap3.core.exceptions import LDAPException, LDAPStartTLSError

from homelabeazy.errors import ExternalSystemError

SYSTEM = "LDAP"
NO_SUCH_OBJECT = 32
INVALID_CREDENTIALS = 49


def ssha(password: str) -> str:
    """An RFC 2307 `{SSHA}` hash with an 8-byte random salt: what slapd checks binds against."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode("utf-8") + salt).digest()  # noqa: S324 - {SSHA} is SHA-1 by definition
    return "{SSHA}" + base64.b64encode(digest + salt).decode("ascii")


Transport = Literal["ldaps", "starttls", "loopback"]


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def transport(url: str) -> Transport:
    """How a connection to `url` is protected: TLS from the start, StartTLS, or a loopback port-forward."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "ldaps":
        return "ldaps"
    return "loopback" if _loopback(parts.hostname or "") else "starttls"


def ldap_server(url: str, ca_cert: str | None, timeout: float) -> ldap3.Server:
    """An ldap3 Server for `url` that verifies the certificate (and its name) when TLS is used."""
    tls = None
    if transport(url) != "loopback":
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_cert)
    return ldap3.Server(url, connect_timeout=timeout, tls=tls, get_info=ldap3.NONE)


STARTTLS_REFUSED = "startTLS failed - "


class LDAPStartTLSRefusedError(LDAPException):  # type: ignore[misc]  # ldap3 ships no types
    """The server answered the StartTLS request with an error (it offers no TLS)."""


def secure(conn: ldap3.Connection, url: str) -> None:
    """StartTLS on an open connection when `url` needs it; raises LDAPException when it fails
    (LDAPStartTLSRefusedError when the server answers that it offers none)."""
    if transport(url) != "starttls":
        return
    try:
        started = conn.start_tls(read_server_info=False)
    except LDAPStartTLSError as exc:
        # ldap3 words a server's refusal `startTLS failed - <result>`; a failed handshake otherwise.
        if str(exc).startswith(STARTTLS_REFUSED):
            raise LDAPStartTLSRefusedError(str(exc)[len(STARTTLS_REFUSED) :]) from None
        raise
    if not started:
        raise LDAPStartTLSRefusedError(_answer(conn.result or {}))


@dataclass(frozen=True)
class LdapEntry:
    """One directory entry: DN and attributes (every value a string, multi-valued as tuples)."""

    dn: str
    attributes: Mapping[str, tuple[str, ...]]

    def first(self, name: str) -> str:
        """The first value of attribute `name`, or ''."""
        for key, values in self.attributes.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return ""

    def values(self, name: str) -> tuple[str, ...]:
        """Every value of attribute `name` (case-insensitive name)."""
        for key, values in self.attributes.items():
            if key.lower() == name.lower():
                return values
        return ()


class LdapAdapter:
    """A bound connection to one directory; use as a context manager."""

    def __init__(
        self,
        url: str,
        bind_dn: str,
        password: str,
        ca_cert: str | None = None,
        timeout: int = 10,
    ) -> None:
        self.url = url
        self.bind_dn = bind_dn
        self._password = password
        self._ca_cert = ca_cert
        self._timeout = timeout
        self._conn: ldap3.Connection | None = None

    def __repr__(self) -> str:
        return f"LdapAdapter({self.url!r}, bind_dn={self.bind_dn!r})"

    # ------------------------------------------------------------------ connection

    def _connect(self, dn: str, password: str) -> ldap3.Connection:
        conn = ldap3.Connection(
            ldap_server(self.url, self._ca_cert, self._timeout),
            user=dn,
            password=password,
            receive_timeout=self._timeout,
            raise_exceptions=False,
            auto_referrals=False,
        )
        try:
            conn.open()
            secure(conn, self.url)
        except LDAPStartTLSRefusedError as exc:
            conn.unbind()
            raise ExternalSystemError(
                SYSTEM,
                f"StartTLS with {self.url}",
                f"refused ({exc})",
                "the bind password would cross the network in clear: use ldaps://, or a "
                "`kubectl port-forward` to 127.0.0.1",
            ) from None
        except LDAPException as exc:
            text = str(exc).lower()
            if "certificate" in text or "ssl" in text or "hostname" in text or "tls" in text:
                raise ExternalSystemError(
                    SYSTEM,
                    f"connect to {self.url}",
                    "TLS certificate verification failed (not signed by the given CA, or not for this name)",
                    "pass the CA that signed the directory's certificate with --ldap-ca-cert / LDAP_CA_CERT, "
                    "and connect by a name the certificate carries",
                ) from None
            raise ExternalSystemError(
                SYSTEM,
                f"connect to {self.url}",
                f"unreachable ({type(exc).__name__})",
                "check that the directory is running and --ldap-url / LDAP_URL points at it",
            ) from None
        return conn

    def __enter__(self) -> LdapAdapter:
        conn = self._connect(self.bind_dn, self._password)
        try:
            ok = conn.bind()
        except LDAPException as exc:
            raise ExternalSystemError(
                SYSTEM, f"bind to {self.url} as {self.bind_dn}", type(exc).__name__
            ) from None
        if not ok:
            result = conn.result or {}
            code = result.get("result")
            conn.unbind()
            fix = (
                "check --bind-dn and the bind password (LDAP_BIND_PASSWORD or Vault openldap/admin)"
                if code == INVALID_CREDENTIALS
                else ""
            )
            raise ExternalSystemError(SYSTEM, f"bind to {self.url} as {self.bind_dn}", _answer(result), fix)
        self._conn = conn
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._conn is not None:
            self._conn.unbind()
            self._conn = None

    @property
    def conn(self) -> ldap3.Connection:
        if self._conn is None:
            raise RuntimeError("LdapAdapter used outside `with`")
        return self._conn

    def _check(self, ok: bool, action: str, fix: str = "") -> None:
        if not ok:
            raise ExternalSystemError(SYSTEM, f"{action} on {self.url}", _answer(self.conn.result or {}), fix)

    # ------------------------------------------------------------------ reads

    def search(
        self, base: str, search_filter: str, attributes: Iterable[str] = ("*",), scope: str = "SUBTREE"
    ) -> list[LdapEntry]:
        """Entries under `base` matching `search_filter`; an absent base yields []."""
        try:
            ok = self.conn.search(base, search_filter, search_scope=scope, attributes=list(attributes))
        except LDAPException as exc:
            raise ExternalSystemError(SYSTEM, f"search {base} for {search_filter}", str(exc)) from None
        if not ok and (self.conn.result or {}).get("result") not in (0, NO_SUCH_OBJECT):
            self._check(False, f"search {base} for {search_filter}")
        return [_entry(raw) for raw in self.conn.response or [] if raw.get("type") == "searchResEntry"]

    def search_raw(self, base: str) -> list[tuple[str, dict[str, tuple[bytes, ...]]]]:
        """Every entry under `base` with its user attributes as stored (bytes), in pages, so a large
        directory neither hits the server's size limit nor gets re-encoded; an absent base yields []."""
        action = f"read every entry under {base}"
        try:
            pages = self.conn.extend.standard.paged_search(
                base,
                "(objectClass=*)",
                search_scope=ldap3.SUBTREE,
                attributes=["*"],
                paged_size=500,
                generator=True,
            )
            found = [
                (
                    str(raw["dn"]),
                    {str(k): tuple(bytes(v) for v in vs) for k, vs in raw["raw_attributes"].items()},
                )
                for raw in pages
                if raw.get("type") == "searchResEntry"
            ]
        except LDAPException as exc:
            raise ExternalSystemError(SYSTEM, action, str(exc)) from None
        result = (self.conn.result or {}).get("result")
        if result not in (None, 0, NO_SUCH_OBJECT):
            self._check(False, action)
        return found

    def schema_definitions(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The server's object class and attribute type definitions (RFC 4512 text), read from the
        subschema entry its root DSE names: what an import checks every entry against first."""
        root = self.search("", "(objectClass=*)", ("subschemaSubentry",), scope="BASE")
        where = root[0].first("subschemaSubentry") if root else ""
        if not where:
            raise ExternalSystemError(
                SYSTEM, f"read the schema of {self.url}", "the root DSE names no subschema"
            )
        found = self.search(
            where, "(objectClass=subschema)", ("objectClasses", "attributeTypes"), scope="BASE"
        )
        if not found:
            raise ExternalSystemError(SYSTEM, f"read the schema of {self.url}", f"{where} is not readable")
        return found[0].values("objectClasses"), found[0].values("attributeTypes")

    def read(self, dn: str, attributes: Iterable[str] = ("*",)) -> LdapEntry | None:
        """The entry at `dn`, or None."""
        found = self.search(dn, "(objectClass=*)", attributes, scope="BASE")
        return found[0] if found else None

    # ------------------------------------------------------------------ writes

    def add(self, entry: LdapEntry) -> None:
        """Add `entry` (its objectClass attribute included)."""
        attrs = {k: list(v) for k, v in entry.attributes.items() if k.lower() != "objectclass"}
        self._check(self.conn.add(entry.dn, list(entry.values("objectClass")), attrs), f"add {entry.dn}")

    def add_raw(self, dn: str, attributes: Mapping[str, tuple[bytes, ...]]) -> None:
        """Add an entry whose values are bytes as stored (a restored password hash stays a hash)."""
        self._check(self.conn.add(dn, attributes={k: list(v) for k, v in attributes.items()}), f"add {dn}")

    def replace_raw(self, dn: str, attributes: Mapping[str, tuple[bytes, ...]]) -> None:
        """Replace each attribute's values at once (an empty tuple removes the attribute)."""
        changes = {name: [(ldap3.MODIFY_REPLACE, list(values))] for name, values in attributes.items()}
        self._check(self.conn.modify(dn, changes), f"modify {dn}")

    def delete(self, dn: str) -> None:
        """Delete the leaf entry `dn`."""
        self._check(self.conn.delete(dn), f"delete {dn}")

    def modify(self, dn: str, changes: Mapping[str, list[tuple[str, list[str]]]]) -> None:
        """Apply ldap3-style `{attr: [(MODIFY_ADD|MODIFY_DELETE|MODIFY_REPLACE, values)]}` atomically."""
        self._check(self.conn.modify(dn, dict(changes)), f"modify {dn}")

    def set_password(self, dn: str, password: str) -> None:
        """RFC 3062 Password Modify: slapd hashes the new password itself (password-hash, {SSHA})."""
        ok = self.conn.extend.standard.modify_password(user=dn, new_password=password)
        self._check(bool(ok), f"change the password of {dn}")

    def can_bind(self, dn: str, password: str) -> bool:
        """Whether `dn` can bind with `password` (a separate connection; this one stays as is)."""
        conn = self._connect(dn, password)
        try:
            return bool(conn.bind())
        finally:
            conn.unbind()


def _entry(raw: Mapping[str, object]) -> LdapEntry:
    attributes = raw.get("raw_attributes") or {}
    assert isinstance(attributes, Mapping)
    decoded = {
        str(name): tuple(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values)
        for name, values in attributes.items()
    }
    return LdapEntry(str(raw["dn"]), decoded)


def _answer(result: Mapping[str, object]) -> str:
    description = str(result.get("description") or "failed")
    message = str(result.get("message") or "").strip()
    return f"{description}: {message}" if message else description
