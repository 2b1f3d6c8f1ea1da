"""The directory over TLS, for real: slapd serving a certificate made the way cert-manager makes
the rendered one (the rendered Certificate's dnsNames, signed by a CA), and the clients the homelab
renders connecting by the rendered name (issue 25, defect 10).

- the rendered `ldap-export` container's own script and environment, run with Debian's
  `ldapsearch` (libldap, GnuTLS) against the rendered URL's host: `-ZZ` and the CA file verify
  the certificate and its name;
- `homelab users`' adapter (ldap3): StartTLS before any bind to a directory that is not a
  loopback port-forward, the certificate and name verified.

The server runs with `security tls=1`, so a bind that succeeds went encrypted. Only cluster DNS is
stood in for: the Service's name resolves to 127.0.0.1 inside a private mount namespace (a
bind-mounted /etc/hosts, `unshare`) for ldapsearch, and through `socket.getaddrinfo` for ldap3.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from homelabeazy.errors import ExternalSystemError
from homelabeazy.model import Homelab
from homelabeazy.ops.ldap import LdapAdapter, LdapEntry, transport
from homelabeazy.render.k8s.services.openldap_export import EXPORT_SCRIPT
from homelabeazy.render.registry import render_all
from tests.secrets.servers import SlapdServer
from tests.support.integration import need_binary, require_tool

pytestmark = pytest.mark.integration

ADMIN_PASSWORD = secrets.token_urlsafe(18)
"""The test directory's admin password: made per run, so no password-like literal is committed."""


@dataclass(frozen=True)
class Rendered:
    """What the example renders for the directory's TLS."""

    dns_names: list[str]
    export: dict[str, Any]
    """The export's init container (ldapsearch)."""
    volumes: dict[str, dict[str, Any]]
    authelia_ldap: dict[str, Any]

    @property
    def url(self) -> str:
        return next(e["value"] for e in self.export["env"] if e["name"] == "LDAP_URL")

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


def _documents(files: dict[str, str], path: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(files[path]) if d]


@pytest.fixture(scope="module")
def rendered(example_homelab: Homelab) -> Rendered:
    files = render_all(example_homelab, ["kubernetes"])
    [cert] = _documents(files, "kubernetes/manifests/openldap/tls.yaml")
    job = next(
        d for d in _documents(files, "kubernetes/manifests/openldap/exports.yaml") if d["kind"] == "CronJob"
    )
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [config_map] = _documents(files, "kubernetes/manifests/authelia/configuration.yaml")
    authelia = yaml.safe_load(config_map["data"]["configuration.yaml"])
    return Rendered(
        cert["spec"]["dnsNames"],
        pod["initContainers"][0],
        {v["name"]: v for v in pod["volumes"]},
        authelia["authentication_backend"]["ldap"],
    )


class Pki:
    """A CA and the certificates it signs, made with openssl as cert-manager's CA issuer would."""

    def __init__(self, folder: Path, name: str) -> None:
        self.openssl = need_binary("openssl", "apt-get install openssl")
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.cert, self.key = folder / f"{name}.crt", folder / f"{name}.key"
        self._run(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", self.key, "-out", self.cert, "-days", "1", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip

    def _run(self, *args: object) -> None:
        subprocess.run([self.openssl, *map(str, args)], check=True, capture_output=True)

    def issue(self, name: str, dns_names: list[str], common_name: str = "openldap") -> tuple[Path, Path]:
        """A server certificate for `dns_names` (none: the common name only, as the chart's own)."""
        cert, key, csr = (self.folder / f"{name}.{ext}" for ext in ("crt", "key", "csr"))
        extensions = self.folder / f"{name}.ext"
        lines = ["extendedKeyUsage=serverAuth", "keyUsage=critical,digitalSignature"]
        if dns_names:
            lines.append("subjectAltName=" + ",".join(f"DNS:{n}" for n in dns_names))
        extensions.write_text("\n".join(lines) + "\n")
        self._run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                  "-keyout", key, "-out", csr, "-subj", f"/CN={common_name}")  # fmt: skip
        self._run("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key, "-CAcreateserial",
                  "-out", cert, "-days", "1", "-extfile", extensions)  # fmt: skip
        # cert-manager writes an ECDSA key as `EC PRIVATE KEY` (its default encoding, PKCS1/SEC1)
        self._run("ec", "-in", key, "-out", key)
        assert key.read_text().startswith("-----BEGIN EC PRIVATE KEY-----")
        return cert, key


def _directory(workdir: Path, homelab: Homelab, tls: tuple[Path, Path] | None) -> SlapdServer:
    layout = homelab.ldap
    server = SlapdServer(
        workdir,
        layout.base_dn,
        layout.admin_dn,
        ADMIN_PASSWORD,
        tls=tls,
        starttls=True,
        require_tls=tls is not None,
    )
    workdir.mkdir(parents=True)
    server.start()
    return server


@pytest.fixture
def cluster_dns(rendered: Rendered, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Service's name resolves to loopback for this process (ldap3), as CoreDNS would resolve it."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == rendered.host else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki", "homelab-ca")


@pytest.fixture
def served(rendered: Rendered, pki: Pki, example_homelab: Homelab, tmp_path: Path) -> Iterator[SlapdServer]:
    """The directory with the certificate the rendered Certificate asks for, holding its base entry."""
    server = _directory(tmp_path / "slapd", example_homelab, pki.issue("openldap-tls", rendered.dns_names))
    try:
        yield server
    finally:
        server.stop()


def _at_service(rendered: Rendered, server: SlapdServer) -> str:
    """The rendered URL (the Service's name), on the test server's port."""
    return f"ldap://{rendered.host}:{server.port}"


def _add_base(url: str, homelab: Homelab, ca: Path) -> None:
    first = homelab.ldap.base_dn.split(",", 1)[0].split("=", 1)[1]
    base = LdapEntry(
        homelab.ldap.base_dn,
        {"objectClass": ("dcObject", "organization"), "dc": (first,), "o": ("Homelab",)},
    )
    with LdapAdapter(url, homelab.ldap.admin_dn, ADMIN_PASSWORD, str(ca)) as ldap:
        ldap.add(base)


def _run_export(
    rendered: Rendered, server: SlapdServer, ca: Path, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """The rendered export container: its script and literal environment, its mounts as folders,
    the Service's name mapped to loopback in a private mount namespace."""
    unshare = need_binary("unshare", "apt-get install util-linux")
    need_binary("ldapsearch", "apt-get install ldap-utils")
    run = tmp_path / f"export-{os.urandom(4).hex()}"
    mounts = {m["name"]: (m["mountPath"], run / m["name"]) for m in rendered.export["volumeMounts"]}
    for _, folder in mounts.values():
        folder.mkdir(parents=True)
    (mounts["admin"][1] / "password").write_text(ADMIN_PASSWORD)
    [item] = rendered.volumes["ca"]["secret"]["items"]  # the CA alone, never the key pair
    assert item["key"] == "ca.crt"
    (mounts["ca"][1] / item["path"]).write_bytes(ca.read_bytes())

    def local(text: str) -> str:
        for path, folder in mounts.values():
            text = text.replace(path + "/", f"{folder}/")
        return text

    env = {"PATH": "/usr/bin:/bin", "HOME": str(run)}
    env.update({e["name"]: local(e["value"]) for e in rendered.export["env"]})
    env["LDAP_URL"] = _at_service(rendered, server)
    hosts = run / "hosts"
    hosts.write_text(f"127.0.0.1 localhost {rendered.host}\n")
    inner = 'mount --bind "$HOSTS" /etc/hosts && exec /bin/sh -c "$SCRIPT"'
    env.update(HOSTS=str(hosts), SCRIPT=local(rendered.export["command"][2]))
    done = subprocess.run(
        [unshare, "--map-root-user", "--mount", "/bin/sh", "-c", inner],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if done.returncode != 0 and "unshare" in done.stderr and "Operation not permitted" in done.stderr:
        require_tool(f"private mount namespaces (unshare): {done.stderr.strip()}")
    done.stdout = (
        (mounts["work"][1] / "export.ldif").read_text()
        if (mounts["work"][1] / "export.ldif").exists()
        else ""
    )
    return done


def test_the_rendered_export_reads_over_starttls_verifying_the_rendered_name(
    rendered: Rendered,
    served: SlapdServer,
    pki: Pki,
    example_homelab: Homelab,
    cluster_dns: None,
    tmp_path: Path,
) -> None:
    del cluster_dns
    assert rendered.host in rendered.dns_names
    _add_base(_at_service(rendered, served), example_homelab, pki.cert)
    done = _run_export(rendered, served, pki.cert, tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"dn: {example_homelab.ldap.base_dn}" in done.stdout
    assert done.stdout.rstrip().endswith("# homelab users export: 1 entries")


@pytest.mark.parametrize("wrong", ["chart-default-certificate", "other-ca", "no-tls"])
def test_the_export_refuses_a_directory_it_cannot_verify(
    wrong: str, rendered: Rendered, pki: Pki, example_homelab: Homelab, tmp_path: Path
) -> None:
    """The chart's own certificate (CN = the domain, no SAN), one from another CA, or none at all:
    the export stops before it binds; nothing is written."""
    if wrong == "chart-default-certificate":
        tls: tuple[Path, Path] | None = pki.issue("chart", [], common_name=example_homelab.domain)
    elif wrong == "other-ca":
        tls = Pki(tmp_path / "other", "someone-else").issue("openldap-tls", rendered.dns_names)
    else:
        tls = None
    server = _directory(tmp_path / "slapd", example_homelab, tls)
    try:
        done = _run_export(rendered, server, pki.cert, tmp_path)
    finally:
        server.stop()
    assert done.returncode != 0
    assert "ldap_start_tls" in done.stderr
    assert done.stdout == ""


def test_the_export_before_the_fix_binds_in_clear(
    rendered: Rendered,
    served: SlapdServer,
    pki: Pki,
    example_homelab: Homelab,
    cluster_dns: None,
    tmp_path: Path,
) -> None:
    """The script as it was (no `-ZZ`) sends the admin password unencrypted: a directory that
    requires TLS refuses it (slapd: confidentiality required)."""
    del cluster_dns
    _add_base(_at_service(rendered, served), example_homelab, pki.cert)
    old = EXPORT_SCRIPT.replace(" -ZZ ", " ")
    before = Rendered(rendered.dns_names, {**rendered.export, "command": ["/bin/sh", "-c", old]},
                      rendered.volumes, rendered.authelia_ldap)  # fmt: skip
    done = _run_export(before, served, pki.cert, tmp_path)
    assert done.returncode != 0
    assert "Confidentiality required" in done.stderr


def test_authelias_rendered_settings_meet_the_rendered_certificate(rendered: Rendered) -> None:
    """Authelia cannot run here; what it is told is checked against what the server will carry."""
    ldap = rendered.authelia_ldap
    assert (ldap["start_tls"], ldap["tls"]["skip_verify"]) == (True, False)
    assert urlsplit(ldap["address"]).hostname == rendered.host
    assert rendered.host in rendered.dns_names


def test_users_binds_after_starttls_and_verifies_the_name(
    rendered: Rendered, served: SlapdServer, pki: Pki, example_homelab: Homelab, cluster_dns: None
) -> None:
    del cluster_dns
    url = _at_service(rendered, served)
    assert transport(url) == "starttls"
    _add_base(url, example_homelab, pki.cert)  # slapd refuses any operation without TLS
    with LdapAdapter(url, example_homelab.ldap.admin_dn, ADMIN_PASSWORD, str(pki.cert)) as ldap:
        assert ldap.conn.tls_started
        assert ldap.read(example_homelab.ldap.base_dn) is not None
    with pytest.raises(ExternalSystemError, match="TLS certificate verification failed"):
        LdapAdapter(url, example_homelab.ldap.admin_dn, ADMIN_PASSWORD, None).__enter__()  # system roots only


def test_users_refuses_a_name_the_certificate_does_not_carry(
    rendered: Rendered, pki: Pki, example_homelab: Homelab, cluster_dns: None, tmp_path: Path
) -> None:
    del cluster_dns
    server = _directory(tmp_path / "slapd", example_homelab, pki.issue("chart", [], example_homelab.domain))
    try:
        with pytest.raises(ExternalSystemError, match="TLS certificate verification failed") as failed:
            LdapAdapter(_at_service(rendered, server), example_homelab.ldap.admin_dn, ADMIN_PASSWORD,
                        str(pki.cert)).__enter__()  # fmt: skip
    finally:
        server.stop()
    assert ADMIN_PASSWORD not in str(failed.value)


def test_users_never_binds_in_clear_to_a_directory_without_starttls(
    rendered: Rendered, example_homelab: Homelab, cluster_dns: None, tmp_path: Path
) -> None:
    del cluster_dns
    server = _directory(tmp_path / "slapd", example_homelab, None)
    try:
        with pytest.raises(ExternalSystemError, match="StartTLS") as refused:
            LdapAdapter(
                _at_service(rendered, server), example_homelab.ldap.admin_dn, ADMIN_PASSWORD
            ).__enter__()
        # a port-forward on loopback is the one plain transport (the tunnel is the API server's TLS)
        with LdapAdapter(server.url, example_homelab.ldap.admin_dn, ADMIN_PASSWORD) as ldap:
            assert not ldap.conn.tls_started
    finally:
        server.stop()
    assert "clear" in str(refused.value)
