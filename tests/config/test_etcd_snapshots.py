"""`cluster.etcd_snapshots`: defaults, bad values, when the S3 copy is on, and what reaches Ansible.

The rendered K3s server config with these keys, and the root-only key file, are checked on real
chroot hosts in tests/ansible/test_upgrade_chroot.py.
"""

from __future__ import annotations

import pytest

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.errors import ConfigError
from homelabeazy.model import build
from homelabeazy.model.etcd_snapshots import EtcdS3, EtcdSnapshotPlan
from homelabeazy.render import ansible
from tests.support.golden import assert_golden

EXAMPLE_PREFIX = "      prefix: velero\n"
"""The example's Velero prefix line, which tests replace (or drop: Velero then owns the bucket's root)."""


def config_text(snapshots: str = "", prefix: str | None = None, s3_url: str | None = None) -> str:
    """The example with `etcd_snapshots:` lines under `cluster:`, Velero's prefix (none unless
    given) and endpoint."""
    text = example_text()
    if snapshots:
        anchor = "  airgap:" if "  airgap:" in text else "  ssh:\n"
        text = text.replace(anchor, f"  etcd_snapshots:\n{snapshots}{anchor}", 1)
    assert EXAMPLE_PREFIX in text
    text = text.replace(EXAMPLE_PREFIX, "" if prefix is None else f"      prefix: {prefix}\n", 1)
    if s3_url is not None:
        text = text.replace("s3_url: https://minio.home.example.com", f"s3_url: {s3_url}", 1)
    return text


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(text)
    return [f"{p.path}: {p.message}" for p in caught.value.problems if p.severity == "error"]


def test_defaults_copy_the_examples_snapshots_beside_velero() -> None:
    plan = build(load_config(example_text()).config).cluster.etcd_snapshots
    # The example's Velero target has a prefix: the bucket's root is free for k3s-etcd/.
    assert plan == EtcdSnapshotPlan(
        "0 */6 * * *",
        28,
        EtcdS3("minio.home.example.com", False, "homelab-backups", "us-east-1", "k3s-etcd", 28),
    )


def test_without_a_velero_prefix_they_stay_on_the_servers() -> None:
    plan = build(load_config(config_text()).config).cluster.etcd_snapshots
    assert plan == EtcdSnapshotPlan("0 */6 * * *", 28, None)


def test_a_velero_prefix_turns_the_s3_copy_on() -> None:
    plan = build(load_config(config_text(prefix="velero")).config).cluster.etcd_snapshots
    assert plan.s3 == EtcdS3("minio.home.example.com", False, "homelab-backups", "us-east-1", "k3s-etcd", 28)


def test_own_bucket_needs_no_prefix_and_http_is_insecure() -> None:
    text = config_text(
        '    schedule: "@daily"\n    retention: 7\n    bucket: etcd-backups\n    folder: lab1\n',
        s3_url="http://10.10.30.9:9000",
    )
    plan = build(load_config(text).config).cluster.etcd_snapshots
    assert plan == EtcdSnapshotPlan(
        "@daily", 7, EtcdS3("10.10.30.9:9000", True, "etcd-backups", "us-east-1", "lab1", 7)
    )


def test_s3_keeps_its_own_depth_when_asked() -> None:
    """`s3_retention` is how many of each server's snapshots S3 keeps (K3s's etcd-s3-retention)."""
    text = config_text("    s3_retention: 60\n", prefix="velero")
    plan = build(load_config(text).config).cluster.etcd_snapshots
    assert (plan.retention, plan.s3.retention if plan.s3 else None) == (28, 60)


def test_s3_false_keeps_them_on_the_servers() -> None:
    text = config_text("    s3: false\n", prefix="velero")
    assert build(load_config(text).config).cluster.etcd_snapshots.s3 is None


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('    schedule: "every day"\n', "cluster.etcd_snapshots.schedule: "),
        ("    retention: 0\n", "cluster.etcd_snapshots.retention: "),
        ("    retention: 1001\n", "cluster.etcd_snapshots.retention: "),
        ("    s3_retention: 0\n", "cluster.etcd_snapshots.s3_retention: "),
        ("    s3_retention: 1001\n", "cluster.etcd_snapshots.s3_retention: "),
        ("    folder: a/b\n", "cluster.etcd_snapshots.folder: "),
        ("    bucket: Not_A_Bucket\n", "cluster.etcd_snapshots.bucket: "),
        ("    keep: 3\n", "cluster.etcd_snapshots.keep: "),
    ],
)
def test_bad_values_are_precise_errors(lines: str, message: str) -> None:
    found = errors(config_text(lines))
    assert len(found) == 1, found
    assert found[0].startswith(message)


def test_s3_true_without_a_safe_place_is_an_error() -> None:
    assert errors(config_text("    s3: true\n")) == [
        "cluster.etcd_snapshots.s3: etcd snapshots cannot go to S3: Velero owns the root of bucket "
        "homelab-backups (services.velero.target.prefix is empty) and marks its storage location "
        "Unavailable when another folder appears there"
    ]
    assert errors(config_text("    s3: true\n    folder: velero\n", prefix="velero/lab")) == [
        "cluster.etcd_snapshots.s3: etcd snapshots cannot go to S3: folder velero is Velero's prefix in "
        "bucket homelab-backups"
    ]
    no_velero = config_text("    s3: true\n").replace("  velero:\n", "  velero:\n    enabled: false\n", 1)
    assert errors(no_velero) == [
        "cluster.etcd_snapshots.s3: etcd snapshots cannot go to S3: services.velero has no S3 target "
        "(the snapshots use Velero's endpoint, region and keys)"
    ]


def test_rendered_cluster_vars_with_s3_match_golden() -> None:
    """Where and when only: the keys are lookups of the environment, never values."""
    homelab = build(load_config(config_text(prefix="velero")).config)
    files = ansible.render(homelab)
    assert_golden({"k3s_cluster.yml": files["ansible/group_vars/k3s_cluster.yml"]}, "ansible-etcd-s3")
