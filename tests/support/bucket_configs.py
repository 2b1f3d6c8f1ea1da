"""The example's config with Velero's bucket and the backups' settings changed, for the rules that
decide where backups may go (model/velero_bucket, dr_backups, etcd_snapshots and their checks).

Copies (pydantic `model_copy`), not validation: each rule is judged on exactly what it is given,
including combinations the checks would refuse.
"""

from __future__ import annotations

from typing import Any

from homelabeazy.config.schema import HomelabConfig


def with_backups(
    config: HomelabConfig,
    *,
    prefix: str | None = "velero",
    velero: bool = True,
    s3_url: str | None = "https://minio.home.example.com",
    vault: dict[str, Any] | None = None,
    ldap: dict[str, Any] | None = None,
    etcd: dict[str, Any] | None = None,
) -> HomelabConfig:
    """`config` with Velero's prefix (None: no target at all), Velero on or off, and the backups'
    settings changed. Copies, not validation: the rules are judged on what they are given."""
    services = config.services
    target = None
    if prefix is not None:
        assert services.velero.target is not None
        target = services.velero.target.model_copy(update={"prefix": prefix, "s3_url": s3_url})
    vault_cfg = services.vault.model_copy(
        update={"snapshots": services.vault.snapshots.model_copy(update=vault or {})}
        | ({"enabled": vault["service"]} if vault and "service" in vault else {})
    )
    ldap_cfg = services.openldap.model_copy(
        update={"exports": services.openldap.exports.model_copy(update=ldap or {})}
        | ({"enabled": ldap["service"]} if ldap and "service" in ldap else {})
    )
    new_services = services.model_copy(
        update={
            "velero": services.velero.model_copy(update={"enabled": velero, "target": target}),
            "vault": vault_cfg,
            "openldap": ldap_cfg,
        }
    )
    cluster = config.cluster.model_copy(
        update={"etcd_snapshots": config.cluster.etcd_snapshots.model_copy(update=etcd or {})}
    )
    return config.model_copy(update={"services": new_services, "cluster": cluster})
