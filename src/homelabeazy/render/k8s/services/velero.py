"""Velero: the S3 backup location, the schedules with their TTLs, file-system backup of volumes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from homelabeazy.config.schema import BackupTarget
from homelabeazy.model import Homelab
from homelabeazy.model.catalog.velero import LOCATION, PLUGIN_IMAGE, S3_PATH
from homelabeazy.model.service import ServiceEntry, secret_name
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.objects import Manifest, meta, obj
from homelabeazy.render.k8s.services.common import new_bundle, secret_spec, synced_secret

AWS_PLUGIN = f"{PLUGIN_IMAGE}:v1.13.1"
CREDENTIALS_KEY = "cloud"
CREDENTIALS_TEMPLATE = (
    "[default]\naws_access_key_id={{ .access_key_id }}\naws_secret_access_key={{ .secret_access_key }}\n"
)
"""The AWS credentials file the plugin reads, rendered by the operator (placeholders only)."""


def _target(homelab: Homelab) -> BackupTarget:
    target = homelab.config.services.velero.target
    if target is None:  # the velero-target check refuses this before render
        raise ValueError("services.velero.target is missing")
    return target


def s3_port(target: BackupTarget) -> int:
    """The TCP port the bucket is reached on (from s3_url; AWS is HTTPS)."""
    if target.s3_url is None:
        return 443
    url = urlsplit(target.s3_url)
    return url.port or (80 if url.scheme == "http" else 443)


def values(homelab: Homelab, entry: ServiceEntry) -> dict[str, Any]:
    """The backup location lives in the chart values; the chart creates it with the CRDs."""
    target = _target(homelab)
    config: dict[str, Any] = {"region": target.region}
    if target.s3_url is not None:
        config.update({"s3ForcePathStyle": "true", "s3Url": target.s3_url})
    location: dict[str, Any] = {
        "name": LOCATION,
        "provider": target.provider,
        "bucket": target.bucket,
        "default": True,
        "config": config,
    }
    if target.prefix:
        location["prefix"] = target.prefix
    volume_backup = homelab.config.services.velero.volume_backup
    return {
        "initContainers": [
            {
                "name": "velero-plugin-for-aws",
                "image": AWS_PLUGIN,
                "volumeMounts": [{"mountPath": "/target", "name": "plugins"}],
            }
        ],
        "configuration": {
            "backupStorageLocation": [location],
            "volumeSnapshotLocation": [],
            "uploaderType": "kopia",
            "defaultVolumesToFsBackup": volume_backup,
        },
        "credentials": {"useSecret": True, "existingSecret": secret_name(secret_spec(entry, S3_PATH))},
        "snapshotsEnabled": False,
        "deployNodeAgent": volume_backup,
    }


def schedules(homelab: Homelab, namespace: str) -> list[Manifest]:
    """One Schedule per configured schedule, keeping each backup for its TTL."""
    config = homelab.config.services.velero
    return [
        obj(
            "velero.io/v1",
            "Schedule",
            meta(s.name, namespace),
            spec={
                "schedule": s.cron,
                "useOwnerReferencesInBackup": False,
                "template": {
                    "ttl": s.ttl,
                    "includedNamespaces": list(s.include_namespaces),
                    "storageLocation": LOCATION,
                    "defaultVolumesToFsBackup": config.volume_backup,
                },
            },
        )
        for s in config.schedules
    ]


def bundle(homelab: Homelab, entry: ServiceEntry) -> Bundle:
    """Reads every resource through the API, writes to the bucket."""
    result = new_bundle(entry, Needs(api=True, internet_ports=(s3_port(_target(homelab)),)))
    result.values = values(homelab, entry)
    result.add("schedules", *schedules(homelab, entry.namespace))
    result.add(
        "secrets",
        synced_secret(
            entry,
            S3_PATH,
            {"access_key_id": "access_key_id", "secret_access_key": "secret_access_key"},
            {CREDENTIALS_KEY: CREDENTIALS_TEMPLATE},
        ),
    )
    return result
