"""Authelia: its configuration (LDAP backend, access rules from the routes, TOTP) and the Middleware.

The configuration is ours, whole, in a ConfigMap the chart mounts: one document, validated
against Authelia's own schema. Secrets reach it as files (Authelia's `*_FILE` variables) from
Secrets that External Secrets makes out of Vault, mounted by us at a path we choose.
"""

from __future__ import annotations

import hashlib
from typing import Any

from homelabeazy.config.schema import AutheliaSmtp
from homelabeazy.model import Homelab, Route
from homelabeazy.model.catalog.authelia import (
    CONFIG_KEY,
    CONFIG_MAP,
    DATA_DIR,
    SECRETS_DIR,
    secret_files,
)
from homelabeazy.model.identity import LdapLayout
from homelabeazy.model.service import ServiceEntry, secret_name
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.endpoints import authelia_authz_url, openldap_url
from homelabeazy.render.k8s.internal_tls import CA_TRUST, ca_trust, ca_volume
from homelabeazy.render.k8s.objects import meta, obj
from homelabeazy.render.k8s.routes import AUTH_MIDDLEWARE
from homelabeazy.render.k8s.services.common import new_bundle, secret_spec, synced_secret
from homelabeazy.render.serialize import to_yaml_kube

CERTIFICATES_DIR = "/homelab-ca"
"""Authelia's `certificates_directory`: the homelab CA, trusted on top of the system's roots. It
is the only way Authelia trusts a private CA for LDAP (its `tls` block takes a client certificate,
not a CA)."""
CA_FILE = "homelab-ca.crt"
"""The CA's file there (Authelia reads `.crt`, `.pem` and `.cer` files)."""
SMTP_SCHEMES = {"starttls": ("submission", 587), "tls": ("submissions", 465)}
"""`services.authelia.smtp.security` -> Authelia's address scheme and that scheme's usual port."""


def _relative(dn: str, base: str) -> str:
    """`ou=people,dc=home,dc=example,dc=com` under `dc=home,...` -> `ou=people`."""
    suffix = "," + base
    return dn[: -len(suffix)] if dn.endswith(suffix) else dn


def access_rule(homelab: Homelab, route: Route) -> dict[str, Any]:
    """One rule per route; `group` routes need the configured second factor and a listed group."""
    rule: dict[str, Any] = {"domain": [route.host]}
    if route.access == "public":
        rule["policy"] = "bypass"
    elif route.access == "group":
        rule["policy"] = homelab.config.services.authelia.default_policy
        rule["subject"] = [f"group:{group}" for group in route.groups]
    else:
        rule["policy"] = route.access
    return rule


def ldap_backend(homelab: Homelab, layout: LdapLayout) -> dict[str, Any]:
    """The LDAP section, straight from the layout the directory is built with.

    Every login sends the user's password in the bind: StartTLS first, with the directory's
    certificate verified (the CA from CERTIFICATES_DIR, the name from the address).
    """
    return {
        "implementation": "custom",
        "address": openldap_url(homelab),
        "timeout": "5s",
        "start_tls": True,
        "tls": {"skip_verify": False, "minimum_version": "TLS1.2"},
        "base_dn": layout.base_dn,
        "additional_users_dn": _relative(layout.people_dn, layout.base_dn),
        "users_filter": layout.users_filter,
        "additional_groups_dn": _relative(layout.groups_dn, layout.base_dn),
        "groups_filter": layout.groups_filter,
        "user": layout.authelia_bind_dn,
        "attributes": {
            "username": layout.username_attribute,
            "display_name": layout.display_name_attribute,
            "mail": layout.mail_attribute,
            "member_of": "memberOf",
            "group_name": layout.group_name_attribute,
        },
    }


def configuration(homelab: Homelab) -> dict[str, Any]:
    """Authelia's configuration.yml: deny by default, one rule per route, in route order."""
    config = homelab.config.services.authelia
    portal = next(r for r in homelab.routes if r.owner == "authelia" and r.kind == "service")
    return {
        "theme": "auto",
        "certificates_directory": CERTIFICATES_DIR,
        "default_2fa_method": "totp",
        "server": {"address": "tcp://:9091/"},
        "log": {"level": "info"},
        "totp": {"disable": False, "issuer": homelab.domain, "algorithm": "SHA1", "digits": 6, "period": 30},
        "webauthn": {"disable": True},
        "duo_api": {"disable": True},
        "authentication_backend": {
            "refresh_interval": "5m",
            "password_reset": {"disable": False},
            "ldap": ldap_backend(homelab, homelab.ldap),
        },
        "password_policy": {"zxcvbn": {"enabled": True, "min_score": 3}},
        "access_control": {
            "default_policy": "deny",
            "rules": [access_rule(homelab, r) for r in homelab.routes],
        },
        "session": {
            "name": "authelia_session",
            "same_site": "lax",
            "expiration": config.session_expiration,
            "inactivity": config.session_inactivity,
            "cookies": [
                {
                    "domain": homelab.domain,
                    "authelia_url": f"https://{portal.host}",
                    "default_redirection_url": f"https://{homelab.domain}",
                }
            ],
        },
        "regulation": {"max_retries": 3, "find_time": "2m", "ban_time": "10m"},
        "storage": {"local": {"path": f"{DATA_DIR}/db.sqlite3"}},
        "notifier": notifier(config.smtp, portal.host),
    }


def smtp_port(smtp: AutheliaSmtp) -> int:
    """The configured port, else the usual one for the chosen security."""
    return smtp.port if smtp.port is not None else SMTP_SCHEMES[smtp.security][1]


def notifier(smtp: AutheliaSmtp | None, portal_host: str) -> dict[str, Any]:
    """Mail through the user's server, else codes written to a file inside the pod (the default).

    The password is not here: Authelia reads it from AUTHELIA_NOTIFIER_SMTP_PASSWORD_FILE. The
    HELO name is the portal's host, since some servers refuse Authelia's default `localhost`.
    """
    if smtp is None:
        return {"filesystem": {"filename": f"{DATA_DIR}/notification.txt"}}
    tls: dict[str, Any] = {"skip_verify": smtp.tls.skip_verify, "minimum_version": smtp.tls.minimum_version}
    if smtp.tls.server_name is not None:
        tls["server_name"] = smtp.tls.server_name
    settings: dict[str, Any] = {
        "address": f"{SMTP_SCHEMES[smtp.security][0]}://{smtp.host}:{smtp_port(smtp)}",
        "sender": smtp.sender,
        "identifier": portal_host,
        "tls": tls,
    }
    if smtp.username is not None:
        settings["username"] = smtp.username
    return {"smtp": settings}


def configuration_text(homelab: Homelab) -> str:
    """The configuration file as the ConfigMap holds it."""
    return to_yaml_kube(configuration(homelab))


def values(homelab: Homelab, entry: ServiceEntry) -> dict[str, Any]:
    """SQLite storage on a volume means exactly one replica, as a Deployment.

    The pod carries the configuration's hash: the chart only restarts Authelia for a ConfigMap it
    made itself, so a changed rule would otherwise wait for the next restart.
    """
    digest = hashlib.sha256(configuration_text(homelab).encode("utf-8")).hexdigest()
    files = secret_files(entry)
    secrets = {path: secret_name(secret_spec(entry, path)) for path, _ in files.values()}
    return {
        "configMap": {
            "disabled": False,
            "existingConfigMap": CONFIG_MAP,
            "key": CONFIG_KEY,
            # The chart's own secret wiring stays off: ours comes from Vault through SECRET_FILES.
            "identity_validation": {"reset_password": {"secret": {"disabled": True}}},
            "session": {"encryption_key": {"disabled": True}},
            "storage": {"encryption_key": {"disabled": True}},
        },
        "secret": {"disabled": True},
        "persistence": {"enabled": True, "size": "100Mi"},
        "pod": {
            "kind": "Deployment",
            "replicas": 1,
            "annotations": {"homelabeazy/configuration-sha256": digest},
            "env": [
                {"name": var, "value": f"{SECRETS_DIR}/{secrets[path]}/{key}"}
                for var, (path, key) in files.items()
            ],
            "extraVolumes": [
                *({"name": name, "secret": {"secretName": name}} for name in sorted(set(secrets.values()))),
                ca_volume(CA_TRUST, CA_TRUST, CA_FILE),
            ],
            "extraVolumeMounts": [
                *(
                    {"name": name, "mountPath": f"{SECRETS_DIR}/{name}", "readOnly": True}
                    for name in sorted(set(secrets.values()))
                ),
                {"name": CA_TRUST, "mountPath": CERTIFICATES_DIR, "readOnly": True},
            ],
        },
    }


def middleware(homelab: Homelab, namespace: str) -> dict[str, Any]:
    """Traefik forwardAuth to Authelia; the user's identity is passed on to the app."""
    return obj(
        "traefik.io/v1alpha1",
        "Middleware",
        meta(AUTH_MIDDLEWARE, namespace),
        spec={
            "forwardAuth": {
                "address": authelia_authz_url(homelab),
                "trustForwardHeader": True,
                "authResponseHeaders": ["Remote-User", "Remote-Groups", "Remote-Email", "Remote-Name"],
            }
        },
    )


def bundle(homelab: Homelab, entry: ServiceEntry) -> Bundle:
    """Connects to OpenLDAP and to the mail server if any; Traefik connects to it (its route covers that)."""
    ldap = homelab.service("openldap")
    smtp = homelab.config.services.authelia.smtp
    needs = Needs(
        egress_to=(ldap.namespace,) if ldap is not None else (),
        internet_ports=(smtp_port(smtp),) if smtp is not None else (),
    )
    result = new_bundle(entry, needs)
    result.values = values(homelab, entry)
    result.add(
        "configuration",
        obj(
            "v1",
            "ConfigMap",
            meta(CONFIG_MAP, entry.namespace),
            data={CONFIG_KEY: configuration_text(homelab)},
        ),
    )
    result.add("middleware", middleware(homelab, entry.namespace))
    result.add("tls", ca_trust(entry.namespace))
    paths = sorted({path for path, _ in secret_files(entry).values()})
    result.add("secrets", *(synced_secret(entry, path) for path in paths))
    return result
