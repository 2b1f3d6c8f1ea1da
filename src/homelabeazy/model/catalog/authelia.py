"""Authelia: SSO and 2FA for every protected route, backed by OpenLDAP."""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.catalog.base import ChartPin, RouteSpec, SecretSpec, ServiceEntry

CHART = ChartPin(
    "https://charts.authelia.com",
    "authelia",
    "0.11.5",
    # The chart's values.schema.json `$ref`s its definitions by published URL.
    schema_refs=(("https://charts.authelia.com/definitions.json", "authelia/chart-definitions.json"),),
)


def entry(config: HomelabConfig) -> ServiceEntry:
    """The portal itself must be reachable without logging in."""
    return ServiceEntry(
        name="authelia",
        title="Authelia",
        namespace="authelia",
        chart=CHART,
        wave=4,
        description="Single sign-on and two-factor authentication",
        routes=(RouteSpec(config.services.authelia.host, "authelia", 80, "public"),),
        secrets=(
            SecretSpec(
                "authelia/keys",
                ("jwt_secret", "session_secret", "storage_encryption_key"),
                "authelia",
                "identity-validation JWT, session and storage encryption keys",
            ),
            SecretSpec(
                "authelia/ldap", ("password",), "authelia", "password of Authelia's LDAP bind account"
            ),
        ),
        depends_on=("openldap", "external_secrets", "traefik"),
    )
