"""Sharing Velero's bucket (model/velero_bucket.py, dr_backups.py, etcd_snapshots.py): the rule on
each side of every edge.

Velero marks its store Unavailable when a top-level folder under its prefix (under the bucket's root
when the prefix is empty) is not its own. So a folder of ours may sit at the root only when Velero has
a prefix, never where Velero's prefix starts with it; a folder in another bucket is always safe. The
prefix is compared by path part (`homelab-dr-velero` is not `homelab-dr`), after its slashes are
stripped (`/velero/` is `velero`).
"""

from __future__ import annotations

from typing import Any

import pytest

from homelabeazy.checks import load_config
from homelabeazy.config.schema import BackupTarget, HomelabConfig
from homelabeazy.config.starter import example_text
from homelabeazy.model import dr_backups, etcd_snapshots
from homelabeazy.model.etcd_snapshots import AWS_ENDPOINT, EtcdS3
from homelabeazy.model.velero_bucket import s3_endpoint, velero_clash
from tests.support.bucket_configs import with_backups

BUCKET = "homelab-backups"
NO_TARGET = "services.velero has no S3 target (the backups use Velero's bucket, endpoint and keys)"


@pytest.mark.parametrize(
    ("prefix", "folder", "clash"),
    [
        ("", "homelab-dr", "root"),
        ("/", "homelab-dr", "root"),
        ("//", "k3s-etcd", "root"),
        ("velero", "homelab-dr", None),
        ("/velero/", "homelab-dr", None),
        ("backups/velero", "homelab-dr", None),
        ("velero/homelab-dr", "homelab-dr", None),  # ours at the root, Velero's one level down
        ("homelab-dr", "homelab-dr", "inside"),
        ("/homelab-dr/", "homelab-dr", "inside"),
        ("homelab-dr/velero", "homelab-dr", "inside"),
        ("homelab-dr-velero", "homelab-dr", None),  # a longer name is another folder
        ("homelab", "homelab-dr", None),
        ("k3s-etcd", "k3s-etcd", "inside"),
        ("k3s-etcd/velero", "k3s-etcd", "inside"),
        ("k3s-etcd.old", "k3s-etcd", None),
        ("X", "homelab-dr", None),  # only slashes are stripped: any other text is a prefix
        ("-", "homelab-dr", None),
    ],
)
def test_velero_clash(prefix: str, folder: str, clash: str | None) -> None:
    # The schema refuses stray slashes (a `/`-separated folder, no empty name); the function still
    # reads any prefix the way Velero does, so it is given them unvalidated.
    assert velero_clash(BackupTarget.model_construct(bucket=BUCKET, prefix=prefix), folder) == clash


# --- configs: the example with one thing changed ---------------------------------------------------


@pytest.fixture(scope="module")
def example() -> HomelabConfig:
    return load_config(example_text()).config


# --- the disaster-recovery backups (homelab-dr/) -----------------------------------------------------


def test_the_dr_folder_is_safe_beside_a_velero_prefix(example: HomelabConfig) -> None:
    assert dr_backups.bucket_blocker(with_backups(example, prefix="velero")) is None
    assert dr_backups.bucket_blocker(with_backups(example, prefix="homelab-dr-velero")) is None


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"velero": False}, NO_TARGET),
        ({"prefix": None}, NO_TARGET),
        (
            {"prefix": ""},
            f"Velero owns the root of bucket {BUCKET} (services.velero.target.prefix is empty) and marks its "
            "storage location Unavailable when another folder (homelab-dr/) appears there",
        ),
        (
            {"prefix": "/homelab-dr/velero/"},
            "services.velero.target.prefix 'homelab-dr/velero' puts Velero's store inside homelab-dr/, the "
            "backups' own folder; Velero would mark its storage location Unavailable",
        ),
    ],
)
def test_the_dr_folder_is_refused_where_velero_owns_it(
    example: HomelabConfig, change: dict[str, Any], words: str
) -> None:
    assert dr_backups.bucket_blocker(with_backups(example, **change)) == words


@pytest.mark.parametrize(
    ("service", "enabled", "prefix", "on"),
    [
        (True, None, "velero", True),  # unset: on where it is safe
        (True, True, "velero", True),
        (True, False, "velero", False),  # an explicit no stands
        (True, None, "", False),  # unset: off where Velero owns the root
        (True, True, "", False),  # an unsafe yes is refused by the checks, never taken
        (False, True, "velero", False),  # the service is off
    ],
)
def test_vault_snapshots_and_ldap_exports_on(
    example: HomelabConfig, service: bool, enabled: bool | None, prefix: str, on: bool
) -> None:
    vault = with_backups(example, prefix=prefix, vault={"service": service, "enabled": enabled})
    assert dr_backups.vault_snapshots_on(vault) is on
    ldap = with_backups(example, prefix=prefix, ldap={"service": service, "enabled": enabled})
    assert dr_backups.ldap_exports_on(ldap) is on


def test_vault_and_ldap_are_decided_apart(example: HomelabConfig) -> None:
    config = with_backups(example, vault={"enabled": False}, ldap={"enabled": True})
    assert (dr_backups.vault_snapshots_on(config), dr_backups.ldap_exports_on(config)) == (False, True)
    config = with_backups(example, vault={"enabled": True}, ldap={"enabled": False})
    assert (dr_backups.vault_snapshots_on(config), dr_backups.ldap_exports_on(config)) == (True, False)


# --- K3s's etcd snapshots ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "etcd", "blocker"),
    [
        ("velero", {}, None),
        ("", {"bucket": "etcd-copies"}, None),  # another bucket: Velero's root is not there
        ("k3s-etcd", {"bucket": "etcd-copies"}, None),
        (
            "",
            {},
            f"Velero owns the root of bucket {BUCKET} (services.velero.target.prefix is empty) and marks "
            "its storage location Unavailable when another folder appears there",
        ),
        # naming Velero's own bucket is sharing it, exactly as leaving the bucket unset
        (
            "",
            {"bucket": BUCKET},
            f"Velero owns the root of bucket {BUCKET} (services.velero.target.prefix is empty)",
        ),
        ("k3s-etcd/velero", {}, f"folder k3s-etcd is Velero's prefix in bucket {BUCKET}"),
        ("velero", {"folder": "velero"}, f"folder velero is Velero's prefix in bucket {BUCKET}"),
        ("velero", {"folder": "velero", "bucket": BUCKET}, "folder velero is Velero's prefix"),
        ("velero", {"folder": "velero-etcd"}, None),
    ],
)
def test_etcd_s3_blocker(
    example: HomelabConfig, prefix: str, etcd: dict[str, Any], blocker: str | None
) -> None:
    found = etcd_snapshots.s3_blocker(with_backups(example, prefix=prefix, etcd=etcd))
    if blocker is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(blocker)


def test_etcd_needs_a_velero_target(example: HomelabConfig) -> None:
    words = "services.velero has no S3 target (the snapshots use Velero's endpoint, region and keys)"
    assert etcd_snapshots.s3_blocker(with_backups(example, velero=False)) == words
    assert (
        etcd_snapshots.s3_blocker(with_backups(example, prefix=None, etcd={"bucket": "etcd-copies"})) == words
    )


@pytest.mark.parametrize(
    ("s3", "prefix", "copied"),
    [
        (None, "velero", True),  # unset and safe: on
        (None, "", False),  # unset and unsafe: off
        (True, "velero", True),
        (True, "", False),  # asked for but unsafe (the check refuses it): never half-configured
        (False, "velero", False),
    ],
)
def test_etcd_plan_copies_only_when_safe(
    example: HomelabConfig, s3: bool | None, prefix: str, copied: bool
) -> None:
    plan = etcd_snapshots.plan(with_backups(example, prefix=prefix, etcd={"s3": s3}))
    assert (plan.s3 is not None) is copied
    assert (plan.schedule, plan.retention) == ("0 */6 * * *", 28)


@pytest.mark.parametrize(
    ("s3_url", "region", "expected"),
    [
        ("https://minio.home.example.com", "us-east-1", ("minio.home.example.com", 443, "s3_url")),
        ("http://10.10.30.9:9000", "us-east-1", ("10.10.30.9", 9000, "s3_url")),
        ("https://10.10.30.9:9443/", "eu-west-3", ("10.10.30.9", 9443, "s3_url")),
        (None, "us-east-1", ("s3.us-east-1.amazonaws.com", 443, "region")),
        (None, "eu-central-1", ("s3.eu-central-1.amazonaws.com", 443, "region")),
    ],
)
def test_s3_endpoint_is_the_url_s_host_and_port_else_aws_regional(
    s3_url: str | None, region: str, expected: tuple[str, int, str]
) -> None:
    """What every consumer of the bucket (Velero, the DR CronJobs, K3s, the name check) reaches,
    and the homelab.yaml field a finding about it points at."""
    target = BackupTarget(bucket=BUCKET, prefix="velero", s3_url=s3_url, region=region)
    host, port, field = expected
    assert s3_endpoint(target) == (host, port, ("services", "velero", "target", field))


@pytest.mark.parametrize(
    ("s3_url", "endpoint", "insecure"),
    [
        ("https://minio.home.example.com", "minio.home.example.com", False),
        ("http://10.10.30.9:9000", "10.10.30.9:9000", True),
        ("https://10.10.30.9:9443/", "10.10.30.9:9443", False),
        (None, AWS_ENDPOINT, False),
    ],
)
def test_etcd_endpoint_is_host_and_port_and_http_is_insecure(
    example: HomelabConfig, s3_url: str | None, endpoint: str, insecure: bool
) -> None:
    plan = etcd_snapshots.plan(
        with_backups(example, s3_url=s3_url, etcd={"schedule": "@daily", "retention": 7})
    )
    assert plan.s3 == EtcdS3(endpoint, insecure, BUCKET, "us-east-1", "k3s-etcd", retention=7)
    assert (plan.schedule, plan.retention) == ("@daily", 7)


def test_etcd_in_its_own_bucket_and_folder(example: HomelabConfig) -> None:
    plan = etcd_snapshots.plan(
        with_backups(example, prefix="", etcd={"bucket": "etcd-copies", "folder": "lab1"})
    )
    assert plan.s3 == EtcdS3(
        "minio.home.example.com", False, "etcd-copies", "us-east-1", "lab1", retention=plan.retention
    )
