"""Fixtures for the disaster-recovery tests: moto's S3 server, the secrets tests' OpenBao and CLI helpers."""

from __future__ import annotations

from tests.secrets.conftest import bao, homelab_cli, isolated, repo, transcript  # noqa: F401 - fixtures
from tests.support.s3 import s3_server  # noqa: F401 - registers the fixture
