"""Fixtures for the disaster-recovery tests: moto's S3 server and the secrets tests' OpenBao helpers."""

from __future__ import annotations

from tests.support.s3 import s3_server  # noqa: F401 - registers the fixture
