"""The one input: `homelab.yaml`, as pydantic models, one module per top-level section.

Every model forbids unknown keys (a typo must fail, not be ignored) and every field carries a
docstring: those docstrings become the JSON Schema descriptions editors show while typing
(config.starter reads them). Shape and format are checked here; rules that relate several fields
are the semantic checks (`homelabeazy.checks`). Every model is named here, so `config.starter`
finds each one and the rest of the code imports them from one place.
"""

from homelabeazy.config.schema.apps import AppConfig, HelmSource, ManifestSource
from homelabeazy.config.schema.ci import CiConfig
from homelabeazy.config.schema.cluster import (
    AnsibleConfig,
    ClusterConfig,
    EtcdSnapshots,
    NodeOverride,
    NodeSize,
    SshConfig,
)
from homelabeazy.config.schema.fields import DNS_LABEL, DNS_NAME, K3S_VERSION, Section
from homelabeazy.config.schema.gitops import GitopsConfig
from homelabeazy.config.schema.identity import GroupConfig, UserConfig
from homelabeazy.config.schema.network import (
    DnsRecordConfig,
    FirewallConfig,
    FirewallRule,
    NetworkConfig,
    PfsenseConfig,
    Vlan,
)
from homelabeazy.config.schema.proxmox import ProxmoxConfig, ProxmoxHost, S3State, VmImage, VmTemplate
from homelabeazy.config.schema.root import HomelabConfig
from homelabeazy.config.schema.services import (
    AcmeConfig,
    ArgocdConfig,
    AutheliaConfig,
    AutheliaSmtp,
    BackupSchedule,
    BackupTarget,
    CertManagerConfig,
    CloudflareTunnelConfig,
    ConsulConfig,
    DnsGatewayConfig,
    EfkConfig,
    EmailNotify,
    ExternalDnsConfig,
    ExternalSecretsConfig,
    LdapExports,
    LonghornConfig,
    MetallbConfig,
    MonitoringConfig,
    NotifyConfig,
    NtfyNotify,
    OpenldapConfig,
    ServiceBase,
    ServicesConfig,
    SmtpTls,
    TraefikConfig,
    VaultConfig,
    VaultSnapshots,
    VeleroConfig,
    WebhookNotify,
)
from homelabeazy.config.schema.unmanaged import UnmanagedGuest

__all__ = [
    "DNS_LABEL",
    "DNS_NAME",
    "K3S_VERSION",
    "AcmeConfig",
    "AnsibleConfig",
    "AppConfig",
    "ArgocdConfig",
    "AutheliaConfig",
    "AutheliaSmtp",
    "BackupSchedule",
    "BackupTarget",
    "CertManagerConfig",
    "CiConfig",
    "CloudflareTunnelConfig",
    "ClusterConfig",
    "ConsulConfig",
    "DnsGatewayConfig",
    "DnsRecordConfig",
    "EfkConfig",
    "EmailNotify",
    "EtcdSnapshots",
    "ExternalDnsConfig",
    "ExternalSecretsConfig",
    "FirewallConfig",
    "FirewallRule",
    "GitopsConfig",
    "GroupConfig",
    "HelmSource",
    "HomelabConfig",
    "LdapExports",
    "LonghornConfig",
    "ManifestSource",
    "MetallbConfig",
    "MonitoringConfig",
    "NetworkConfig",
    "NodeOverride",
    "NodeSize",
    "NotifyConfig",
    "NtfyNotify",
    "OpenldapConfig",
    "PfsenseConfig",
    "ProxmoxConfig",
    "ProxmoxHost",
    "S3State",
    "Section",
    "ServiceBase",
    "ServicesConfig",
    "SmtpTls",
    "SshConfig",
    "TraefikConfig",
    "UnmanagedGuest",
    "UserConfig",
    "VaultConfig",
    "VaultSnapshots",
    "VeleroConfig",
    "Vlan",
    "VmImage",
    "VmTemplate",
    "WebhookNotify",
]
