"""The S3 adapter against a real S3 endpoint (moto's server on loopback)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.lifecycle.dr import store
from homelabeazy.model import dr_artifacts
from homelabeazy.model.dr_artifacts import BackupIntegrityError
from homelabeazy.ops.objectstore import ObjectMissingError, ObjectStore, S3Credentials, S3Target
from tests.support.s3 import S3Server

pytestmark = pytest.mark.integration


def _store(server: S3Server, prefix: str = "", bucket: str | None = None) -> ObjectStore:
    target = S3Target(bucket or server.bucket, server.region, server.endpoint, prefix)
    return ObjectStore(target, S3Credentials(server.access_key_id, server.secret_access_key))


def test_put_get_list_delete(s3_server: S3Server) -> None:
    objects = _store(s3_server)
    objects.put("a/one.bin", b"\x00\x01binary")
    objects.put("a/two.bin", b"2")
    objects.put("b/three.bin", b"3")
    assert objects.get("a/one.bin") == b"\x00\x01binary"
    assert [(o.key, o.size) for o in objects.list("a/")] == [("a/one.bin", 8), ("a/two.bin", 1)]
    objects.delete("a/one.bin")
    assert [o.key for o in objects.list()] == ["a/two.bin", "b/three.bin"]
    missing = r"^S3: download a/one.bin at http://127\.0\.0\.1:\d+ bucket"
    with pytest.raises(ObjectMissingError, match=missing):
        objects.get("a/one.bin")


def test_prefix_is_a_folder_the_caller_never_sees(s3_server: S3Server) -> None:
    objects = _store(s3_server, prefix="velero/")
    objects.put("homelab-dr/x", b"x")
    raw = s3_server.client().list_objects_v2(Bucket=s3_server.bucket)  # type: ignore[attr-defined]
    assert [o["Key"] for o in raw["Contents"]] == ["velero/homelab-dr/x"]
    assert [o.key for o in objects.list("homelab-dr/")] == ["homelab-dr/x"]
    assert [o.key for o in objects.list()] == ["homelab-dr/x"]


def test_missing_bucket_names_s3_endpoint_and_fix(s3_server: S3Server) -> None:
    objects = _store(s3_server, bucket="nope")
    with pytest.raises(ExternalSystemError) as caught:
        objects.put("k", b"v")
    text = str(caught.value)
    assert text.startswith(f"S3: upload k at {s3_server.endpoint} bucket nope failed: NoSuchBucket")
    assert "create the bucket" in text
    assert s3_server.secret_access_key not in text
    assert s3_server.access_key_id not in text


def test_unreachable_endpoint_is_an_outside_failure() -> None:
    target = S3Target("b", endpoint="http://127.0.0.1:9")
    objects = ObjectStore(target, S3Credentials("AKIAX", "secretvalue"), timeout=2)
    refused = r"S3: list / at http://127\.0\.0\.1:9 bucket b failed: unreachable"
    with pytest.raises(ExternalSystemError, match=refused):
        objects.list()


def test_upload_then_latest_then_verified_download(s3_server: S3Server) -> None:
    objects = _store(s3_server)
    old = store.upload(objects, "vault-raft", "snap", b"old", datetime(2026, 1, 1, tzinfo=UTC))
    new = store.upload(objects, "vault-raft", "snap", b"new", datetime(2026, 2, 1, tzinfo=UTC))
    assert old < new
    assert store.latest_key(objects, "vault-raft") == new
    assert store.download_verified(objects, new, 1 << 20) == b"new"
    assert objects.get(dr_artifacts.sidecar_key(new)).decode() == dr_artifacts.sidecar_text(b"new")
    with pytest.raises(UsageError, match="no complete ldap-ldif backup"):
        store.latest_key(objects, "ldap-ldif")


def test_tampered_download_is_refused(s3_server: S3Server) -> None:
    objects = _store(s3_server)
    key = store.upload(objects, "vault-raft", "snap", b"the real snapshot")
    objects.put(key, b"the real snapsho")
    with pytest.raises(BackupIntegrityError, match="truncated"):
        store.download_verified(objects, key, 1 << 20)
    objects.delete(dr_artifacts.sidecar_key(key))
    with pytest.raises(BackupIntegrityError, match="missing sidecar"):
        store.download_verified(objects, key, 1 << 20)


def test_a_download_is_bounded_exactly_at_its_limit(s3_server: S3Server) -> None:
    """A bucket object larger than the limit is refused (exit 2, the key named) after reading at most
    limit + 1 bytes; one exactly at the limit is taken. The same for its sidecar."""
    objects = _store(s3_server)
    key = store.upload(objects, "vault-raft", "snap", b"x" * 64)
    assert store.download_verified(objects, key, 64) == b"x" * 64
    with pytest.raises(
        UsageError, match=r"homelab-dr/vault-raft/\S+\.snap: larger than the 63 bytes"
    ) as caught:
        store.download_verified(objects, key, 63)
    assert caught.value.exit_code == 2
    objects.put(dr_artifacts.sidecar_key(key), b"0" * (store.SIDECAR_MAX_BYTES + 1))
    with pytest.raises(UsageError, match=r"\.snap\.sha256: larger than the 4096 bytes"):
        store.download_verified(objects, key, 64)


def test_credentials_env_first_then_vault_then_precise_error() -> None:
    env = {"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret"}
    assert store.resolve_credentials(None, "homelab", env) == S3Credentials("id", "secret")
    with pytest.raises(UsageError, match=r"AWS_ACCESS_KEY_ID .* homelab/velero/s3"):
        store.resolve_credentials(None, "homelab", {})
    assert "secret" not in repr(S3Credentials("id", "secret"))
