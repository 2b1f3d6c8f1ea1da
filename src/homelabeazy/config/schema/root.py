"""`homelab.yaml` as a whole: the root model."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from homelabeazy.config.schema.apps import AppConfig
from homelabeazy.config.schema.ci import CiConfig
from homelabeazy.config.schema.cluster import AnsibleConfig, ClusterConfig
from homelabeazy.config.schema.fields import DnsName, Label, Section, pattern
from homelabeazy.config.schema.gitops import GitopsConfig
from homelabeazy.config.schema.identity import GroupConfig, UserConfig
from homelabeazy.config.schema.network import NetworkConfig
from homelabeazy.config.schema.proxmox import ProxmoxConfig
from homelabeazy.config.schema.services import ServicesConfig
from homelabeazy.config.schema.unmanaged import UnmanagedGuest


class HomelabConfig(Section):
    """homelab.yaml: everything that describes one homelab."""

    name: Label
    """Short name of this homelab (used in tags, Terraform and ArgoCD project names)."""
    domain: DnsName
    """DNS domain every route lives under, e.g. `home.example.com`."""
    timezone: Annotated[
        str,
        pattern(
            r"^[A-Za-z_]{1,32}(/[A-Za-z0-9_+-]{1,32}){0,3}$", "must be an IANA time zone like Europe/Berlin"
        ),
    ] = "UTC"
    """IANA time zone of the nodes, e.g. `Europe/Berlin`."""
    proxmox: ProxmoxConfig
    """Proxmox API and hosts."""
    network: NetworkConfig
    """VLANs, DNS, firewall."""
    cluster: ClusterConfig
    """K3s cluster."""
    gitops: GitopsConfig
    """GitOps repository."""
    ansible: AnsibleConfig = Field(default_factory=AnsibleConfig)
    """Ansible collection pins."""
    ci: CiConfig = Field(default_factory=CiConfig)
    """The rendered CI workflows' action pins."""
    services: ServicesConfig = Field(default_factory=ServicesConfig)
    """Core services."""
    apps: list[AppConfig] = Field(default_factory=list)
    """Your applications."""
    groups: list[GroupConfig] = Field(default_factory=list)
    """LDAP groups."""
    users: list[UserConfig] = Field(default_factory=list)
    """LDAP users."""
    unmanaged: list[UnmanagedGuest] = Field(default_factory=list)
    """Existing Proxmox guests outside this homelab's control (written by `homelab import --record`)."""


ProxmoxConfig.model_rebuild()
