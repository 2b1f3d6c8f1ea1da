"""A real S3 endpoint on loopback: moto's server (PyPI `moto[server]`).

Use the `s3_server` fixture (import it into a conftest: `from tests.support.s3 import s3_server`) or the
`moto_s3()` context manager. The server has a bucket already; any key pair is accepted, so tests use
fixed dummy keys and can check they never show up in output.

The fixture gives each test a fresh S3: one moto server per test process (an xdist worker runs one
test at a time) is reset through moto's own API before each test — every bucket and object gone —
and the test's bucket created again. Starting moto costs seconds (its imports); a reset, milliseconds.
"""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.integration import need_binary
from tests.support.ports import free_port
from tests.support.processes import stop

ACCESS_KEY_ID = "AKIAHOMELABTEST0001"
SECRET_ACCESS_KEY = "homelab-test-secret-key-never-printed-0001"


@dataclass(frozen=True)
class S3Server:
    """A running moto server: endpoint URL, region, the bucket it holds and the keys to use."""

    endpoint: str
    bucket: str
    region: str = "us-east-1"
    access_key_id: str = ACCESS_KEY_ID
    secret_access_key: str = SECRET_ACCESS_KEY

    def client(self) -> object:
        """A plain boto3 client, for tests that tamper with objects behind the product's back."""
        import boto3  # heavy: imported only when a test asks (this module is a plugin of every run)

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )

    def env(self) -> dict[str, str]:
        """The environment variables the product reads the keys from."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}


def _wait_ready(endpoint: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited early: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"moto_server did not answer on {endpoint} within {timeout}s")


def reset(server: S3Server) -> None:
    """Forget every bucket and object (moto's reset API), then create the server's bucket again."""
    request = urllib.request.Request(f"{server.endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200, answer.status
    client = server.client()
    assert client.list_buckets()["Buckets"] == []  # type: ignore[attr-defined]
    client.create_bucket(Bucket=server.bucket)  # type: ignore[attr-defined]


@contextmanager
def moto_s3(workdir: Path, bucket: str = "homelab-backups") -> Iterator[S3Server]:
    """Start moto's S3 server on a free loopback port with `bucket` created; stopped on exit."""
    binary = need_binary("moto_server", "PyPI package moto[server]")
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "moto.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        server = S3Server(f"http://127.0.0.1:{port}", bucket)
        _wait_ready(server.endpoint, process, log)
        server.client().create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
        yield server
    finally:
        stop(process)


@pytest.fixture(scope="session")
def _moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """This test process's moto server (see the module's docstring)."""
    with moto_s3(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture
def s3_server(_moto_server: S3Server) -> S3Server:
    """A fresh S3 for this test: nothing but one empty bucket."""
    reset(_moto_server)
    return _moto_server
