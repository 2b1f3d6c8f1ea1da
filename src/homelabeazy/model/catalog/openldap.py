"""OpenLDAP: the user directory Authelia authenticates against."""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.catalog.base import ChartPin, SecretSpec, ServiceEntry

CHART = ChartPin("https://jp-gouin.github.io/helm-openldap", "openldap-stack-ha", "4.3.3")


def entry(config: HomelabConfig) -> ServiceEntry:  # noqa: ARG001 - uniform catalog signature
    """No web route: only Authelia and `homelab users` talk LDAP."""
    return ServiceEntry(
        name="openldap",
        title="OpenLDAP",
        namespace="openldap",
        chart=CHART,
        wave=2,
        description="User and group directory",
        secrets=(
            SecretSpec(
                "openldap/admin", ("password", "config_password"), "openldap", "directory admin passwords"
            ),
        ),
    )
