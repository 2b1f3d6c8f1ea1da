"""The rendered `ldap-export` CronJob's scripts, run for real: ldapsearch against a real slapd, the
AWS CLI against moto's S3, and `homelab users import --latest` restoring from what they uploaded.

Each container runs its own command with its own literal environment from the rendered manifest;
only what the cluster provides is stood in for: the directory's in-cluster address (the test
slapd's URL; it offers StartTLS with a certificate for 127.0.0.1, since the export insists on TLS),
the Secrets (files and variables: the CA file is that certificate), and each volume mount (a folder
under tmp_path, substituted for its mountPath in the script and the environment).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.model import build
from homelabeazy.render.registry import render_all
from tests.secrets.directory_data import (
    ADMIN,
    BASE,
    PREFIX,
    Cli,
    assert_identical,
    bucket_keys,
    can_bind,
    snapshot,
    wipe,
)
from tests.secrets.servers import SlapdServer, self_signed_cert
from tests.support.integration import need_binary
from tests.support.s3 import S3Server

pytestmark = pytest.mark.integration

EXPORTS = "kubernetes/manifests/openldap/exports.yaml"


@pytest.fixture
def directory_server(tmp_path: Path) -> Iterator[SlapdServer]:
    """The directory for these tests, offering StartTLS on ldap:// as the homelab's does."""
    tls = self_signed_cert(tmp_path, "directory")
    server = SlapdServer(
        tmp_path / "slapd", BASE, ADMIN, "admin-" + os.urandom(6).hex(), tls=tls, starttls=True
    )
    server.workdir.mkdir()
    try:
        server.start()
        yield server
    finally:
        server.stop()


def rendered_job(config: Path) -> dict[str, Any]:
    homelab = build(load_config(config.read_text(encoding="utf-8")).config)
    documents = yaml.safe_load_all(render_all(homelab, ["kubernetes"])[EXPORTS])
    return next(d for d in documents if d and d["kind"] == "CronJob")


def run_container(
    container: dict[str, Any], mounts: dict[str, Path], secrets: dict[str, str], overrides: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    assert container["command"][:2] == ["/bin/sh", "-c"]

    def local(text: str) -> str:
        for mount in container.get("volumeMounts", []):
            text = text.replace(mount["mountPath"] + "/", f"{mounts[mount['name']]}/")
        return text

    script = local(container["command"][2])
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(mounts["work"])}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = local(var["value"])
        else:
            env[var["name"]] = secrets[var["valueFrom"]["secretKeyRef"]["key"]]
    env.update(overrides)
    return subprocess.run(
        ["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def run_job(job: dict[str, Any], directory_server: SlapdServer, s3: S3Server, tmp_path: Path) -> str:
    """One run of the Job: the init container, then the main one; the upload's output."""
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    run = tmp_path / f"run-{time.monotonic_ns()}"
    mounts = {"work": run / "work", "admin": run / "admin", "ca": run / "ca"}
    for folder in mounts.values():
        folder.mkdir(parents=True)
    (mounts["admin"] / "password").write_text(directory_server.root_password)  # the Secret's key, no newline
    assert directory_server.tls is not None
    shutil.copy(directory_server.tls[0], mounts["ca"] / "ca.crt")
    secrets = {"access_key_id": s3.access_key_id, "secret_access_key": s3.secret_access_key}
    for container in [*pod["initContainers"], *pod["containers"]]:
        done = run_container(container, mounts, secrets, {"LDAP_URL": directory_server.url})
        assert done.returncode == 0, f"{container['name']}: {done.stderr}"
    return done.stdout


@pytest.fixture
def tools() -> None:
    need_binary("ldapsearch", "apt-get install ldap-utils")
    if not (Path(sys.executable).parent / "aws").exists() and shutil.which("aws") is None:
        need_binary("aws", "pip install awscli")


def test_the_rendered_cron_job_exports_what_import_latest_restores(
    tools: None,
    bucket_users: Cli,
    directory_server: SlapdServer,
    s3_server: S3Server,
    populated: dict[str, str],
    repo: Path,
    tmp_path: Path,
) -> None:
    del tools
    job = rendered_job(repo / "homelab.yaml")
    before = snapshot(directory_server)
    uploaded = []
    for _ in range(3):  # keep is 2 in this homelab.yaml: the oldest complete export goes
        out = run_job(job, directory_server, s3_server, tmp_path)
        uploaded.append(out.split("uploaded ", 1)[1].split()[0])
        time.sleep(1.1)  # keys are stamped to the second
    assert "expired " + uploaded[0] in out
    assert bucket_keys(s3_server) == sorted(k for key in uploaded[1:] for k in (key, key + ".sha256"))

    wipe(directory_server)
    restored = bucket_users("import", "--latest", "--yes")
    assert restored.code == 0, restored.err
    assert uploaded[-1] in restored.err
    assert all(key.startswith("homelab-dr/ldap-ldif/") for key in uploaded), "beside Velero's folder"
    assert not any(key.startswith(PREFIX) for key in bucket_keys(s3_server))
    assert_identical(before, snapshot(directory_server))
    assert all(can_bind(directory_server, dn, secret) for dn, secret in populated.items())


def test_an_export_the_job_could_not_finish_is_never_the_latest(
    tools: None,
    bucket_users: Cli,
    directory_server: SlapdServer,
    s3_server: S3Server,
    populated: dict[str, str],
    repo: Path,
    tmp_path: Path,
) -> None:
    """The directory going away mid-export fails the Job before anything is uploaded."""
    del tools, populated
    job = rendered_job(repo / "homelab.yaml")
    run_job(job, directory_server, s3_server, tmp_path)
    time.sleep(1.1)
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    mounts = {n: tmp_path / "broken" / n for n in ("work", "admin", "ca")}
    for folder in mounts.values():
        folder.mkdir(parents=True)
    (mounts["admin"] / "password").write_text("not-the-password")
    assert directory_server.tls is not None
    shutil.copy(directory_server.tls[0], mounts["ca"] / "ca.crt")
    export = run_container(pod["initContainers"][0], mounts, {}, {"LDAP_URL": directory_server.url})
    assert export.returncode != 0
    assert len(bucket_keys(s3_server)) == 2
