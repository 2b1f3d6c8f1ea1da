"""S3-compatible object storage (AWS, MinIO, Garage, Ceph RGW) with boto3: the only code that talks S3.

The disaster-recovery backups (Vault raft snapshots, LDAP exports, ...) go to the same bucket Velero
writes to (`services.velero.target`). Every call goes through `_call`, which turns botocore
exceptions into an `ExternalSystemError` naming S3, the endpoint, the bucket and what was attempted.
The access keys are never put into a message: answers are built from S3's error code and message,
and any echo of a key is scrubbed anyway.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import boto3
import botocore.config
import botocore.exceptions

from homelabeazy.errors import ExternalSystemError, UsageError

SYSTEM = "S3"
T = TypeVar("T")
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


@dataclass(frozen=True)
class S3Target:
    """Where objects go: `endpoint` None means AWS itself; `prefix` is a folder inside the bucket."""

    bucket: str
    region: str = "us-east-1"
    endpoint: str | None = None
    prefix: str = ""

    @property
    def where(self) -> str:
        """How messages name the store: endpoint and bucket, never credentials."""
        return f"{self.endpoint or 'AWS S3'} bucket {self.bucket}"


@dataclass(frozen=True, repr=False)
class S3Credentials:
    """An access key pair. repr hides both halves."""

    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:
        return "S3Credentials(<hidden>)"


@dataclass(frozen=True)
class StoredObject:
    """One object as listed: its key (relative to the target's prefix), size and modification time."""

    key: str
    size: int
    modified: datetime


class ObjectMissingError(ExternalSystemError):
    """The key does not exist in the bucket (callers that expect absence catch this one)."""


def credentials_from_env(environ: Mapping[str, str] | None = None) -> S3Credentials | None:
    """AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when both are set, else None."""
    env = os.environ if environ is None else environ
    key_id, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if key_id and secret:
        return S3Credentials(key_id, secret)
    return None


class ObjectStore:
    """One bucket of an S3-compatible store; keys are relative to `target.prefix`."""

    def __init__(self, target: S3Target, credentials: S3Credentials, timeout: float = 30.0) -> None:
        self.target = target
        self._secrets = (credentials.access_key_id, credentials.secret_access_key)
        self._timeout = timeout
        config = botocore.config.Config(
            region_name=target.region,
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": 3, "mode": "standard"},
            # MinIO and Garage serve buckets under the path, not as virtual-host subdomains.
            s3={"addressing_style": "path" if target.endpoint else "auto"},
            # Newer boto3 adds CRC checksums by default, which several S3-compatible stores reject.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=target.endpoint,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            config=config,
        )

    def with_bucket(self, bucket: str) -> ObjectStore:
        """Another bucket on the same endpoint with the same keys (at its root)."""
        return ObjectStore(
            replace(self.target, bucket=bucket, prefix=""), S3Credentials(*self._secrets), self._timeout
        )

    # ------------------------------------------------------------------ plumbing

    def _full(self, key: str) -> str:
        prefix = self.target.prefix.strip("/")
        return f"{prefix}/{key}" if prefix else key

    def _relative(self, key: str) -> str:
        prefix = self.target.prefix.strip("/")
        return key[len(prefix) + 1 :] if prefix and key.startswith(prefix + "/") else key

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "<hidden>")
        return text

    def _call(self, action: str, func: Callable[[], T]) -> T:
        where = f"{action} at {self.target.where}"
        try:
            return func()
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "")) or "error"
            message = str(error.get("Message", "")) or type(exc).__name__
            answer = self._scrub(f"{code}: {message}")
            if code in _MISSING_CODES:
                raise ObjectMissingError(SYSTEM, where, "no such object") from None
            raise ExternalSystemError(SYSTEM, where, answer, _fix_for(code)) from None
        except botocore.exceptions.EndpointConnectionError:
            raise ExternalSystemError(
                SYSTEM,
                where,
                "unreachable (connection refused)",
                "check services.velero.target.s3_url and that the store is running",
            ) from None
        except (botocore.exceptions.ConnectTimeoutError, botocore.exceptions.ReadTimeoutError):
            raise ExternalSystemError(
                SYSTEM, where, "timed out", "check the endpoint and the network"
            ) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise ExternalSystemError(SYSTEM, where, self._scrub(type(exc).__name__)) from None

    # ------------------------------------------------------------------ objects

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key` (replacing an object of that name)."""
        full = self._full(key)
        self._call(
            f"upload {full}",
            lambda: self._client.put_object(Bucket=self.target.bucket, Key=full, Body=data),
        )

    def get(self, key: str, limit: int | None = None) -> bytes:
        """The bytes of `key`; `ObjectMissingError` when there is no such object. With `limit`, an
        object larger than that is refused (exit 2) after reading at most `limit + 1` bytes: a
        backup that is far too big is bad input, and must not fill the memory."""
        full = self._full(key)

        def fetch() -> bytes:
            answer = self._client.get_object(Bucket=self.target.bucket, Key=full)
            body = answer["Body"]
            return bytes(body.read() if limit is None else body.read(limit + 1))

        data = self._call(f"download {full}", fetch)
        if limit is not None and len(data) > limit:
            raise UsageError(
                f"{full}: larger than the {limit} bytes this command reads; refusing to download it"
            )
        return data

    def list(self, prefix: str = "") -> list[StoredObject]:
        """Every object whose key starts with `prefix`, sorted by key."""
        full = self._full(prefix) if prefix else (self.target.prefix.strip("/") + "/").lstrip("/")

        def collect() -> list[StoredObject]:
            found: list[StoredObject] = []
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.target.bucket, Prefix=full
            )
            for page in pages:
                for item in page.get("Contents", []):
                    key = self._relative(str(item["Key"]))
                    found.append(StoredObject(key, int(item["Size"]), item["LastModified"]))
            return sorted(found, key=lambda o: o.key)

        return self._call(f"list {full or '/'}", collect)

    def delete(self, key: str) -> None:
        """Remove `key` (S3 answers success when it is already gone)."""
        full = self._full(key)
        self._call(
            f"delete {full}",
            lambda: self._client.delete_object(Bucket=self.target.bucket, Key=full),
        )


def _fix_for(code: str) -> str:
    if code == "NoSuchBucket":
        return "create the bucket named in services.velero.target.bucket"
    if code in {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"}:
        return (
            "check the bucket's keys: the Vault secret velero/s3 (access_key_id, secret_access_key) "
            "or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
        )
    return ""
