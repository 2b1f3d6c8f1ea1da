"""Fixtures for the disaster-recovery tests: the secrets tests' OpenBao and CLI helpers (moto's S3, the
`s3_server` fixture, comes from tests/support/s3.py, a plugin of every run)."""

from __future__ import annotations

from tests.secrets.conftest import bao, homelab_cli, isolated, repo, transcript  # noqa: F401 - fixtures
