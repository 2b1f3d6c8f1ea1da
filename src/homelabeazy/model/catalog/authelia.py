"""Authelia: SSO and 2FA for every protected route, backed by OpenLDAP."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.needs import Clients, FlowNeed, need_from_url
from homelabeazy.desired.state import DesiredState
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.service import ChartPin, OutsideName, OwnedValue, RouteSpec, SecretSpec, ServiceEntry

CHART = ChartPin(
    "https://charts.authelia.com",
    "authelia",
    "0.11.5",
    # The chart's values.schema.json `$ref`s its definitions by published URL.
    schema_refs=(("https://charts.authelia.com/definitions.json", "authelia/chart-definitions.json"),),
)
SMTP_PATH = "authelia/smtp"
SMTP_PASSWORD = SecretSpec(
    SMTP_PATH, ("password",), "authelia", "password of the SMTP account Authelia sends mail with", "external"
)
"""The user's mail account: external (written by the user into Vault), needed only with a username."""


OWNED_VALUES: tuple[OwnedValue, ...] = (
    OwnedValue(
        ("configMap",),
        "Authelia's configuration is the ConfigMap homelabeazy renders from homelab.yaml",
        "set it through services.authelia instead",
    ),
    OwnedValue(("secret",), "its secrets come from Vault through External Secrets"),
    OwnedValue(("pod", "env"), "it points Authelia at the secret files mounted from Vault"),
    OwnedValue(("pod", "extraVolumes"), "it mounts the secrets synced from Vault"),
    OwnedValue(("pod", "extraVolumeMounts"), "it mounts the secrets synced from Vault"),
    OwnedValue(("pod", "replicas"), "its SQLite storage lives on one volume: one pod"),
)
"""Chart values the homelab depends on: `services.authelia.values` may not set them."""


def entry(config: HomelabConfig) -> ServiceEntry:
    """The portal itself must be reachable without logging in."""
    smtp = config.services.authelia.smtp
    mail = (SMTP_PASSWORD,) if smtp is not None and smtp.username is not None else ()
    return ServiceEntry(
        name="authelia",
        title="Authelia",
        namespace="authelia",
        chart=CHART,
        owned_values=OWNED_VALUES,
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
            *mail,
        ),
        depends_on=("openldap", "external_secrets", "traefik"),
        reaches=_mail_server(config),
    )


def _mail_server(config: HomelabConfig) -> tuple[OutsideName, ...]:
    """The SMTP server the one-time codes go through (587 with STARTTLS, 465 with TLS unless set)."""
    smtp = config.services.authelia.smtp
    if smtp is None:
        return ()
    port = smtp.port or (587 if smtp.security == "starttls" else 465)
    return (OutsideName(smtp.host, port, ("services", "authelia", "smtp", "host"), "Authelia (e-mail)"),)


SERVER_LABELS = {"app.kubernetes.io/name": "authelia"}
"""The chart's Authelia pods: they bind to LDAP for every login."""


def flow_needs(state: DesiredState, homelab: Homelab) -> Iterator[FlowNeed]:
    """Authelia binds to the LDAP address its configuration names (in whichever ConfigMap has it)."""
    namespace = entry(homelab.config).namespace
    clients = Clients(namespace, SERVER_LABELS, "Authelia")
    for config_map in state.of_kind("ConfigMap", ""):
        if config_map.namespace != namespace:
            continue
        for text in (config_map.doc.get("data") or {}).values():
            address = _ldap_address(str(text))
            if address:
                yield need_from_url(address, clients, "LDAP authentication backend", config_map)


def _ldap_address(text: str) -> str | None:
    import yaml  # noqa: PLC0415 - PyYAML only when the proof reads the configuration (fast start)

    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(loaded, dict):
        return None
    ldap = (loaded.get("authentication_backend") or {}).get("ldap") or {}
    address = ldap.get("address") if isinstance(ldap, dict) else None
    return str(address) if address else None
