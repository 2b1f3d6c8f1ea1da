"""OpenLDAP: the user directory Authelia authenticates against."""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.catalog.base import STORAGE, ChartPin, SecretSpec, ServiceEntry

CHART = ChartPin("https://jp-gouin.github.io/helm-openldap", "openldap-stack-ha", "4.3.3")


def entry(config: HomelabConfig) -> ServiceEntry:  # noqa: ARG001 - uniform catalog signature
    """No web route: only Authelia and `homelab users` talk LDAP."""
    return ServiceEntry(
        name="openldap",
        title="OpenLDAP",
        namespace="openldap",
        chart=CHART,
        description="User and group directory",
        secrets=(
            SecretSpec(
                "openldap/admin", ("password", "config_password"), "openldap", "directory admin passwords"
            ),
        ),
        depends_on=(STORAGE,),
    )


REPLICAS = 1
"""Directory pods. One: Authelia's reads are light and Velero backs the volume up."""
REPLICATION_SCHEMAS = ("syncprov", "rep")
"""Schema files the chart loads only with `replication.enabled` (multi-master sync): a single
server configured so keeps retrying a sync with itself."""


def replication_enabled(replicas: int) -> bool:
    """Multi-master replication needs a second server to sync with."""
    return replicas > 1
