"""Semantic checks of where the disaster-recovery backups go (`services.vault.snapshots`,
`services.openldap.exports`)."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.checks.base import Finding, check
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.dr_backups import FOLDER, PREFIX_FIX, bucket_blocker


def _asked(config: HomelabConfig) -> Iterator[tuple[tuple[str, ...], str, bool | None]]:
    """Each backup kind of an enabled service: its `enabled` field, its name, and the user's choice."""
    services = config.services
    if services.vault.enabled:
        yield (
            ("services", "vault", "snapshots", "enabled"),
            "Vault raft snapshots",
            services.vault.snapshots.enabled,
        )
    if services.openldap.enabled:
        yield (
            ("services", "openldap", "exports", "enabled"),
            "LDAP exports",
            services.openldap.exports.enabled,
        )


@check("dr-backups-bucket")
def dr_backups_beside_velero(config: HomelabConfig) -> Iterator[Finding]:
    """DR backups go to Velero's bucket beside its store, so only when Velero's prefix is set."""
    blocker = bucket_blocker(config)
    if blocker is None:
        return
    unset = []
    for path, name, enabled in _asked(config):
        if enabled is True:
            yield Finding(
                path,
                f"{name} cannot go to S3: {blocker}",
                f"{PREFIX_FIX} (the backups then go to {FOLDER}/ beside it), or enabled: false",
            )
        elif enabled is None:
            unset.append(name)
    target = config.services.velero.target
    if unset and config.services.velero.enabled and target is not None:
        yield Finding(
            ("services", "velero", "target", "prefix"),
            f"{' and '.join(unset)} are off: {blocker}",
            f"{PREFIX_FIX} to turn them on (they go to {FOLDER}/ beside it), "
            "or set their `enabled: false` to say so",
            "info",
        )
