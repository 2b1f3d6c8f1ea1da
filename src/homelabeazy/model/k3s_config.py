"""The K3s server configuration every server shares, and how it holds up against the pinned release.

`server_settings` is what the k3s_server role writes into `/etc/rancher/k3s/config.yaml` below each
server's own lines (cluster-init or server, token-file, node-name, node-ip): one ordered list of
(flag, value), rendered into group_vars as data. A flag whose presence depends on the release
(etcd-s3-retention) is decided from the table in model/k3s_flags.py.

`flag_problems` is the other side: every flag the rendered files set, and every flag this homelab
needs, held against the table for `cluster.k3s_version` (the `k3s-flags` check). The two are
written independently on purpose: the builder says what is rendered, the table says what each
release has and what a homelab needs, and the check catches them disagreeing.
"""

from __future__ import annotations

from dataclasses import dataclass

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model import etcd_snapshots
from homelabeazy.model.hosts import api_host
from homelabeazy.model.k3s_flags import FLAGS_BY_NAME, K3S_FLAGS, FlagFacts
from homelabeazy.model.k3s_release import K3sVersion

FlagValue = bool | int | str | tuple[str, ...]

DISABLED_COMPONENTS = ("traefik", "servicelb")
"""Bundled K3s add-ons GitOps replaces (Traefik from its chart, MetalLB for LoadBalancer services)."""

PER_NODE_FLAGS = ("cluster-init", "server", "token-file", "node-name", "node-ip")
"""What the config.yaml templates of the k3s_server and k3s_agent roles write per node."""

DROP_IN_FLAGS = ("etcd-s3-access-key", "etcd-s3-secret-key")
"""What the k3s_server role writes into the root-only config.yaml.d drop-in when S3 is on."""

COMMAND_FLAGS = ("cluster-reset", "cluster-reset-restore-path", "name")
"""Flags the runbook's etcd restore and upgrade.yml's pre-upgrade snapshot pass on the command line."""


@dataclass(frozen=True)
class K3sServerSettings:
    """The settings every server's config.yaml carries, in order."""

    items: tuple[tuple[str, FlagValue], ...]

    def as_dict(self) -> dict[str, FlagValue | list[str]]:
        """As group_vars data (lists where K3s repeats a flag)."""
        return {name: list(value) if isinstance(value, tuple) else value for name, value in self.items}

    @property
    def names(self) -> tuple[str, ...]:
        """The flags set, in order."""
        return tuple(name for name, _ in self.items)


def _version(config: HomelabConfig) -> K3sVersion | None:
    return K3sVersion.parse(config.cluster.k3s_version)


def server_settings(
    config: HomelabConfig, disable: tuple[str, ...] = DISABLED_COMPONENTS
) -> K3sServerSettings:
    """The shared part of every server's config.yaml, from homelab.yaml and the pinned release.

    `disable` is K3s's packaged components the servers never deploy: ours always, plus those an
    enabled service replaces (model/node_setup.k3s_disabled decides it from the catalog)."""
    cluster = config.cluster
    plan = etcd_snapshots.plan(config)
    items: list[tuple[str, FlagValue]] = [
        ("tls-san", (str(cluster.vip), api_host(config.domain))),
        ("disable", disable),
        ("write-kubeconfig-mode", "0600"),
        ("etcd-expose-metrics", True),
        ("etcd-snapshot-schedule-cron", plan.schedule),
        ("etcd-snapshot-retention", plan.retention),
    ]
    s3 = plan.s3
    if s3 is not None:
        items += [("etcd-s3", True), ("etcd-s3-endpoint", s3.endpoint)]
        if s3.insecure:
            items.append(("etcd-s3-insecure", True))
        items += [("etcd-s3-bucket", s3.bucket), ("etcd-s3-region", s3.region), ("etcd-s3-folder", s3.folder)]
        version = _version(config)
        if version is not None and FLAGS_BY_NAME["etcd-s3-retention"].available(version):
            items.append(("etcd-s3-retention", s3.retention))
    return K3sServerSettings(tuple(items))


def rendered_flags(config: HomelabConfig) -> frozenset[str]:
    """Every K3s flag the rendered repository sets or passes for this homelab."""
    names = {*PER_NODE_FLAGS, *server_settings(config).names, *COMMAND_FLAGS}
    if etcd_snapshots.plan(config).s3 is not None:
        names.update(DROP_IN_FLAGS)
    return frozenset(names)


def flag_facts(config: HomelabConfig) -> FlagFacts | None:
    """The facts the table's rules read; None when the release does not parse (the schema says so)."""
    version = _version(config)
    if version is None:
        return None
    plan = etcd_snapshots.plan(config)
    return FlagFacts(
        version=version,
        s3=plan.s3 is not None,
        s3_insecure=plan.s3 is not None and plan.s3.insecure,
        retention=plan.retention,
        s3_retention=plan.s3.retention if plan.s3 is not None else plan.retention,
        monitoring=config.services.monitoring.enabled,
    )


@dataclass(frozen=True)
class FlagProblem:
    """A flag the release lacks, or a needed one the configuration leaves out."""

    message: str
    hint: str


def _upgrade_hint(flag_name: str, version: K3sVersion) -> str:
    target = FLAGS_BY_NAME[flag_name].first_release_from(version)
    return f"use {target.text} or later" if target else "no K3s release in the table has it"


def flag_problems(config: HomelabConfig) -> list[FlagProblem]:
    """What the `k3s-flags` check reports (see the module doc)."""
    facts = flag_facts(config)
    if facts is None:
        return []
    rendered = rendered_flags(config)
    version = facts.version
    problems = [
        FlagProblem(
            f"the rendered K3s configuration sets --{name}, which the K3s flag table does not list",
            "add it to model/k3s_flags.py with its first release and default (a homelabeazy bug)",
        )
        for name in sorted(rendered - FLAGS_BY_NAME.keys())
    ]
    for flag in K3S_FLAGS:
        have = flag.available(version)
        reason = flag.needed(facts, have)
        if flag.name in rendered and not have:
            problems.append(
                FlagProblem(
                    f"{version.text} has no --{flag.name}, which the rendered K3s configuration sets "
                    f"(first in {flag.first_text})",
                    _upgrade_hint(flag.name, version),
                )
            )
        elif reason is not None and not have:
            problems.append(
                FlagProblem(
                    f"{version.text} has no --{flag.name} (first in {flag.first_text}), and this homelab "
                    f"needs it: {reason}",
                    _upgrade_hint(flag.name, version),
                )
            )
        elif reason is not None and flag.name not in rendered:
            problems.append(
                FlagProblem(
                    f"the rendered K3s configuration leaves out --{flag.name}, which {version.text} has "
                    f"and this homelab needs: {reason}",
                    "a homelabeazy bug: model/k3s_config.py must set it",
                )
            )
    return problems
