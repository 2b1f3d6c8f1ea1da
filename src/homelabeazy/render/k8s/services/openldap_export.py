"""The scheduled LDIF export of the directory into the backup bucket (`homelab-dr/ldap-ldif/`).

`homelab-dr/` is at the bucket's root, beside Velero's prefix and never under it (Velero marks a
store holding foreign folders Unavailable); model/dr_backups decides when that is safe.

A CronJob in the directory's namespace: an init container with the directory's own image runs
`ldapsearch` (paged, so no size limit cuts it short) as the directory admin — only the admin may
read password hashes, and the chart's ACLs grant no read-only account that right — and writes the
count trailer `homelab users import` checks; the main container (the AWS CLI) uploads the LDIF,
then its `.sha256` sidecar (digest and size, the layout of model/dr_artifacts), then deletes
the exports beyond `keep`. Every user-supplied value (bucket, endpoint, prefix, DNs) reaches the
scripts as an environment variable, never as script text.

Only this Job's pods may leave the cluster, and only on the bucket's port: the directory server
itself keeps no internet egress.
"""

from __future__ import annotations

from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.model.catalog import openldap as catalog
from homelabeazy.model.catalog import velero
from homelabeazy.model.catalog.velero import S3_PATH
from homelabeazy.model.dr_artifacts import LDAP_LDIF, kind_prefix
from homelabeazy.model.dr_backups import ldap_exports_on
from homelabeazy.model.service import secret_name
from homelabeazy.render.k8s.bundle import Bundle
from homelabeazy.render.k8s.endpoints import openldap_url
from homelabeazy.render.k8s.internal_tls import CA_KEY, ca_volume
from homelabeazy.render.k8s.netpol import CLUSTER_POD_CIDR, CLUSTER_SERVICE_CIDR
from homelabeazy.render.k8s.objects import Manifest, external_secret, meta, obj, secret_key_ref
from homelabeazy.render.k8s.services.common import secret_spec
from homelabeazy.render.k8s.services.velero import s3_port

DIRECTORY_IMAGE = "jpgouin/openldap:2.6.9-fix"
"""The image the pinned chart runs the directory with: it has `ldapsearch`. Same pin as the chart's
default (openldap-stack-ha 4.3.3); Renovate should track it with the chart."""
UPLOAD_IMAGE = "amazon/aws-cli:2.27.0"
"""The AWS CLI (with sha256sum and GNU coreutils): the same pin as the Vault snapshot CronJob's; Renovate
should track it."""

EXPORT_SCRIPT = """set -eu
ldapsearch -x -ZZ -H "$LDAP_URL" -D "$LDAP_BIND_DN" -y /admin/password -b "$LDAP_BASE" \\
  -LLL -o ldif-wrap=no -E pr=500/noprompt '(objectClass=*)' '*' > /work/export.ldif
count=$(grep -c '^dn:' /work/export.ldif)
printf "$TRAILER_FORMAT\\n" "$count" >> /work/export.ldif
"""
"""Export every entry under the base with its user attributes (userPassword included), then the
count line: an export cut short is refused on import. `-ZZ`: StartTLS or nothing, so the admin
password and every hash travel encrypted; the server's name is verified against the CA in
LDAPTLS_CACERT (libldap's LDAPTLS_REQCERT=demand)."""
CA_DIR = "/tls"
"""Where the export container finds the CA that signed the directory's certificate."""

AWS_CONFIG = "[default]\ns3 =\n  addressing_style = path\n"
"""MinIO, Garage and Ceph serve buckets under the path, not as virtual-host subdomains."""

UPLOAD_SCRIPT = """set -eu
printf '%s' "$AWS_CONFIG_TEXT" > /work/aws-config
export AWS_CONFIG_FILE=/work/aws-config
dir="$S3_FOLDER"
key="$dir/$(date -u +%Y%m%dT%H%M%SZ).ldif"
digest=$(sha256sum < /work/export.ldif | cut -d' ' -f1)
printf '%s  %s\\n' "$digest" "$(wc -c < /work/export.ldif | tr -d ' ')" > /work/export.ldif.sha256
put() { aws s3api put-object --bucket "$S3_BUCKET" --key "$1" --body "$2" > /dev/null; }
put "$key" /work/export.ldif
put "$key.sha256" /work/export.ldif.sha256
echo "uploaded $key"
aws s3api list-objects-v2 --bucket "$S3_BUCKET" --prefix "$dir/" --query 'Contents[].Key' \\
  --output text | tr '\\t' '\\n' > /work/keys
grep '[.]ldif$' /work/keys | while read -r k; do
  if grep -qxF "$k.sha256" /work/keys; then echo "$k"; fi
done | sort | head -n "-$KEEP" | while read -r old; do
  aws s3api delete-object --bucket "$S3_BUCKET" --key "$old" > /dev/null
  aws s3api delete-object --bucket "$S3_BUCKET" --key "$old.sha256" > /dev/null
  echo "expired $old"
done
"""
"""Upload the export, then its sidecar (an object without one is an upload that did not finish),
then delete the complete exports older than the newest KEEP (what model/dr_artifacts.expired
picks)."""


def enabled(homelab: Homelab) -> bool:
    """Exports go to Velero's bucket beside its store: the one decision of model/dr_backups."""
    return ldap_exports_on(homelab.config)


def _env(values: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": name, "value": value} for name, value in values.items()]


def _containers(homelab: Homelab, credentials: str) -> tuple[dict[str, Any], dict[str, Any]]:
    target = homelab.config.services.velero.target
    assert target is not None  # enabled() checked it
    endpoint = {catalog.EXPORT_S3_ENDPOINT_ENV: target.s3_url} if target.s3_url else {}

    def work() -> dict[str, str]:
        return {"name": "work", "mountPath": "/work"}

    export = {
        "name": "export",
        "image": DIRECTORY_IMAGE,
        "command": ["/bin/sh", "-c", EXPORT_SCRIPT],
        "env": _env(
            {
                catalog.EXPORT_LDAP_URL_ENV: openldap_url(homelab),
                catalog.EXPORT_CA_ENV: f"{CA_DIR}/{CA_KEY}",
                catalog.EXPORT_REQCERT_ENV: catalog.EXPORT_REQCERT,
                "LDAP_BIND_DN": homelab.ldap.admin_dn,
                "LDAP_BASE": homelab.ldap.base_dn,
                "TRAILER_FORMAT": catalog.EXPORT_TRAILER.format(count="%s"),
            }
        ),
        "volumeMounts": [
            work(),
            {"name": "admin", "mountPath": "/admin", "readOnly": True},
            {"name": "ca", "mountPath": CA_DIR, "readOnly": True},
        ],
    }
    upload = {
        "name": "upload",
        "image": UPLOAD_IMAGE,
        "command": ["/bin/sh", "-c", UPLOAD_SCRIPT],
        "env": [
            *_env(endpoint),
            *_env(
                {
                    "AWS_DEFAULT_REGION": target.region,
                    # Several S3-compatible stores reject the CRC checksums newer CLIs add.
                    "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
                    "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
                    "AWS_CONFIG_TEXT": AWS_CONFIG,
                    "S3_BUCKET": target.bucket,
                    # At the bucket's root, beside Velero's prefix (model/dr_backups).
                    "S3_FOLDER": kind_prefix(LDAP_LDIF).rstrip("/"),
                    "KEEP": str(homelab.config.services.openldap.exports.keep),
                }
            ),
            {"name": "AWS_ACCESS_KEY_ID", "valueFrom": secret_key_ref(credentials, "access_key_id")},
            {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": secret_key_ref(credentials, "secret_access_key")},
        ],
        "volumeMounts": [work()],
    }
    return export, upload


def cron_job(
    homelab: Homelab, namespace: str, admin_secret: str, credentials: str, tls_secret: str
) -> Manifest:
    """One export per schedule tick; a run never overlaps the previous one.

    The CA comes from the directory's own certificate Secret (same namespace), its `ca.crt` alone.
    """
    export, upload = _containers(homelab, credentials)
    pod = {
        "metadata": {"labels": dict(catalog.EXPORT_LABELS)},
        "spec": {
            "restartPolicy": "Never",
            "initContainers": [export],
            "containers": [upload],
            "volumes": [
                {"name": "work", "emptyDir": {}},
                {
                    "name": "admin",
                    "secret": {
                        "secretName": admin_secret,
                        "items": [{"key": "LDAP_ADMIN_PASSWORD", "path": "password"}],
                    },
                },
                ca_volume("ca", tls_secret, CA_KEY),
            ],
        },
    }
    return obj(
        "batch/v1",
        "CronJob",
        meta(catalog.EXPORT_NAME, namespace),
        spec={
            "schedule": homelab.config.services.openldap.exports.schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 2, "activeDeadlineSeconds": 1800, "template": pod}},
        },
    )


def egress_policy(homelab: Homelab, namespace: str) -> Manifest:
    """The export's pods, and only they, reach the bucket's port outside the cluster."""
    target = homelab.config.services.velero.target
    assert target is not None
    return obj(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        meta(f"allow-{catalog.EXPORT_NAME}-s3", namespace),
        spec={
            "podSelector": {"matchLabels": dict(catalog.EXPORT_LABELS)},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {"ipBlock": {"cidr": "0.0.0.0/0", "except": [CLUSTER_POD_CIDR, CLUSTER_SERVICE_CIDR]}}
                    ],
                    "ports": [{"protocol": "TCP", "port": s3_port(target)}],
                }
            ],
        },
    )


def add_exports(homelab: Homelab, result: Bundle, admin_secret: str, tls_secret: str) -> None:
    """The CronJob, the bucket's keys (Velero's Vault secret, synced here too) and its egress."""
    if not enabled(homelab):
        return
    spec = secret_spec(velero.entry(homelab.config), S3_PATH)
    credentials = f"{catalog.EXPORT_NAME}-{secret_name(spec)}"
    keys = {key: key for key in spec.keys}
    result.add(
        "exports",
        external_secret(credentials, result.namespace, spec.path, keys),
        cron_job(homelab, result.namespace, admin_secret, credentials, tls_secret),
        egress_policy(homelab, result.namespace),
    )
