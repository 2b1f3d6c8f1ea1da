"""Where the disaster-recovery backups go, and whether they are taken: decided once here.

Vault's raft snapshots and the directory's LDIF exports (the CronJobs, `homelab secrets snapshot`,
`homelab users export`, the drill and `status`) share Velero's bucket, endpoint and keys, but live
BESIDE Velero's backup store, at the bucket's root under `homelab-dr/`, never under Velero's
`prefix`. Velero checks its store: any top-level folder under its prefix (or under the bucket's root
when the prefix is empty) that is not one of its own marks the BackupStorageLocation Unavailable and
stops every backup. So the backups are only safe when Velero's prefix is set (and is not
`homelab-dr` itself): then the bucket's root is not Velero's, and `homelab-dr/` sits next to it.
"""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.velero_bucket import velero_clash

FOLDER = "homelab-dr"
"""The top-level folder of the bucket holding every disaster-recovery backup, beside Velero's prefix."""

PREFIX_FIX = "set services.velero.target.prefix, e.g. `prefix: velero`"
"""How to make the bucket safe to share (the hint of every finding and refusal about it)."""


def bucket_blocker(config: HomelabConfig) -> str | None:
    """Why the backups cannot go to Velero's bucket, or None when `homelab-dr/` is safe there."""
    velero = config.services.velero
    if not velero.enabled or velero.target is None:
        return "services.velero has no S3 target (the backups use Velero's bucket, endpoint and keys)"
    clash = velero_clash(velero.target, FOLDER)
    if clash == "root":
        return (
            f"Velero owns the root of bucket {velero.target.bucket} (services.velero.target.prefix is "
            f"empty) and marks its storage location Unavailable when another folder ({FOLDER}/) appears there"
        )
    if clash == "inside":
        prefix = velero.target.prefix.strip("/")
        return (
            f"services.velero.target.prefix {prefix!r} puts Velero's store inside {FOLDER}/, the "
            "backups' own folder; Velero would mark its storage location Unavailable"
        )
    return None


def _wanted(enabled: bool | None, config: HomelabConfig) -> bool:
    """An explicit choice stands only when it is safe (the checks refuse an unsafe `true`)."""
    return (enabled is not False) and bucket_blocker(config) is None


def vault_snapshots_on(config: HomelabConfig) -> bool:
    """Scheduled raft snapshots are taken: Vault is on, not switched off, and the bucket is safe."""
    vault = config.services.vault
    return vault.enabled and _wanted(vault.snapshots.enabled, config)


def ldap_exports_on(config: HomelabConfig) -> bool:
    """Scheduled LDIF exports are taken: OpenLDAP is on, not switched off, and the bucket is safe."""
    openldap = config.services.openldap
    return openldap.enabled and _wanted(openldap.exports.enabled, config)
