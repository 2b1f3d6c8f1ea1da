"""Figures for `homelab secrets` and `homelab users`: pure planning, and real OpenBao/slapd runs.

python benchmarks/bench_secrets.py            # everything (starts OpenBao and slapd on loopback)
python benchmarks/bench_secrets.py --pure     # planning only, no servers
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.secrets.servers import BaoServer, SlapdServer  # noqa: E402

from homelabeazy.checks import load_config  # noqa: E402
from homelabeazy.config.schema import GroupConfig, UserConfig  # noqa: E402
from homelabeazy.config.starter import example_text  # noqa: E402
from homelabeazy.lifecycle import directory, secrets  # noqa: E402
from homelabeazy.model import Homelab, build, secrets_plan  # noqa: E402
from homelabeazy.model.service import SecretSpec  # noqa: E402
from homelabeazy.ops.ldap import LdapAdapter  # noqa: E402
from homelabeazy.ops.vault import VaultAdapter  # noqa: E402


def timed(func: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of `func` in seconds."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def with_users(homelab: Homelab, count: int) -> Homelab:
    users = tuple(
        UserConfig(username=f"user{i}", display_name=f"User Number{i}", email=f"u{i}@x.io", groups=["users"])
        for i in range(count)
    )
    specs = tuple(SecretSpec(f"users/user{i}", ("password",), "openldap", "") for i in range(count))
    return replace(
        homelab,
        users=users,
        groups=(GroupConfig(name="users"),),
        secrets=tuple(s for s in homelab.secrets if not s.path.startswith("users/")) + specs,
    )


def pure(homelab: Homelab) -> None:
    big = with_users(homelab, 1000)
    seconds = timed(lambda: secrets_plan.plan_seed(big.secrets, {}))
    print(f"plan_seed, {len(big.secrets)} secrets, empty Vault: {seconds * 1000:.2f} ms")
    seconds = timed(lambda: secrets_plan.consumer_policies(big))
    print(f"consumer_policies, {len(big.secrets)} secrets: {seconds * 1000:.2f} ms")
    seconds = timed(lambda: directory.render_ldif(directory.directory_entries(big)))
    print(f"directory entries + LDIF, 1000 users: {seconds * 1000:.1f} ms")
    seconds = timed(lambda: [secrets.generate_value("password") for _ in range(1000)])
    print(f"generate 1000 passwords: {seconds * 1000:.1f} ms")


def servers(homelab: Homelab) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bao = BaoServer(work / "bao")
        bao.workdir.mkdir()
        repo = work / "repo"
        repo.mkdir()
        try:
            start = time.perf_counter()
            bao.start()
            print(f"OpenBao start: {time.perf_counter() - start:.2f} s")
            vault = VaultAdapter(bao.address)
            start = time.perf_counter()
            secrets.initialize(vault, homelab, work / "keys.json", repo)
            took = time.perf_counter() - start
            print(f"secrets init (initialise, unseal, mount, policies, roles): {took:.2f} s")
            start = time.perf_counter()
            secrets.seed(vault, homelab)
            took = time.perf_counter() - start
            print(f"secrets seed, {len(homelab.secrets)} secrets, first run: {took:.2f} s")
            start = time.perf_counter()
            secrets.seed(vault, homelab)
            print(f"secrets seed, re-run (no-op): {time.perf_counter() - start:.2f} s")
            big = with_users(homelab, 200)
            start = time.perf_counter()
            secrets.seed(vault, big)
            print(f"secrets seed, +200 user passwords: {time.perf_counter() - start:.2f} s")
            admin_pw = vault.read_secret("homelab", "openldap/admin")
            assert admin_pw is not None
            layout = big.ldap
            slapd = SlapdServer(work / "slapd", layout.base_dn, layout.admin_dn, admin_pw.data["password"])
            slapd.workdir.mkdir()
            try:
                slapd.start()
                passwords = directory.passwords_from_vault(vault, big)
                with LdapAdapter(slapd.url, layout.admin_dn, admin_pw.data["password"]) as ldap:
                    start = time.perf_counter()
                    directory.bootstrap(ldap, big, passwords)
                    print(f"users bootstrap, 200 users into slapd: {time.perf_counter() - start:.2f} s")
                    start = time.perf_counter()
                    directory.bootstrap(ldap, big, passwords)
                    print(f"users bootstrap, re-run (no-op): {time.perf_counter() - start:.2f} s")
                    seconds = timed(lambda: directory.list_users(ldap, layout))
                    print(f"users list, 200 users: {seconds * 1000:.1f} ms")
            finally:
                slapd.stop()
        finally:
            bao.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pure", action="store_true", help="skip the real-server figures")
    args = parser.parse_args()
    homelab = build(load_config(example_text()).config)
    pure(homelab)
    if not args.pure:
        servers(homelab)


if __name__ == "__main__":
    main()
