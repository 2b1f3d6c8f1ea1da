"""`homelab backup now|list|restore`: Velero Backup and Restore resources through the Kubernetes API.

We create the same custom resources the `velero` CLI creates, so no velero binary is needed, and
wait for the Velero server to move them to a final phase.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.model import Homelab

NAMESPACE = "velero"
BACKUPS = f"/apis/velero.io/v1/namespaces/{NAMESPACE}/backups"
RESTORES = f"/apis/velero.io/v1/namespaces/{NAMESPACE}/restores"
DONE_PHASES = {"Completed"}
FAILED_PHASES = {"Failed", "PartiallyFailed", "FailedValidation"}


class VeleroApi(Protocol):
    """The Kubernetes calls backup needs (ops/kube.KubeAdapter provides them)."""

    def request(self, method: str, path: str, *, body: Any = None) -> Any:
        """One API call returning decoded JSON."""
        ...

    def list_items(self, path: str) -> list[dict[str, Any]]:
        """The items of a list endpoint."""
        ...


@dataclass(frozen=True)
class BackupInfo:
    """One Velero backup as `backup list` shows it."""

    name: str
    phase: str
    schedule: str
    started: str
    completed: str
    expires: str
    errors: int

    def as_dict(self) -> dict[str, Any]:
        """For --json."""
        return dict(self.__dict__)


def backup_name(homelab: Homelab, now: datetime) -> str:
    """`<homelab>-manual-20261123-174500`: sortable, and says it was not a scheduled one."""
    return f"{homelab.name}-manual-{now.strftime('%Y%m%d-%H%M%S')}"


def backup_manifest(homelab: Homelab, name: str) -> dict[str, Any]:
    """A Backup of every namespace, with the TTL of the first schedule (the user's retention)."""
    velero = homelab.config.services.velero
    ttl = velero.schedules[0].ttl if velero.schedules else "720h"
    return {
        "apiVersion": "velero.io/v1",
        "kind": "Backup",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/managed-by": "homelabeazy"},
        },
        "spec": {
            "includedNamespaces": ["*"],
            "ttl": _duration(ttl),
            "snapshotVolumes": velero.volume_backup,
            "defaultVolumesToFsBackup": velero.volume_backup,
        },
    }


def _duration(text: str) -> str:
    """Velero wants a Go duration; our config's are `720h`, `30m`, `7d` (days -> hours)."""
    if text.endswith("d") and text[:-1].isdigit():
        return f"{int(text[:-1]) * 24}h0m0s"
    return text


def restore_manifest(name: str, backup: str) -> dict[str, Any]:
    """A Restore of everything in `backup`."""
    return {
        "apiVersion": "velero.io/v1",
        "kind": "Restore",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/managed-by": "homelabeazy"},
        },
        "spec": {"backupName": backup, "includedNamespaces": ["*"]},
    }


def summarize(item: dict[str, Any]) -> BackupInfo:
    """A Backup object as a list row."""
    meta = item.get("metadata", {})
    status = item.get("status", {})
    return BackupInfo(
        name=str(meta.get("name", "?")),
        phase=str(status.get("phase", "New")),
        schedule=str(meta.get("labels", {}).get("velero.io/schedule-name", "")),
        started=str(status.get("startTimestamp", "")),
        completed=str(status.get("completionTimestamp", "")),
        expires=str(status.get("expiration", "")),
        errors=int(status.get("errors", 0) or 0),
    )


def list_backups(api: VeleroApi) -> list[BackupInfo]:
    """Every backup, newest first."""
    rows = [summarize(i) for i in api.list_items(BACKUPS)]
    return sorted(rows, key=lambda b: (b.started or "", b.name), reverse=True)


@dataclass
class Waiter:
    """Polls a Velero object until it reaches a final phase; clock and sleep injectable for tests."""

    timeout: float = 3600.0
    interval: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def wait(self, api: VeleroApi, path: str, what: str, progress: Callable[[str], None]) -> dict[str, Any]:
        """The object once Completed; ExternalSystemError when it failed or the deadline passed."""
        deadline = self.clock() + self.timeout
        while True:
            item = api.request("GET", path) or {}
            status = item.get("status", {})
            phase = status.get("phase", "New")
            progress(f"{what}: {phase}")
            if phase in DONE_PHASES:
                return dict(item)
            if phase in FAILED_PHASES:
                reason = status.get("failureReason") or f"{status.get('errors', 0)} error(s)"
                raise ExternalSystemError(
                    "velero",
                    what,
                    f"{phase}: {reason}",
                    f"see `velero {what.split(maxsplit=1)[0]} describe {item['metadata']['name']} --details`",
                )
            if self.clock() >= deadline:
                raise ExternalSystemError(
                    "velero",
                    what,
                    f"still {phase} after {self.timeout:g}s",
                    "is the Velero server running? `kubectl -n velero get pods`",
                )
            self.sleep(self.interval)


def backup_now(
    api: VeleroApi,
    homelab: Homelab,
    waiter: Waiter,
    progress: Callable[[str], None],
    now: datetime | None = None,
) -> BackupInfo:
    """Create a Backup and wait for it to complete."""
    if not homelab.enabled("velero"):
        raise UsageError("velero is disabled in homelab.yaml (services.velero.enabled: false)")
    name = backup_name(homelab, now or datetime.now(UTC))
    api.request("POST", BACKUPS, body=backup_manifest(homelab, name))
    return summarize(waiter.wait(api, f"{BACKUPS}/{name}", f"backup {name}", progress))


def restore(
    api: VeleroApi, backup: str, waiter: Waiter, progress: Callable[[str], None], now: datetime | None = None
) -> str:
    """Restore everything in `backup` (which must exist and be Completed); returns the Restore's name."""
    known = {b.name: b for b in list_backups(api)}
    found = known.get(backup)
    if found is None:
        hint = ", ".join(list(known)[:5]) or "none exist yet"
        raise UsageError(f"no backup called {backup!r} (newest: {hint}); see `homelab backup list`")
    if found.phase != "Completed":
        raise UsageError(f"backup {backup} is {found.phase}, not Completed: pick another one")
    name = f"{backup}-restore-{(now or datetime.now(UTC)).strftime('%Y%m%d-%H%M%S')}"
    api.request("POST", RESTORES, body=restore_manifest(name, backup))
    waiter.wait(api, f"{RESTORES}/{name}", f"restore {name}", progress)
    return name
