"""Figures for `homelab users export` / `import`: a real slapd with N people in five groups.

Times the export (one paged search, LDIF written), the restore into the wiped directory (checksum
and LDIF checks, plan, adds), and the second import (plan only: nothing to do), then checks every
person binds with their password. Needs Debian's slapd.

Run: python benchmarks/bench_directory_backup.py [--users N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.secrets.directory_data import ADMIN, BASE, can_bind, populate, snapshot, wipe  # noqa: E402
from tests.secrets.servers import SlapdServer  # noqa: E402

from homelabeazy.lifecycle.dr import directory_backup, directory_ldif  # noqa: E402
from homelabeazy.model import dr_artifacts  # noqa: E402
from homelabeazy.ops.ldap import LdapAdapter  # noqa: E402

TARGET_SECONDS = 10.0
"""Export plus restore of 200 people must stay well under a minute of RTO; 10 s is the alarm."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200, help="people in the directory (default 200)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-directory-"))
    server = SlapdServer(workdir / "slapd", BASE, ADMIN, "bench-admin-password")
    server.workdir.mkdir()
    server.start()
    try:
        passwords = populate(server, args.users)
        before = snapshot(server)
        adapter = LdapAdapter(server.url, ADMIN, server.root_password)

        started = time.perf_counter()
        with adapter as ldap:
            data, count = directory_backup.export_directory(ldap, BASE)
        export = time.perf_counter() - started

        wipe(server)
        started = time.perf_counter()
        dr_artifacts.verify(data, dr_artifacts.sidecar_text(data), "bench")
        backup = directory_ldif.parse_ldif(data, BASE, "bench")
        with adapter as ldap:
            plan = directory_backup.plan_restore(ldap, BASE, backup, prune=False)
            directory_backup.apply_restore(ldap, plan)
        restore = time.perf_counter() - started

        started = time.perf_counter()
        with adapter as ldap:
            again = directory_backup.plan_restore(ldap, BASE, backup, prune=True)
        second = time.perf_counter() - started

        binds = sum(can_bind(server, dn, secret) for dn, secret in passwords.items())
        same = snapshot(server) == before
    finally:
        server.stop()
    print(f"{'people':<28}{args.users}")
    print(f"{'entries / LDIF bytes':<28}{count} / {len(data)}")
    print(f"{'export':<28}{export:.2f} s")
    print(f"{'restore into empty':<28}{restore:.2f} s")
    print(f"{'second import (no-op plan)':<28}{second:.2f} s  ({'empty' if again.empty else 'NOT EMPTY'})")
    print(f"{'binds with old passwords':<28}{binds}/{len(passwords)}")
    print(f"{'every entry identical':<28}{same}")
    fast = export + restore < TARGET_SECONDS * args.users / 200
    ok = again.empty and binds == len(passwords) and same and fast
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
