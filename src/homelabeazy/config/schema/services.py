"""`services:` the core services, each switched on or off, pinned, and given its settings."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from homelabeazy.config.schema.fields import (
    ChartVersion,
    Cron,
    DnsName,
    Duration,
    Email,
    FreeText,
    HelmValues,
    HostName,
    IPv4,
    Label,
    Mailbox,
    Region,
    Section,
    Size,
    pattern,
    url,
)

Access = Literal["public", "one_factor", "two_factor", "group"]


class ServiceBase(Section):
    """Common to every core service: on/off, and its chart's version and values.

    Every core service is one Helm chart (its catalog module, `model/catalog/<service>.py`, names
    it and pins the tested version).
    """

    enabled: bool = True
    """Deploy this service."""
    version: ChartVersion | None = None
    """Version of the service's Helm chart. Omitted: the version homelabeazy is tested with
    (`homelab init` writes it out, so Renovate can propose updates as pull requests). The
    chart's ArgoCD Application and `validate --deep` use this version."""
    values: HelmValues = Field(default_factory=dict)
    """Helm values deep-merged OVER the values homelabeazy renders for this chart
    (`<gitops.path>/values/<service>.yaml` shows the result): ours are the base, a mapping here
    merges key by key into ours, any other value (a list, a scalar, `null`) replaces ours at
    that key. Values the homelab itself depends on (listeners, ports, names its routes, network
    policies and health checks rely on, or a setting that has its own key under this service)
    cannot be overridden: `homelab validate` names the key, what depends on it, and what to do.
    `homelab validate --deep` checks what the homelab relies on in the objects the chart renders
    with these values (the admin password from Vault, no dev mode, its addresses and routes) and
    names the key that breaks it."""


class ArgocdConfig(ServiceBase):
    """ArgoCD, which then manages itself and everything else."""

    host: HostName = "argocd"
    """Web UI host."""


class TraefikConfig(ServiceBase):
    """Traefik, the ingress in front of everything."""

    dashboard_host: HostName = "traefik"
    """Dashboard host (always behind SSO)."""
    replicas: int = Field(default=2, ge=1, le=10)
    """Traefik pods."""
    loadbalancer_ip: IPv4 | None = None
    """Fixed LoadBalancer IP; defaults to the first address of the LoadBalancer range."""


class SmtpTls(Section):
    """How Authelia checks the mail server's TLS certificate."""

    server_name: DnsName | None = None
    """Name to check the certificate against; defaults to `host`."""
    skip_verify: bool = False
    """Accept any certificate. Only for a lab server with a self-signed certificate."""
    minimum_version: Literal["TLS1.2", "TLS1.3"] = "TLS1.2"
    """Oldest TLS version accepted."""


class AutheliaSmtp(Section):
    """The mail server Authelia sends one-time codes through (2FA registration, password reset).

    The password is never in this file: it is an external secret you write once to Vault at
    `<kv_mount>/authelia/smtp`, key `password` (`homelab secrets seed` prints the command), and
    External Secrets syncs it into the cluster.
    """

    host: DnsName
    """Mail server name or IPv4 address, e.g. `smtp.fastmail.com`."""
    port: int | None = Field(default=None, ge=1, le=65535)
    """Server port; defaults to 587 with `security: starttls`, 465 with `security: tls`."""
    security: Literal["starttls", "tls"] = "starttls"
    """`starttls`: plain connection upgraded with STARTTLS (submission, port 587); `tls`: TLS from
    the first byte (submissions, port 465). Authelia refuses to send without TLS either way."""
    sender: Mailbox
    """From address, e.g. `auth@example.com`."""
    username: FreeText | None = Field(default=None, min_length=1)
    """Login of the SMTP account; omit for a relay that needs none (then no password is read)."""
    tls: SmtpTls = Field(default_factory=SmtpTls)
    """Certificate checks."""


class AutheliaConfig(ServiceBase):
    """Authelia SSO and 2FA, backed by OpenLDAP."""

    host: HostName = "auth"
    """Login portal host."""
    default_policy: Literal["one_factor", "two_factor"] = "two_factor"
    """Policy for protected routes that do not say otherwise."""
    session_expiration: Duration = "1h"
    """Session lifetime."""
    session_inactivity: Duration = "5m"
    """Idle time after which a session ends."""
    smtp: AutheliaSmtp | None = None
    """Send 2FA registration and password reset codes by e-mail. Default (omitted): the filesystem
    notifier, which writes them to `/config/notification.txt` inside the Authelia pod, where only
    an admin with kubectl can read them (`homelab validate` warns about that)."""


class LdapExports(Section):
    """Scheduled LDIF exports of the directory into Velero's bucket, beside Velero's own folder
    (`homelab-dr/ldap-ldif/` at the bucket's root)."""

    enabled: bool | None = None
    """Take them. Unset: on when that is safe, i.e. Velero has a target whose `prefix` is set (with
    no prefix Velero owns the bucket's root and marks a bucket holding other folders Unavailable)."""
    schedule: Cron = "30 */6 * * *"
    """Cron expression (UTC)."""
    keep: int = Field(default=28, ge=1, le=10000)
    """How many exports to keep; older ones are deleted after each new one."""


class OpenldapConfig(ServiceBase):
    """OpenLDAP, the user directory."""

    storage: Size = "1Gi"
    """Volume size for the directory database."""
    exports: LdapExports = Field(default_factory=LdapExports)
    """Scheduled LDIF exports to S3, password hashes included (`homelab users import --latest`
    restores the newest)."""
    organisation: FreeText = Field(default="Homelab", min_length=1)
    """Organisation name of the base entry."""


def _check_age_recipient(value: str) -> str:
    """An age X25519 public key; a pasted private key is refused without being echoed."""
    if value.upper().startswith("AGE-SECRET-KEY-"):
        raise ValueError(
            "is an age identity (a private key), not a recipient: never put it in homelab.yaml; "
            "write its public key instead (`age-keygen -y KEYFILE` prints it)"
        )
    import pyrage  # noqa: PLC0415 - a native extension, loaded only when a recipient is given

    try:
        pyrage.x25519.Recipient.from_str(value)
    except pyrage.RecipientError as exc:
        raise ValueError(
            f"{value!r} is not an age X25519 public key ({exc}): it looks like age1 followed by 58 "
            "characters; `age-keygen -y KEYFILE` prints yours"
        ) from None
    return value


AgeRecipient = Annotated[str, AfterValidator(_check_age_recipient)]


class VaultSnapshots(Section):
    """Scheduled raft snapshots of Vault into Velero's bucket, beside Velero's own folder
    (`homelab-dr/vault-raft/` at the bucket's root)."""

    enabled: bool | None = None
    """Take them. Unset: on when that is safe, i.e. Velero has a target whose `prefix` is set (with
    no prefix Velero owns the bucket's root and marks a bucket holding other folders Unavailable)."""
    schedule: Cron = "15 */6 * * *"
    """Cron expression (UTC)."""
    keep: int = Field(default=28, ge=1, le=10000)
    """How many snapshots to keep; older ones are deleted after each new one."""


class VaultConfig(ServiceBase):
    """Vault (HA raft) for every secret."""

    host: HostName = "vault"
    """UI host."""
    replicas: int = Field(default=3, ge=1, le=7)
    """Raft members (1, 3 or 5 recommended)."""
    storage: Size = "10Gi"
    """Raft volume size per member."""
    kv_mount: Label = "homelab"
    """KV v2 mount holding the homelab's secrets."""
    key_shares: int = Field(default=5, ge=1, le=10)
    """Shamir unseal key shares."""
    key_threshold: int = Field(default=3, ge=1, le=10)
    """Shares needed to unseal."""
    snapshots: VaultSnapshots = Field(default_factory=VaultSnapshots)
    """Scheduled raft snapshots to S3 (`homelab secrets restore --latest` restores the newest)."""
    age_recipients: list[AgeRecipient] = Field(default_factory=list)
    """age public keys (age1…) `homelab secrets backup` encrypts the bootstrap file (unseal keys,
    root token) to; keep the matching identities off this machine (a password manager)."""


class BackupTarget(Section):
    """S3-compatible object storage for Velero backups."""

    provider: Literal["aws"] = "aws"
    """Velero object store plugin (`aws` serves every S3-compatible store)."""
    bucket: Label
    """Bucket name."""
    prefix: Annotated[
        str,
        pattern(
            r"^([A-Za-z0-9_-][A-Za-z0-9._-]{0,62}(/[A-Za-z0-9_-][A-Za-z0-9._-]{0,62}){0,7})?$",
            "must be a folder inside the bucket: '/'-separated names of letters, digits, '.', '_' and '-'",
        ),
    ] = ""
    """Folder inside the bucket for Velero's store. Set it (e.g. `velero`): Velero marks a store
    holding folders not its own Unavailable, so the disaster-recovery backups (`homelab-dr/`) and
    etcd snapshots go beside it, at the bucket's root, and only when the root is not Velero's."""
    region: Region = "us-east-1"
    """Region (any name for MinIO, e.g. `us-east-1`)."""
    s3_url: (
        Annotated[
            str,
            url(
                "https",
                "http",
                secrets_go="the bucket's keys are a Vault secret (`velero/s3`: access_key_id, "
                "secret_access_key), seeded with `homelab secrets`",
            ),
        ]
        | None
    ) = None
    """Endpoint of a non-AWS store (MinIO, Garage, Ceph RGW)."""


class BackupSchedule(Section):
    """A recurring Velero backup."""

    name: Label
    """Schedule name."""
    cron: Cron
    """Cron expression (UTC)."""
    ttl: Duration = "720h"
    """How long each backup is kept."""
    include_namespaces: list[Label | Literal["*"]] = Field(default_factory=lambda: ["*"])
    """Namespaces to back up (`*` for all)."""


class VeleroConfig(ServiceBase):
    """Velero backups of cluster resources and volumes."""

    target: BackupTarget | None = None
    """Where backups go; required when Velero is enabled."""
    schedules: list[BackupSchedule] = Field(
        default_factory=lambda: [BackupSchedule(name="daily", cron="0 3 * * *", ttl="720h")]
    )
    """Backup schedules."""
    volume_backup: bool = True
    """Back up volume contents with file-system backup (node agent)."""


class EfkConfig(ServiceBase):
    """Elasticsearch, Fluentd and Kibana for logs."""

    host: HostName = "kibana"
    """Kibana host."""
    storage: Size = "30Gi"
    """Elasticsearch volume size per node."""
    retention_days: int = Field(default=14, ge=1, le=3650)
    """Days logs are kept before the index lifecycle deletes them."""
    elasticsearch_nodes: int = Field(default=1, ge=1, le=9)
    """Elasticsearch nodes."""


class ConsulConfig(ServiceBase):
    """Consul for service discovery and DNS."""

    host: HostName = "consul"
    """UI host."""
    replicas: int = Field(default=3, ge=1, le=7)
    """Consul servers (odd)."""
    sync_catalog: bool = True
    """Register every Kubernetes service in Consul."""


class AcmeConfig(Section):
    """Let's Encrypt through a DNS-01 challenge."""

    email: Email
    """Account e-mail."""
    server: Annotated[
        str,
        url(
            "https",
            secrets_go="an ACME account key is created by cert-manager; an EAB key belongs in a Secret, "
            "never in the directory URL",
        ),
    ] = "https://acme-v02.api.letsencrypt.org/directory"
    """ACME directory URL."""
    dns_provider: Literal["cloudflare", "route53"] = "cloudflare"
    """DNS provider solving the challenge (its API token comes from Vault)."""


class CertManagerConfig(ServiceBase):
    """cert-manager issuing every route's certificate."""

    issuer: Literal["internal_ca", "acme"] = "internal_ca"
    """`internal_ca`: a self-signed CA inside the cluster; `acme`: Let's Encrypt via DNS-01."""
    acme: AcmeConfig | None = None
    """ACME settings; required when `issuer: acme`."""


class MetallbConfig(ServiceBase):
    """MetalLB announcing LoadBalancer IPs on the services VLAN (L2)."""


class ExternalSecretsConfig(ServiceBase):
    """External Secrets Operator syncing Vault secrets into Kubernetes."""


class LonghornConfig(ServiceBase):
    """Longhorn replicated storage (instead of K3s local-path)."""

    enabled: bool = False
    """Deploy Longhorn and make it the default StorageClass."""
    host: HostName = "longhorn"
    """UI host (behind SSO)."""
    replicas: int = Field(default=2, ge=1, le=5)
    """Replicas per volume."""


class DnsGatewayConfig(ServiceBase):
    """k8s-gateway: answers the homelab's route names in the cluster; pfSense forwards the domain to it."""

    enabled: bool = False
    """Deploy it. Then pfSense keeps host overrides only for the API and the nodes and forwards the
    rest of the domain here, so a new app resolves once ArgoCD syncs, with no pfSense run."""
    loadbalancer_ip: IPv4 | None = None
    """Its LoadBalancer IP (DNS on port 53); defaults to the first address of the LoadBalancer range
    Traefik does not use."""


class ExternalDnsConfig(ServiceBase):
    """external-dns: publishes the `public: true` routes in a Cloudflare-hosted zone.

    The zone is `domain`, created at Cloudflare by hand; the API token (Zone:Read and DNS:Edit on
    that zone only) is an external secret written to Vault at `external-dns/cloudflare`
    (`api_token`). Each public route becomes a proxied CNAME to the Cloudflare tunnel.
    """

    enabled: bool = False
    """Deploy it (needs `services.cloudflare_tunnel`: nothing in the LAN is published directly)."""


class CloudflareTunnelConfig(ServiceBase):
    """cloudflared: an outbound tunnel from the cluster to Cloudflare's edge, into Traefik.

    A remotely-managed tunnel created by hand in the Cloudflare dashboard; its token is an external
    secret written to Vault at `cloudflare-tunnel/token` (`tunnel_token`). Public requests go
    through Traefik, so Authelia still guards every protected route.
    """

    enabled: bool = False
    """Deploy it."""
    tunnel_id: (
        Annotated[
            str,
            pattern(
                r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                "must be a tunnel UUID like 6ff42ae2-765d-4adf-8112-31c55c1551ef (lowercase hex)",
            ),
        ]
        | None
    ) = None
    """The tunnel's UUID from the dashboard; public names become CNAMEs to `<tunnel_id>.cfargotunnel.com`.
    Required when enabled."""


class NtfyNotify(Section):
    """Push alerts to a ntfy topic (ntfy 2.10 or newer: it turns Alertmanager's JSON into a message)."""

    server: Annotated[
        str,
        url("https", "http", path=False, secrets_go="set `token: true`: the token is kept in Vault"),
    ] = "https://ntfy.sh"
    """ntfy server, scheme and host only."""
    topic: Annotated[
        str, pattern(r"^[A-Za-z0-9_-]{1,64}$", "must be a ntfy topic: letters, digits, '_' and '-'")
    ]
    """Topic to publish to (on ntfy.sh, anyone knowing it can read it: pick a long one or use a token)."""
    token: bool = False
    """Send an access token, kept in Vault at `<kv_mount>/monitoring/notify`, key `ntfy_token`."""


class EmailNotify(Section):
    """Send alerts by e-mail through an SMTP server (STARTTLS required)."""

    to: Mailbox
    """Recipient mailbox."""
    sender: Mailbox
    """From address."""
    host: DnsName
    """SMTP server name."""
    port: int = Field(default=587, ge=1, le=65535)
    """SMTP submission port."""
    username: FreeText | None = Field(default=None, min_length=1)
    """SMTP login; its password is in Vault at `<kv_mount>/monitoring/notify`, key `smtp_password`."""


class WebhookNotify(Section):
    """POST Alertmanager's JSON to a URL of your own."""

    url: Annotated[str, url("https", "http", secrets_go="set `token: true`: the token is kept in Vault")]
    """Endpoint (no query: anything secret goes in the token)."""
    token: bool = False
    """Send `Authorization: Bearer <token>`, the token kept in Vault at `<kv_mount>/monitoring/notify`,
    key `webhook_token`."""


class NotifyConfig(Section):
    """Where Alertmanager sends alerts; every receiver set here gets every alert."""

    ntfy: NtfyNotify | None = None
    """Push notifications through ntfy."""
    email: EmailNotify | None = None
    """E-mail."""
    webhook: WebhookNotify | None = None
    """A webhook."""


class MonitoringConfig(ServiceBase):
    """Prometheus, Alertmanager and Grafana (kube-prometheus-stack) with this homelab's alert rules."""

    enabled: bool = False
    """Deploy it. Off by default for now: its chart renders and converges with its published
    subcharts (the convergence tests prove it); turning it on by default is a change of its own."""

    host: HostName = "grafana"
    """Grafana host (behind SSO, admins only)."""
    retention_days: int = Field(default=15, ge=1, le=3650)
    """Days Prometheus keeps samples."""
    storage: Size = "20Gi"
    """Prometheus volume; Prometheus also deletes the oldest data once it fills 90 % of it."""
    alertmanager_storage: Size = "1Gi"
    """Alertmanager volume (silences and notification log)."""
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    """Alert receivers; with none set, alerts are only shown in Alertmanager, Grafana and `homelab status`."""


class ServicesConfig(Section):
    """The core services; each can be turned off."""

    argocd: ArgocdConfig = Field(default_factory=ArgocdConfig)
    """ArgoCD."""
    metallb: MetallbConfig = Field(default_factory=MetallbConfig)
    """MetalLB."""
    cert_manager: CertManagerConfig = Field(default_factory=CertManagerConfig)
    """cert-manager."""
    traefik: TraefikConfig = Field(default_factory=TraefikConfig)
    """Traefik."""
    openldap: OpenldapConfig = Field(default_factory=OpenldapConfig)
    """OpenLDAP."""
    vault: VaultConfig = Field(default_factory=VaultConfig)
    """Vault."""
    external_secrets: ExternalSecretsConfig = Field(default_factory=ExternalSecretsConfig)
    """External Secrets Operator."""
    authelia: AutheliaConfig = Field(default_factory=AutheliaConfig)
    """Authelia."""
    consul: ConsulConfig = Field(default_factory=ConsulConfig)
    """Consul."""
    velero: VeleroConfig = Field(default_factory=VeleroConfig)
    """Velero."""
    efk: EfkConfig = Field(default_factory=EfkConfig)
    """EFK logging."""
    longhorn: LonghornConfig = Field(default_factory=LonghornConfig)
    """Longhorn."""
    dns_gateway: DnsGatewayConfig = Field(default_factory=DnsGatewayConfig)
    """k8s-gateway, the in-cluster DNS for the homelab domain."""
    external_dns: ExternalDnsConfig = Field(default_factory=ExternalDnsConfig)
    """external-dns for the public routes (Cloudflare)."""
    cloudflare_tunnel: CloudflareTunnelConfig = Field(default_factory=CloudflareTunnelConfig)
    """A Cloudflare tunnel into Traefik for the public routes."""
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    """Monitoring and alerting."""
