"""The snapshot CronJob's upload script, run by a real shell against a real S3 endpoint (moto).

The script is taken from the rendered CronJob, with its rendered environment. Only the AWS CLI is
replaced: `aws_shim.py` performs the same four S3 commands with boto3. sha256sum, stat, date, awk,
sort and head are the machine's own. What the script leaves in the bucket must be what the CLI's
reader accepts: the newest complete snapshot, its sidecar verified, the oldest pruned beyond `keep`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.lifecycle.dr import store
from homelabeazy.lifecycle.dr.raft_snapshot import check_raft_snapshot
from homelabeazy.model import build, dr_artifacts
from homelabeazy.ops.objectstore import ObjectStore, S3Credentials
from homelabeazy.render.k8s.services.vault_snapshots import snapshot_manifests
from tests.dr.test_raft_snapshot import _snapshot
from tests.support.integration import need_binary
from tests.support.s3 import S3Server

pytestmark = pytest.mark.integration

SHIM = Path(__file__).resolve().parent / "aws_shim.py"


def text_for(s3: S3Server) -> str:
    """The example (Velero's prefix `velero`) on the test's bucket, keeping 2 snapshots."""
    text = example_text().replace("s3_url: https://minio.home.example.com", f"s3_url: {s3.endpoint}")
    assert "      prefix: velero\n" in text
    return text.replace("    key_threshold: 3\n", "    key_threshold: 3\n    snapshots: {keep: 2}\n", 1)


def _cronjob(s3: S3Server) -> dict[str, Any]:
    homelab = build(load_config(text_for(s3)).config)
    return next(d for d in snapshot_manifests(homelab, "vault") if d["kind"] == "CronJob")


def test_cronjob_writes_what_the_cli_restores(s3_server: S3Server, tmp_path: Path) -> None:
    for tool in ("sh", "sha256sum", "stat", "awk", "sort", "head", "date"):
        need_binary(tool, "coreutils / gawk / mawk")
    pod = _cronjob(s3_server)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    upload = pod["containers"][0]
    backup = tmp_path / "backup"
    backup.mkdir()
    script = upload["command"][2].replace("/backup/", f"{backup}/")
    assert script != upload["command"][2]
    env = {e["name"]: e["value"] for e in upload["env"] if "value" in e}
    assert {e["name"] for e in upload["env"] if "valueFrom" in e} == {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    }
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{SHIM}" "$@"\n')
    (bin_dir / "aws").chmod(0o755)
    log = tmp_path / "aws.log"
    env.update(
        s3_server.env(),
        PATH=f"{bin_dir}:{os.environ['PATH']}",
        HOME=str(tmp_path),
        AWS_SHIM_LOG=str(log),
        AWS_SHIM_STYLE=env["S3_ADDRESSING"],
    )
    uploads = []
    for round_ in range(3):
        data = _snapshot() + bytes(round_)  # trailing NULs keep the gzip member intact and vary it
        (backup / "vault.snap").write_bytes(data)
        uploads.append(data)
        subprocess.run(["sh", "-c", script], env=env, check=True, timeout=300)  # a hang guard only
        time.sleep(1.1)  # the key's stamp has seconds

    raw = s3_server.client().list_objects_v2(Bucket=s3_server.bucket)["Contents"]  # type: ignore[attr-defined]
    keys = sorted(o["Key"] for o in raw)
    assert len(keys) == 4, keys
    assert all(k.startswith("homelab-dr/vault-raft/") for k in keys), "beside Velero's velero/, never in it"
    target = store.target_from_config(build(load_config(text_for(s3_server)).config).config)
    objects = ObjectStore(target, S3Credentials(s3_server.access_key_id, s3_server.secret_access_key))
    newest = store.latest_key(objects, dr_artifacts.VAULT_RAFT)
    assert store.download_verified(objects, newest, 1 << 20) == uploads[-1]
    assert check_raft_snapshot(uploads[-1], newest).index == 42
    survivors = [
        a.key for a in dr_artifacts.artifacts(dr_artifacts.VAULT_RAFT, [o.key for o in objects.list()])
    ]
    assert [store.download_verified(objects, k, 1 << 20) for k in survivors] == uploads[1:], (
        "the oldest was pruned"
    )

    calls = [line.split() for line in log.read_text().splitlines()]
    cps = [c for c in calls if c[:2] == ["s3", "cp"]]
    assert all(cps[i][3].endswith(".snap") and cps[i + 1][3].endswith(".snap.sha256") for i in (0, 2, 4))
    removed = [c[2] for c in calls if c[:2] == ["s3", "rm"]]
    assert len(removed) == 2
    assert removed[0].endswith(".snap.sha256"), (
        "the sidecar goes first: never a snapshot vouched for but gone"
    )
    assert removed[1] == removed[0].removesuffix(".sha256")
