"""Vault's scheduled raft snapshots: a CronJob writing `homelab-dr/vault-raft/<stamp>.snap` to the bucket.

`homelab-dr/` is at the bucket's root, beside Velero's prefix and never under it (Velero marks a
store holding foreign folders Unavailable); model/dr_backups decides when that is safe.

The layout is the CLI's (model/dr_artifacts): the object first, then its `.sha256` sidecar
("<digest>  <size>"), then the oldest snapshots beyond `keep` are deleted. Two containers, so
neither image needs the other's tools: Vault's own image logs in with Kubernetes auth as the
`vault-snapshot` role (policy: read sys/storage/raft/snapshot, nothing else) and saves the snapshot
into a memory-backed emptyDir; the AWS CLI uploads it with the bucket keys an ExternalSecret brings
from Vault (`velero/s3`, the keys Velero uses). These documents use External Secrets' CRD, which
syncs after Vault, so they form the deferrable `backups` stem (a companion Application).
"""

from __future__ import annotations

from typing import Any

from homelabeazy.config.schema import BackupTarget
from homelabeazy.model import Homelab
from homelabeazy.model.catalog.external_secrets import VAULT_AUTH_MOUNT
from homelabeazy.model.catalog.vault import ACTIVE_ADDRESS, SNAPSHOT_LABELS, SNAPSHOT_NAME
from homelabeazy.model.catalog.velero import S3_PATH
from homelabeazy.model.dr_artifacts import SIDECAR_SUFFIX, VAULT_RAFT, kind_prefix
from homelabeazy.render.k8s.netpol import CLUSTER_POD_CIDR, CLUSTER_SERVICE_CIDR
from homelabeazy.render.k8s.objects import Manifest, external_secret, meta, obj, secret_key_ref
from homelabeazy.render.k8s.services.velero import s3_port

STEM = "backups"
VAULT_IMAGE = "hashicorp/vault:2.0.4"
"""The server's own image (the chart's default): its CLI speaks the same API version."""
AWS_CLI_IMAGE = "amazon/aws-cli:2.27.0"
CREDENTIALS_SECRET = f"{SNAPSHOT_NAME}-s3"
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"  # noqa: S105 - a file path

SNAPSHOT_SCRIPT = f"""set -eu
VAULT_TOKEN="$(vault write -field=token auth/{VAULT_AUTH_MOUNT}/login role={SNAPSHOT_NAME} jwt=@{TOKEN_PATH})"
export VAULT_TOKEN
vault operator raft snapshot save /backup/vault.snap
"""
"""Log in as the snapshot role and save the snapshot; the token lives only in this shell."""

UPLOAD_SCRIPT = f"""set -eu
aws configure set default.s3.addressing_style "$S3_ADDRESSING"
endpoint=""
if [ -n "${{S3_ENDPOINT:-}}" ]; then endpoint="--endpoint-url=$S3_ENDPOINT"; fi
folder="${{S3_FOLDER}}/"
key="${{folder}}$(date -u +%Y%m%dT%H%M%SZ).snap"
aws $endpoint s3 cp --only-show-errors /backup/vault.snap "s3://$S3_BUCKET/$key"
printf '%s  %s\\n' "$(sha256sum /backup/vault.snap | cut -d' ' -f1)" "$(stat -c %s /backup/vault.snap)" \\
  > /backup/vault.snap{SIDECAR_SUFFIX}
aws $endpoint s3 cp --only-show-errors /backup/vault.snap{SIDECAR_SUFFIX} "s3://$S3_BUCKET/$key{SIDECAR_SUFFIX}"
stamped='^[0-9]{{8}}T[0-9]{{6}}Z[.]snap$'
aws $endpoint s3 ls "s3://$S3_BUCKET/$folder" | awk '{{print $4}}' | grep -E "$stamped" \\
  | sort | head -n "-$KEEP" | while read -r old; do
    aws $endpoint s3 rm --only-show-errors "s3://$S3_BUCKET/$folder$old{SIDECAR_SUFFIX}"
    aws $endpoint s3 rm --only-show-errors "s3://$S3_BUCKET/$folder$old"
  done
"""
"""Upload the snapshot, then its sidecar (the CLI's integrity rule), then prune beyond KEEP
(sidecar first, so a half-pruned snapshot is never taken for a complete one)."""

_RESTRICTED: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}


def _s3_env(target: BackupTarget) -> list[dict[str, Any]]:
    return [
        {"name": "S3_BUCKET", "value": target.bucket},
        # At the bucket's root, beside Velero's prefix: never inside Velero's store (model/dr_backups).
        {"name": "S3_FOLDER", "value": kind_prefix(VAULT_RAFT).rstrip("/")},
        {"name": "S3_ENDPOINT", "value": target.s3_url or ""},
        # MinIO and Garage serve buckets under the path; AWS under virtual hosts.
        {"name": "S3_ADDRESSING", "value": "path" if target.s3_url else "auto"},
        {"name": "AWS_DEFAULT_REGION", "value": target.region},
        # Newer AWS CLIs add CRC checksums by default, which several S3-compatible stores reject.
        {"name": "AWS_REQUEST_CHECKSUM_CALCULATION", "value": "when_required"},
        {"name": "AWS_RESPONSE_CHECKSUM_VALIDATION", "value": "when_required"},
        {"name": "HOME", "value": "/tmp"},  # noqa: S108 - an emptyDir: the CLI writes its config there
        {"name": "AWS_ACCESS_KEY_ID", "valueFrom": secret_key_ref(CREDENTIALS_SECRET, "AWS_ACCESS_KEY_ID")},
        {
            "name": "AWS_SECRET_ACCESS_KEY",
            "valueFrom": secret_key_ref(CREDENTIALS_SECRET, "AWS_SECRET_ACCESS_KEY"),
        },
    ]


def _pod(target: BackupTarget, keep: int) -> dict[str, Any]:
    mounts = [{"name": "backup", "mountPath": "/backup"}]
    return {
        "metadata": {"labels": dict(SNAPSHOT_LABELS)},
        "spec": {
            "serviceAccountName": SNAPSHOT_NAME,
            "restartPolicy": "OnFailure",
            "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "fsGroup": 65532},
            "initContainers": [
                {
                    "name": "snapshot",
                    "image": VAULT_IMAGE,
                    "command": ["/bin/sh", "-c", SNAPSHOT_SCRIPT],
                    "env": [{"name": "VAULT_ADDR", "value": ACTIVE_ADDRESS}],
                    "volumeMounts": mounts,
                    "securityContext": _RESTRICTED,
                }
            ],
            "containers": [
                {
                    "name": "upload",
                    "image": AWS_CLI_IMAGE,
                    "command": ["/bin/sh", "-c", UPLOAD_SCRIPT],
                    "env": [*_s3_env(target), {"name": "KEEP", "value": str(keep)}],
                    "volumeMounts": [*mounts, {"name": "home", "mountPath": "/tmp"}],  # noqa: S108
                    "securityContext": _RESTRICTED,
                }
            ],
            "volumes": [
                {"name": "backup", "emptyDir": {"medium": "Memory"}},
                {"name": "home", "emptyDir": {}},
            ],
        },
    }


def _egress_to_bucket(namespace: str, port: int) -> Manifest:
    """Only the snapshot pods may leave the cluster, and only to the bucket's port."""
    return obj(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        meta(f"allow-{SNAPSHOT_NAME}-s3", namespace),
        spec={
            "podSelector": {"matchLabels": dict(SNAPSHOT_LABELS)},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {"ipBlock": {"cidr": "0.0.0.0/0", "except": [CLUSTER_POD_CIDR, CLUSTER_SERVICE_CIDR]}}
                    ],
                    "ports": [{"protocol": "TCP", "port": port}],
                }
            ],
        },
    )


def snapshot_manifests(homelab: Homelab, namespace: str) -> list[Manifest]:
    """Service account, bucket keys, the CronJob and its egress policy."""
    target = homelab.config.services.velero.target
    if target is None:  # snapshots_enabled() is checked by the caller
        raise ValueError("services.velero.target is missing")
    schedule = homelab.config.services.vault.snapshots
    keys = {"AWS_ACCESS_KEY_ID": "access_key_id", "AWS_SECRET_ACCESS_KEY": "secret_access_key"}
    return [
        obj("v1", "ServiceAccount", meta(SNAPSHOT_NAME, namespace)),
        external_secret(CREDENTIALS_SECRET, namespace, S3_PATH, keys),
        obj(
            "batch/v1",
            "CronJob",
            meta(SNAPSHOT_NAME, namespace),
            spec={
                "schedule": schedule.schedule,
                "timeZone": "Etc/UTC",
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {"spec": {"backoffLimit": 2, "template": _pod(target, schedule.keep)}},
            },
        ),
        _egress_to_bucket(namespace, s3_port(target)),
    ]
