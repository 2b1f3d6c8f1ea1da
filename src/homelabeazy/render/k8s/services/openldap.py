"""OpenLDAP: the directory under the domain's base DN, with the layout Authelia searches.

Only the organisational units are created here. People, groups and the service accounts carry
passwords, so `homelab users` adds them from Vault; nothing with a password is in Git.
"""

from __future__ import annotations

from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.model.catalog.openldap import ADMIN_PATH, REPLICAS, replication_enabled
from homelabeazy.model.identity import LdapLayout
from homelabeazy.model.ldif_text import ldif_record
from homelabeazy.model.service import ServiceEntry, secret_name
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.internal_tls import server_certificate, service_names
from homelabeazy.render.k8s.services.common import new_bundle, secret_spec, synced_secret
from homelabeazy.render.k8s.services.openldap_export import add_exports

SERVICE = "openldap"
"""The chart's Service (`fullnameOverride`), which Authelia and the export connect to."""
TLS_SECRET = "openldap-tls"  # noqa: S105 - a Secret's name
"""The directory's server certificate (cert-manager), which the chart copies in at pod start."""
INIT_IMAGE = ("debian", "bookworm-20260202-slim")
"""Repository and tag for the chart's two init containers (copying files: `sh`, `cp`, `sed`,
`hostname`), where the chart defaults to `debian:latest` and `alpine/openssl:latest`. A dated
tag of Debian's official image (docker-library/official-images, library/debian: Debian 12.13);
with our own certificate the TLS init step runs no openssl, so one image serves both."""


def structure_ldif(layout: LdapLayout, organisation: str) -> str:
    """The base entry and the organisational units, one LDIF record each.

    The base entry is included because the image skips its own default tree as soon as custom
    LDIF files are given. Every value goes through `ldif_line`: the organisation is the user's
    text, and in LDIF a value that starts a new line would start a new entry.
    """
    first_dc = layout.base_dn.split(",", 1)[0].split("=", 1)[1]
    base = (
        ("objectClass", "dcObject"),
        ("objectClass", "organization"),
        ("dc", first_dc),
        ("o", organisation),
    )
    records = [ldif_record(layout.base_dn, base) + "\n"]
    for dn in (layout.people_dn, layout.groups_dn, layout.services_dn):
        ou = dn.split(",", 1)[0].split("=", 1)[1]
        records.append(ldif_record(dn, (("objectClass", "organizationalUnit"), ("ou", ou))) + "\n")
    return "\n".join(records)


def values(homelab: Homelab, entry: ServiceEntry) -> dict[str, Any]:
    """The chart reads both admin passwords from the Secret External Secrets makes.

    The chart turns replication on by default, even for one replica; it follows the count here.
    It serves StartTLS on 389 and LDAPS on 636 with the certificate cert-manager keeps in
    TLS_SECRET (the image configures TLS from the files the chart copies in at every start).
    """
    config = homelab.config.services.openldap
    return {
        "fullnameOverride": "openldap",
        "replicaCount": REPLICAS,
        "replication": {"enabled": replication_enabled(REPLICAS)},
        "global": {
            "ldapDomain": homelab.domain,
            "existingSecret": secret_name(secret_spec(entry, ADMIN_PATH)),
        },
        "persistence": {"enabled": True, "size": config.storage},
        "initSchema": {
            "image": {"repository": INIT_IMAGE[0], "tag": INIT_IMAGE[1], "pullPolicy": "IfNotPresent"}
        },
        # With our certificate the chart copies tls.crt, tls.key and ca.crt from the Secret instead
        # of making a self-signed one (CN only, no SAN, new at every start) with openssl.
        "initTLSSecret": {
            "tls_enabled": True,
            "secret": TLS_SECRET,
            "image": {"registry": "docker.io", "repository": INIT_IMAGE[0], "tag": INIT_IMAGE[1]},
        },
        "customLdifFiles": {"00-structure.ldif": structure_ldif(homelab.ldap, config.organisation)},
        "ltb-passwd": {"enabled": False},
        "phpldapadmin": {"enabled": False},
    }


def bundle(homelab: Homelab, entry: ServiceEntry) -> Bundle:
    """Only Authelia connects to it inside the cluster (and, from its own namespace, the export)."""
    clients = tuple(e.namespace for e in homelab.services if "openldap" in e.depends_on)
    result = new_bundle(entry, Needs(ingress_from=clients))
    result.values = values(homelab, entry)
    result.add(
        "secrets",
        synced_secret(
            entry,
            ADMIN_PATH,
            {"LDAP_ADMIN_PASSWORD": "password", "LDAP_CONFIG_ADMIN_PASSWORD": "config_password"},
        ),
    )
    result.add(
        "tls", server_certificate(TLS_SECRET, entry.namespace, service_names(SERVICE, entry.namespace))
    )
    add_exports(homelab, result, secret_name(secret_spec(entry, ADMIN_PATH)), TLS_SECRET)
    return result
