"""Services, routes and apps: what depends on what, which host names are taken, and app names that
would collide with the core services'.
"""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.checks.base import Finding, check
from homelabeazy.config.load import FieldPath, format_path
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.catalog import COMPANION_PARTS, REGISTRY, enabled_entries
from homelabeazy.model.hosts import route_fqdn


def route_paths(config: HomelabConfig) -> Iterator[tuple[FieldPath, str]]:
    """Every route host with the field it was written at: the catalog's routes, then the apps'."""
    for entry in enabled_entries(config):
        for spec in entry.routes:
            yield ("services", entry.name, spec.field), spec.host
    for i, app in enumerate(config.apps):
        if app.host is not None:
            yield ("apps", i, "host"), app.host


@check("route-hosts")
def route_hosts_unique_in_domain(config: HomelabConfig) -> Iterator[Finding]:
    """Route hosts are inside the domain and unique."""
    seen: dict[str, FieldPath] = {}
    for path, host in route_paths(config):
        fqdn = route_fqdn(host, config.domain)
        if fqdn is None:
            yield Finding(
                path,
                f"'{host}' is not inside the domain {config.domain}",
                f"write a label like 'app' (becomes app.{config.domain}) or a name ending in "
                f".{config.domain}",
            )
            continue
        if fqdn in seen:
            yield Finding(
                path,
                f"host {fqdn} is already used by {format_path(seen[fqdn])}",
                "every route needs its own host",
            )
        seen.setdefault(fqdn, path)


@check("routes-need-traefik")
def routes_need_traefik(config: HomelabConfig) -> Iterator[Finding]:
    """Routes need Traefik, and Traefik needs MetalLB for its LoadBalancer IP."""
    svc = config.services
    if not svc.traefik.enabled:
        for path, _host in route_paths(config):
            if path[0] == "apps":
                yield Finding(
                    path,
                    "this app has a route but Traefik is disabled",
                    "enable services.traefik or remove the host",
                )
    elif not svc.metallb.enabled:
        yield Finding(
            ("services", "metallb", "enabled"),
            "Traefik needs MetalLB for its LoadBalancer IP (K3s servicelb is disabled)",
            "enable services.metallb",
        )


@check("app-auth-needs-authelia")
def app_auth_needs_authelia(config: HomelabConfig) -> Iterator[Finding]:
    """A route protected by one_factor, two_factor or group needs Authelia."""
    if config.services.authelia.enabled:
        return
    for i, app in enumerate(config.apps):
        if app.host is not None and app.access != "public":
            yield Finding(
                ("apps", i, "access"),
                f"access '{app.access}' needs Authelia, which is disabled",
                "enable services.authelia or set access: public",
            )


@check("authelia-deps")
def authelia_needs_openldap(config: HomelabConfig) -> Iterator[Finding]:
    """Authelia needs OpenLDAP (its user backend) and Vault + External Secrets (its keys)."""
    svc = config.services
    if not svc.authelia.enabled:
        return
    for name, enabled in (
        ("openldap", svc.openldap.enabled),
        ("vault", svc.vault.enabled),
        ("external_secrets", svc.external_secrets.enabled),
    ):
        if not enabled:
            yield Finding(
                ("services", name, "enabled"),
                f"Authelia needs {name}, which is disabled",
                f"enable services.{name} or disable services.authelia",
            )


@check("openldap-tls")
def openldap_needs_cert_manager(config: HomelabConfig) -> Iterator[Finding]:
    """OpenLDAP serves TLS with a certificate from cert-manager's internal CA: every bind carries a
    password, so the directory is never reached in clear."""
    svc = config.services
    if svc.openldap.enabled and not svc.cert_manager.enabled:
        yield Finding(
            ("services", "cert_manager", "enabled"),
            "OpenLDAP's TLS certificate comes from cert-manager's internal CA, which is disabled",
            "enable services.cert_manager or disable services.openldap",
        )


@check("secrets-operator")
def secrets_need_vault(config: HomelabConfig) -> Iterator[Finding]:
    """External Secrets needs Vault as its store."""
    svc = config.services
    if svc.external_secrets.enabled and not svc.vault.enabled:
        yield Finding(
            ("services", "vault", "enabled"),
            "External Secrets reads from Vault, which is disabled",
            "enable services.vault or disable services.external_secrets",
        )


@check("monitoring-deps")
def monitoring_needs_external_secrets(config: HomelabConfig) -> Iterator[Finding]:
    """Grafana's admin password and the receivers' credentials come from Vault through External
    Secrets; without it Grafana never starts and the monitoring Application never turns healthy."""
    svc = config.services
    if svc.monitoring.enabled and not svc.external_secrets.enabled:
        yield Finding(
            ("services", "external_secrets", "enabled"),
            "monitoring reads Grafana's admin password from Vault through External Secrets, "
            "which is disabled",
            "enable services.external_secrets or disable services.monitoring",
        )


@check("velero-target")
def velero_needs_target(config: HomelabConfig) -> Iterator[Finding]:
    """Velero needs a backup target and unique schedule names."""
    velero = config.services.velero
    if not velero.enabled:
        return
    if velero.target is None:
        yield Finding(
            ("services", "velero"),
            "Velero is enabled but has no backup target",
            "add services.velero.target with bucket (and s3_url for MinIO), or disable velero",
        )
    names: set[str] = set()
    for i, schedule in enumerate(velero.schedules):
        if schedule.name in names:
            yield Finding(
                ("services", "velero", "schedules", i, "name"), f"schedule '{schedule.name}' twice", ""
            )
        names.add(schedule.name)


@check("vault-shares")
def vault_threshold(config: HomelabConfig) -> Iterator[Finding]:
    """Vault's unseal threshold is at most the number of shares; raft wants an odd member count."""
    vault = config.services.vault
    if vault.key_threshold > vault.key_shares:
        yield Finding(
            ("services", "vault", "key_threshold"),
            f"threshold {vault.key_threshold} exceeds {vault.key_shares} key shares",
            "Vault could never be unsealed; lower the threshold",
        )
    if vault.enabled and vault.replicas % 2 == 0:
        yield Finding(
            ("services", "vault", "replicas"),
            f"{vault.replicas} raft members tolerate no more failures than one less",
            "use an odd count",
            "warning",
        )


@check("consul-quorum")
def consul_quorum(config: HomelabConfig) -> Iterator[Finding]:
    """Consul servers form a raft quorum: an odd count is recommended."""
    consul = config.services.consul
    if consul.enabled and consul.replicas % 2 == 0:
        yield Finding(
            ("services", "consul", "replicas"),
            f"{consul.replicas} Consul servers tolerate no more failures than one less",
            "use an odd count",
            "warning",
        )


@check("acme-settings")
def acme_needs_settings(config: HomelabConfig) -> Iterator[Finding]:
    """The ACME issuer needs its settings."""
    cm = config.services.cert_manager
    if cm.enabled and cm.issuer == "acme" and cm.acme is None:
        yield Finding(
            ("services", "cert_manager", "issuer"),
            "issuer 'acme' needs services.cert_manager.acme",
            "add acme: {email: you@example.com, dns_provider: cloudflare}",
        )


@check("longhorn-advice")
def longhorn_recommended(config: HomelabConfig) -> Iterator[Finding]:
    """With several agents or Proxmox hosts, replicated storage (Longhorn) is recommended."""
    if config.services.longhorn.enabled:
        return
    if config.cluster.agents.count > 1 or len(config.proxmox.hosts) > 1:
        yield Finding(
            ("services", "longhorn"),
            "volumes use node-local storage (local-path): a pod moved to another node loses its data",
            "set services.longhorn.enabled: true",
            "info",
        )


@check("app-names")
def app_names_unique(config: HomelabConfig) -> Iterator[Finding]:
    """App names are unique and each app has exactly one source."""
    seen: set[str] = set()
    for i, app in enumerate(config.apps):
        if app.name in seen:
            yield Finding(("apps", i, "name"), f"app '{app.name}' is defined twice", "")
        seen.add(app.name)
        if (app.chart is None) == (app.manifests is None):
            yield Finding(("apps", i), "set exactly one of 'chart' and 'manifests'", "")


KUBERNETES_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@check("app-reserved-names")
def app_names_not_reserved(config: HomelabConfig) -> Iterator[Finding]:
    """An app's name and namespace do not take a core service's name or namespace."""
    entries = enabled_entries(config)
    # Manifests spell service names with '-' (cert-manager) where the config has '_'.
    # `root` is the app-of-apps Application itself.
    names = {n for key in REGISTRY for n in (key, key.replace("_", "-"))} | {"root"}
    companions = {f"{key.replace('_', '-')}-{part}": key for key in REGISTRY for part in COMPANION_PARTS}
    namespaces = {e.namespace: e.name for e in entries}
    for i, app in enumerate(config.apps):
        if app.name in names:
            yield Finding(
                ("apps", i, "name"),
                f"'{app.name}' is the name of a core service",
                "rename the app: its ArgoCD Application would replace the service's",
            )
        elif app.name in companions:
            yield Finding(
                ("apps", i, "name"),
                f"'{app.name}' is the name of an Application of the core service {companions[app.name]}",
                "rename the app: its ArgoCD Application would replace the service's",
            )
        namespace = app.namespace or app.name
        key = "namespace" if app.namespace else "name"
        if namespace in namespaces:
            yield Finding(
                ("apps", i, key),
                f"namespace '{namespace}' belongs to the core service {namespaces[namespace]}",
                "set apps[].namespace to a namespace of its own",
            )
        elif namespace in KUBERNETES_NAMESPACES:
            yield Finding(
                ("apps", i, key),
                f"namespace '{namespace}' is a Kubernetes system namespace",
                "set apps[].namespace to a namespace of its own",
            )
