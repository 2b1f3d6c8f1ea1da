"""Authelia: SSO and 2FA for every protected route, backed by OpenLDAP."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.effective import Effective, command_line, env_source, mounted_at
from homelabeazy.desired.effective import containers as pod_containers
from homelabeazy.desired.needs import Clients, FlowNeed, need_from_url
from homelabeazy.desired.outcomes import Breach, Outcome, confined, given_flags, persists, runs
from homelabeazy.desired.selectors import as_list, as_map, dig
from homelabeazy.desired.state import DesiredObject, DesiredState, Finding
from homelabeazy.model.catalog.traps import containers, health_finding, mounted_secret, pod_spec
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.service import (
    ChartPin,
    OutsideName,
    OwnedValue,
    RouteSpec,
    SecretSpec,
    ServiceEntry,
    secret_name,
)

CHART = ChartPin(
    "https://charts.authelia.com",
    "authelia",
    "0.11.5",
    # The chart's values.schema.json `$ref`s its definitions by published URL.
    schema_refs=(("https://charts.authelia.com/definitions.json", "authelia/chart-definitions.json"),),
)
NAMESPACE = "authelia"
SMTP_PATH = "authelia/smtp"
SMTP_PASSWORD = SecretSpec(
    SMTP_PATH, ("password",), "authelia", "password of the SMTP account Authelia sends mail with", "external"
)
"""The user's mail account: external (written by the user into Vault), needed only with a username."""
KEYS_PATH = "authelia/keys"
LDAP_PATH = "authelia/ldap"
CONFIG_MAP = "authelia-configuration"
"""Our ConfigMap holding Authelia's whole configuration (the chart mounts it)."""
CONFIG_KEY = "configuration.yaml"
CONFIG_PATH = "/configuration.yaml"
"""Where the chart mounts that key and points Authelia at (`X_AUTHELIA_CONFIG`)."""
SECRETS_DIR = "/homelab-secrets"
"""Where each Secret synced from Vault is mounted, one folder per Secret."""
DATA_DIR = "/config"
"""The volume the SQLite storage lives on."""

SECRET_FILES = {
    "AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET_FILE": (KEYS_PATH, "jwt_secret"),
    "AUTHELIA_SESSION_SECRET_FILE": (KEYS_PATH, "session_secret"),
    "AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE": (KEYS_PATH, "storage_encryption_key"),
    "AUTHELIA_AUTHENTICATION_BACKEND_LDAP_PASSWORD_FILE": (LDAP_PATH, "password"),
}
"""Environment variable -> (Vault path, key) of each secret Authelia always reads from a file."""
SMTP_PASSWORD_FILE = {"AUTHELIA_NOTIFIER_SMTP_PASSWORD_FILE": (SMTP_PATH, "password")}
"""The SMTP password's file, when the catalog declares that secret (an SMTP account with a login)."""
CHART_ENV = frozenset({"AUTHELIA_SERVER_DISABLE_HEALTHCHECK"})
"""Authelia settings the chart itself passes as environment variables."""


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
        namespace=NAMESPACE,
        chart=CHART,
        owned_values=OWNED_VALUES,
        description="Single sign-on and two-factor authentication",
        routes=(RouteSpec(config.services.authelia.host, "authelia", 80, "public"),),
        secrets=(
            SecretSpec(
                KEYS_PATH,
                ("jwt_secret", "session_secret", "storage_encryption_key"),
                "authelia",
                "identity-validation JWT, session and storage encryption keys",
            ),
            SecretSpec(LDAP_PATH, ("password",), "authelia", "password of Authelia's LDAP bind account"),
            *mail,
        ),
        depends_on=("openldap", "external_secrets", "traefik"),
        health_checks=(ldap_binds_over_tls,),
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
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
"""What the chart runs them as (`pod.kind`)."""


def flow_needs(state: DesiredState, homelab: Homelab) -> Iterator[FlowNeed]:
    """Authelia binds to the LDAP address its configuration names (in whichever ConfigMap has it),
    verifying the directory's certificate with the CAs in its `certificates_directory`."""
    namespace = entry(homelab.config).namespace
    clients = Clients(namespace, SERVER_LABELS, "Authelia")
    for config_map, settings in _configurations(state, namespace):
        ldap = _ldap(settings)
        address = ldap.get("address")
        if not address:
            continue
        verify = _encrypted(ldap) and as_map(ldap.get("tls")).get("skip_verify") is not True
        trusts = _trusted_secrets(state, namespace, settings.get("certificates_directory"))
        yield need_from_url(
            str(address), clients, "LDAP authentication backend", config_map, tls_verify=verify, trusts=trusts
        )


def ldap_binds_over_tls(state: DesiredState) -> Iterator[Finding]:
    """Every login sends the user's password to the directory in the bind: never in clear, and
    never to a server whose certificate Authelia does not check."""
    for config_map, settings in _configurations(state, NAMESPACE):
        ldap = _ldap(settings)
        address = ldap.get("address")
        if not address:
            continue
        if not _encrypted(ldap):
            yield health_finding(
                config_map,
                "authelia",
                f"Authelia binds to {address} without TLS: every user's password crosses the cluster "
                "network in clear",
                "set authentication_backend.ldap.start_tls: true (or an ldaps:// address)",
            )
        elif as_map(ldap.get("tls")).get("skip_verify") is True:
            yield health_finding(
                config_map,
                "authelia",
                f"Authelia binds to {address} over TLS without verifying the certificate: anyone "
                "answering for that name receives the passwords",
                "set authentication_backend.ldap.tls.skip_verify: false and trust the directory's CA "
                "through certificates_directory",
            )


def _encrypted(ldap: Mapping[str, Any]) -> bool:
    """An ldaps:// address, or StartTLS on ldap:// (Authelia ignores start_tls with ldaps://)."""
    scheme = urlsplit(str(ldap.get("address", ""))).scheme.lower()
    return scheme == "ldaps" or (scheme in ("ldap", "") and ldap.get("start_tls") is True)


def _ldap(settings: Mapping[str, Any]) -> Mapping[str, Any]:
    return as_map(as_map(settings.get("authentication_backend")).get("ldap"))


def _configurations(state: DesiredState, namespace: str) -> Iterator[tuple[DesiredObject, Mapping[str, Any]]]:
    """(ConfigMap, parsed document) for each ConfigMap value in `namespace` that is a mapping."""
    for config_map in state.of_kind("ConfigMap", ""):
        if config_map.namespace != namespace:
            continue
        for text in (config_map.doc.get("data") or {}).values():
            loaded = _parsed(str(text))
            if loaded is not None:
                yield config_map, loaded


def _trusted_secrets(state: DesiredState, namespace: str, directory: Any) -> tuple[tuple[str, str], ...]:
    """The Secrets Authelia's pods mount at `certificates_directory` (none: only the system's roots)."""
    if not isinstance(directory, str) or not directory:
        return ()
    found: list[tuple[str, str]] = []
    workloads = (o for o in state.objects if o.group == "apps" and o.kind in WORKLOAD_KINDS)
    for workload in workloads:
        labels = as_map(dig(workload.doc, "spec", "template", "metadata", "labels"))
        if workload.namespace != namespace or any(labels.get(k) != v for k, v in SERVER_LABELS.items()):
            continue
        for container in containers(workload):
            secret = mounted_secret(pod_spec(workload), container, directory)
            if secret is not None and (namespace, secret) not in found:
                found.append((namespace, secret))
    return tuple(found)


def _parsed(text: str) -> Mapping[str, Any] | None:
    import yaml  # noqa: PLC0415 - PyYAML only when the proof reads the configuration (fast start)

    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return loaded if isinstance(loaded, dict) else None


def secret_files(entry: ServiceEntry) -> dict[str, tuple[str, str]]:
    """Every secret file Authelia reads: the fixed ones, and the SMTP password when it has one."""
    declared = {spec.path for spec in entry.secrets}
    return {**SECRET_FILES, **(SMTP_PASSWORD_FILE if SMTP_PATH in declared else {})}


# ---------------------------------------------------------------------------------- outcomes

SERVER = "authelia"
"""The chart's Deployment and its container."""


def _configuration_is_ours(view: Effective) -> Iterator[Breach]:
    """Authelia reads its whole configuration from our ConfigMap, and nothing else sets a setting:
    Authelia takes any `AUTHELIA_*` variable as one (`AUTHELIA_ACCESS_CONTROL_DEFAULT_POLICY=bypass`
    would open every route)."""
    for deployment in view.named("Deployment", SERVER):
        for container in pod_containers(deployment, init=False):
            if "config" in {name for name, _ in given_flags(command_line(container))}:
                yield Breach("authelia is started with --config", deployment)
            source = env_source(view, deployment, container, "X_AUTHELIA_CONFIG")
            if source.kind != "value" or source.value != CONFIG_PATH:
                yield Breach(f"X_AUTHELIA_CONFIG comes from {source.words()}, not {CONFIG_PATH}", deployment)
            volume = mounted_at(deployment, CONFIG_PATH)
            volumes = {
                str(as_map(v).get("name")): as_map(v) for v in as_list(pod_spec(deployment).get("volumes"))
            }
            if dig(volumes.get(volume or "", {}), "configMap", "name") != CONFIG_MAP:
                yield Breach(f"{CONFIG_PATH} is not ConfigMap {CONFIG_MAP}", deployment)
            yield from _foreign_settings(view, deployment, container)


def _foreign_settings(
    view: Effective, deployment: DesiredObject, container: Mapping[str, Any]
) -> Iterator[Breach]:
    ours = set(SECRET_FILES) | set(SMTP_PASSWORD_FILE) | CHART_ENV
    for var in (str(as_map(e).get("name")) for e in as_list(container.get("env"))):
        if var.startswith("AUTHELIA_") and var not in ours:
            yield Breach(
                f"container authelia sets {var}, a setting outside the homelab's configuration", deployment
            )
    for source in (as_map(s) for s in as_list(container.get("envFrom"))):
        for kind, ref_field in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
            ref = as_map(source.get(ref_field))
            if not ref:
                continue
            keys = view.keys_of(kind, deployment.namespace, str(ref.get("name", "")))
            prefix = str(source.get("prefix") or "")
            if keys is None or (keys and any((prefix + k).startswith("AUTHELIA_") for k in keys)):
                yield Breach(
                    f"container authelia takes settings from {kind} {ref.get('name')} (envFrom)", deployment
                )


def _secrets_from_vault(entry_: ServiceEntry) -> Callable[[Effective], Iterator[Breach]]:
    """Each secret file Authelia reads is the key of a Secret synced from Vault, mounted where the
    variable points."""
    files = secret_files(entry_)
    specs = {spec.path: spec for spec in entry_.secrets}

    def test(view: Effective) -> Iterator[Breach]:
        for deployment in view.named("Deployment", SERVER):
            volumes = {
                str(as_map(v).get("name")): as_map(v) for v in as_list(pod_spec(deployment).get("volumes"))
            }
            for container in pod_containers(deployment, init=False):
                for var, (path, key) in files.items():
                    secret = secret_name(specs[path])
                    wanted = f"{SECRETS_DIR}/{secret}/{key}"
                    source = env_source(view, deployment, container, var)
                    if source.kind != "value" or source.value != wanted:
                        yield Breach(f"{var} comes from {source.words()}, not {wanted}", deployment)
                    volume = mounted_at(deployment, f"{SECRETS_DIR}/{secret}")
                    if dig(volumes.get(volume or "", {}), "secret", "secretName") != secret:
                        yield Breach(f"{SECRETS_DIR}/{secret} is not Secret {secret}", deployment)

    return test


def outcomes(homelab: Homelab) -> Iterator[Outcome]:
    """Authelia decides every protected route by the rules the homelab renders."""
    this = entry(homelab.config)
    yield Outcome(
        f"Authelia runs with the homelab's configuration (ConfigMap {CONFIG_MAP}) and no other setting",
        _configuration_is_ours,
    )
    yield Outcome(
        "Authelia's keys and LDAP password are files of Secrets synced from Vault", _secrets_from_vault(this)
    )
    yield runs("Deployment", SERVER, 1, what="Authelia (SQLite on one volume)")
    yield persists("Deployment", SERVER, DATA_DIR, what="Authelia's storage (TOTP secrets, devices)")
    yield confined()
