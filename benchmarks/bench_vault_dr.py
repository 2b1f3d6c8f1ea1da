"""Vault disaster recovery, timed: snapshot to S3 and restore into a fresh Vault, ~1,000 secrets.

python benchmarks/bench_vault_dr.py [--secrets 1000]

Real OpenBao (raft) and moto's S3 server on loopback. "snapshot" is what `homelab secrets snapshot`
does (take, check the format, upload object and sidecar); "restore" is what a lost Vault needs
(download the newest, verify sidecar and format, snapshot-force into a freshly initialised Vault,
unseal with the original keys, wait until it serves), i.e. the RTO of Vault alone. Exit 1 when a
target is missed or a secret is not back.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.secrets.servers import BaoServer  # noqa: E402
from tests.support.s3 import moto_s3  # noqa: E402

from homelabeazy.lifecycle.dr import vault_snapshots  # noqa: E402
from homelabeazy.ops.objectstore import ObjectStore, S3Credentials, S3Target  # noqa: E402
from homelabeazy.ops.vault import VaultAdapter  # noqa: E402

MOUNT = "homelab"
TARGETS = {"snapshot": 5.0, "restore": 20.0}
"""Seconds, for 1,000 secrets on a shared 2-core machine."""


def fill(vault: VaultAdapter, count: int) -> int:
    """`count` secrets, every third with three versions; the number of versions written."""
    written = 0
    for i in range(count):
        for v in range(3 if i % 3 == 0 else 1):
            vault.write_secret(MOUNT, f"apps/app{i:04d}/config", {"password": f"pw-{i}-{v}"}, None)
            written += 1
    return written


def fresh(server: BaoServer) -> tuple[VaultAdapter, tuple[str, ...], str]:
    vault = VaultAdapter(server.address)
    keys = vault.initialize(1, 1)
    vault.unseal(keys.unseal_keys)
    vault.wait_active()
    vault.set_token(keys.root_token)
    return vault, keys.unseal_keys, keys.root_token


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secrets", type=int, default=1000)
    count = parser.parse_args().secrets
    with tempfile.TemporaryDirectory() as tmp, moto_s3(Path(tmp) / "moto") as s3:
        objects = ObjectStore(
            S3Target(s3.bucket, s3.region, s3.endpoint), S3Credentials(s3.access_key_id, s3.secret_access_key)
        )
        server = BaoServer(Path(tmp) / "bao")
        server.workdir.mkdir()
        server.start()
        try:
            vault, old_keys, old_token = fresh(server)
            vault.enable_kv2(MOUNT)
            start = time.perf_counter()
            versions = fill(vault, count)
            print(f"wrote {count} secrets ({versions} versions) in {time.perf_counter() - start:.1f} s")

            start = time.perf_counter()
            taken = vault_snapshots.take(vault)
            key = vault_snapshots.upload(taken, objects)
            snapshot_s = time.perf_counter() - start
            print(f"snapshot: {len(taken.data) / 1024:.0f} KiB -> {key} in {snapshot_s:.2f} s")

            server.stop()
            shutil.rmtree(server.workdir / "data")
            server.start()
            start = time.perf_counter()
            chosen = vault_snapshots.load_latest(objects)
            verified_s = time.perf_counter() - start
            new_vault, _, _ = fresh(server)
            init_s = time.perf_counter() - start - verified_s
            forced = time.perf_counter()
            result = vault_snapshots.restore(new_vault, chosen, settle=10.0)
            force_s = time.perf_counter() - forced
            new_vault.unseal(old_keys)
            new_vault.wait_active()
            restore_s = time.perf_counter() - start
            new_vault.set_token(old_token)
            print(
                f"restore: download+verify {verified_s:.2f} s, fresh init+unseal {init_s:.2f} s, "
                f"snapshot-force until resealed {force_s:.2f} s (resealed: {result.sealed}), "
                f"unseal with the old keys until active {restore_s - verified_s - init_s - force_s:.2f} s; "
                f"total {restore_s:.2f} s"
            )
            missing = [
                i
                for i in range(count)
                if (found := new_vault.read_secret(MOUNT, f"apps/app{i:04d}/config")) is None
                or found.data["password"] != f"pw-{i}-{2 if i % 3 == 0 else 0}"
                or found.version != (3 if i % 3 == 0 else 1)
            ]
            print(f"read back {count} secrets: {len(missing)} missing or wrong")
        finally:
            server.stop()
    misses = [n for n, s in (("snapshot", snapshot_s), ("restore", restore_s)) if s > TARGETS[n]]
    for name in misses:
        print(f"MISSED: {name} over {TARGETS[name]} s", file=sys.stderr)
    return 1 if misses or missing else 0


if __name__ == "__main__":
    sys.exit(main())
