"""Velero: scheduled backups of resources and volumes to S3-compatible storage."""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.catalog.base import ChartPin, SecretSpec, ServiceEntry

CHART = ChartPin("https://vmware-tanzu.github.io/helm-charts", "velero", "12.1.0")


def entry(config: HomelabConfig) -> ServiceEntry:  # noqa: ARG001 - uniform catalog signature
    """The bucket credentials are the user's, so they are external: seeded by hand, checked by status."""
    return ServiceEntry(
        name="velero",
        title="Velero",
        namespace="velero",
        chart=CHART,
        crd_groups=("velero.io",),
        description="Backups of cluster resources and volumes",
        secrets=(
            SecretSpec(
                "velero/s3",
                ("access_key_id", "secret_access_key"),
                "velero",
                "credentials of the backup bucket",
                "external",
            ),
        ),
        depends_on=("external_secrets",),
    )
