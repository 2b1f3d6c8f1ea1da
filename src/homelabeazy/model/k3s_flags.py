"""The K3s flags homelabeazy sets, with the first K3s release that has each and K3s's default.

This table is the contract between the rendered K3s configuration and the K3s release a homelab
pins (`cluster.k3s_version`). model/k3s_config.py builds the configuration, reading the table where
a flag depends on the release; the `k3s-flags` check (checks/cluster.py) holds every flag the
configuration sets, and every flag this homelab needs, against the table: a flag the release lacks,
or a needed one left out, is a finding on `cluster.k3s_version`'s line.

`first` lists, per minor line, the first release that has the flag (K3s backports a new flag into
each supported line at a different patch). A line newer than every listed one has it from its first
release; a line older than every listed one lacks it. An empty `first` means K3s had the flag before
the oldest line homelabeazy supports (`since` says where that is documented); those flags are
present in every release the `k3s-version` check lets through.

Sources: K3s's flag definitions (k3s-io/k3s `pkg/cli/cmds/server.go`, `agent.go`,
`etcd_snapshot.go`), its documentation (docs.k3s.io, k3s-io/docs) and its release notes
(k3s-io/docs `docs/release-notes/v1.3x.X.md`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homelabeazy.model.k3s_release import K3sVersion


@dataclass(frozen=True)
class FlagFacts:
    """What decides whether a homelab needs a flag: the release and a few facts of homelab.yaml."""

    version: K3sVersion
    s3: bool
    """The etcd snapshots are copied to S3 (model/etcd_snapshots.py)."""
    s3_insecure: bool
    """...over plain http."""
    retention: int
    s3_retention: int
    """Snapshots kept in S3 per server (`etcd_snapshots.s3_retention`, else `retention`)."""
    monitoring: bool
    """Prometheus scrapes etcd's metrics on the servers."""


NeedRule = Callable[[FlagFacts, bool], str | None]
"""(facts, whether the release has the flag) -> why this homelab needs the flag, or None."""


def _never(_facts: FlagFacts, _available: bool) -> str | None:
    return None


def _always(reason: str) -> NeedRule:
    return lambda _facts, _available: reason


def _with_s3(reason: str) -> NeedRule:
    return lambda facts, _available: reason if facts.s3 else None


def _insecure_s3(facts: FlagFacts, _available: bool) -> str | None:
    if facts.s3 and facts.s3_insecure:
        return "the S3 endpoint is plain http (services.velero.target.s3_url)"
    return None


def _monitoring(facts: FlagFacts, _available: bool) -> str | None:
    return "Prometheus scrapes etcd on each server's <node-ip>:2381" if facts.monitoring else None


def _s3_retention(facts: FlagFacts, available: bool) -> str | None:
    """Where the release has the flag, leaving it out keeps 5 per server in S3, whatever
    etcd-snapshot-retention says; where it has not, S3 follows etcd-snapshot-retention, so only a
    different S3 depth needs it."""
    if not facts.s3:
        return None
    if available:
        return (
            f"without it K3s keeps its own default of 5 snapshots per server in S3, not "
            f"{facts.s3_retention} (cluster.etcd_snapshots)"
        )
    if facts.s3_retention != facts.retention:
        return (
            f"cluster.etcd_snapshots.s3_retention ({facts.s3_retention}) differs from retention "
            f"({facts.retention}); without the flag S3 keeps as many as the servers do"
        )
    return None


@dataclass(frozen=True)
class K3sFlag:
    """One K3s flag (its config-file key is the same name) as homelabeazy uses it."""

    name: str
    where: str
    """`server`, `agent`, `server, agent` (config.yaml) or the command line it appears on."""
    default: str
    """K3s's own default, when the flag is not given."""
    first: tuple[K3sVersion, ...]
    """The first release of each minor line that has the flag; empty: older than v1.29 (see `since`)."""
    since: str
    """Where the first release (or the flag's age) is documented."""
    why: str
    """Why homelabeazy sets it."""
    needed: NeedRule = _never

    def available(self, version: K3sVersion) -> bool:
        """Whether `version` has the flag (see the module doc for the per-line rule)."""
        if not self.first:
            return True
        for first in self.first:
            if first.minor == version.minor:
                return version >= first
        return version.minor > max(f.minor for f in self.first)

    def first_release_from(self, version: K3sVersion) -> K3sVersion | None:
        """The oldest release with the flag that is not older than `version` (where to upgrade to)."""
        if self.available(version):
            return version
        later = [f for f in self.first if f > version]
        return min(later) if later else None

    @property
    def first_text(self) -> str:
        """The first releases for people: `v1.31.12+k3s1, v1.32.8+k3s1, …`, or the `since` note."""
        if not self.first:
            return f"before v1.29 ({self.since})"
        return ", ".join(f.text for f in self.first)


def _v(text: str) -> K3sVersion:
    parsed = K3sVersion.parse(text)
    if parsed is None:
        raise ValueError(f"not a K3s release: {text}")
    return parsed


_SERVER_GO = "k3s-io/k3s pkg/cli/cmds/server.go"
_AGENT_GO = "k3s-io/k3s pkg/cli/cmds/agent.go"
_SNAPSHOT_GATE = "docs.k3s.io/cli/etcd-snapshot: available as of v1.19.1+k3s1"
_S3_PR = (
    "K3s S3 snapshot support, k3s-io/k3s #2902 (Feb 2021; 1.20 backport #3065); flag and default in "
    + _SERVER_GO
)

K3S_FLAGS: tuple[K3sFlag, ...] = (
    K3sFlag(
        "cluster-init",
        "server (the first)",
        "false",
        (),
        "K3s HA with embedded etcd, docs.k3s.io/datastore/ha-embedded; " + _SERVER_GO,
        "the first server starts the embedded etcd cluster the others join",
        _always("the first server must start the embedded etcd cluster"),
    ),
    K3sFlag(
        "server",
        "server (the others), agent",
        "none (env K3S_URL)",
        (),
        "joining a cluster by URL, K3s since v0.x; " + _SERVER_GO + ", " + _AGENT_GO,
        "joining servers and agents reach the cluster through the API VIP",
        _always("joining servers and agents find the cluster by it"),
    ),
    K3sFlag(
        "token-file",
        "server, agent",
        "none (env K3S_TOKEN_FILE)",
        (),
        _SERVER_GO + ", " + _AGENT_GO,
        "the join token stays in a root-only file, out of config.yaml and the process list",
        _always("every node joins with the cluster's token"),
    ),
    K3sFlag(
        "node-name",
        "server, agent",
        "the host name",
        (),
        _AGENT_GO,
        "the node's name is the inventory name homelab.yaml gives it",
        _always("`homelab upgrade k3s` and status find the nodes by these names"),
    ),
    K3sFlag(
        "node-ip",
        "server, agent",
        "the address of the default route's interface",
        (),
        _AGENT_GO,
        "the node's address in the services VLAN, also etcd's address on the servers",
        _always("etcd, flannel and the firewall rules use the services VLAN address"),
    ),
    K3sFlag(
        "tls-san",
        "server",
        "none (K3s adds node names and addresses itself)",
        (),
        _SERVER_GO,
        "the API certificate names the VIP and the API's DNS name",
        _always("clients reach the API through the VIP and its name"),
    ),
    K3sFlag(
        "disable",
        "server",
        "nothing disabled",
        (),
        "docs.k3s.io/installation/packaged-components; " + _SERVER_GO,
        "GitOps deploys Traefik and MetalLB instead of the bundled ones",
        _always("the bundled Traefik and ServiceLB would take the ports and addresses of ours"),
    ),
    K3sFlag(
        "write-kubeconfig-mode",
        "server",
        "0600 (unset: K3s writes the admin kubeconfig root-only)",
        (),
        _SERVER_GO,
        "pins the admin kubeconfig to root-only whatever a release's default is",
    ),
    K3sFlag(
        "etcd-expose-metrics",
        "server",
        "false",
        (),
        "k3s-io/k3s #2921 (Feb 2021, validated on a v1.20.2 build); " + _SERVER_GO,
        "etcd's metrics on <node-ip>:2381 for Prometheus",
        _monitoring,
    ),
    K3sFlag(
        "etcd-snapshot-schedule-cron",
        "server",
        "0 */12 * * *",
        (),
        _SNAPSHOT_GATE,
        "cluster.etcd_snapshots.schedule",
        _always("cluster.etcd_snapshots.schedule sets when the servers snapshot etcd"),
    ),
    K3sFlag(
        "etcd-snapshot-retention",
        "server",
        "5",
        (),
        _SNAPSHOT_GATE,
        "cluster.etcd_snapshots.retention: snapshots kept on each server",
        _always("cluster.etcd_snapshots.retention sets how many each server keeps"),
    ),
    K3sFlag(
        "etcd-s3",
        "server",
        "false",
        (),
        _S3_PR,
        "copies every snapshot to Velero's S3 target",
        _with_s3("the snapshots are copied to S3 (cluster.etcd_snapshots.s3)"),
    ),
    K3sFlag(
        "etcd-s3-endpoint",
        "server",
        "s3.amazonaws.com",
        (),
        _S3_PR,
        "Velero's S3 endpoint (services.velero.target.s3_url)",
        _with_s3("the snapshots go to Velero's S3 endpoint"),
    ),
    K3sFlag(
        "etcd-s3-insecure",
        "server",
        "false",
        (),
        "k3s-io/k3s #3968 (merged Sep 2021); " + _SERVER_GO,
        "an http:// S3 endpoint",
        _insecure_s3,
    ),
    K3sFlag(
        "etcd-s3-bucket",
        "server",
        "none (K3s refuses S3 without it)",
        (),
        _S3_PR,
        "Velero's bucket, or cluster.etcd_snapshots.bucket",
        _with_s3("K3s cannot upload without a bucket"),
    ),
    K3sFlag(
        "etcd-s3-region",
        "server",
        "us-east-1",
        (),
        _S3_PR,
        "Velero's region (services.velero.target.region)",
        _with_s3("the bucket's region"),
    ),
    K3sFlag(
        "etcd-s3-folder",
        "server",
        "none (the bucket's root)",
        (),
        _S3_PR,
        "cluster.etcd_snapshots.folder, beside Velero's prefix",
        _with_s3("Velero owns its prefix; the snapshots need a folder of their own"),
    ),
    K3sFlag(
        "etcd-s3-retention",
        "server",
        "5 (its own constant, not etcd-snapshot-retention; k3s-io/k3s #13769)",
        (_v("v1.31.12+k3s1"), _v("v1.32.8+k3s1"), _v("v1.33.4+k3s1"), _v("v1.34.0+k3s1")),
        "docs.k3s.io/cli/etcd-snapshot 'S3 Retention' version gate; release notes v1.33.4+k3s1 "
        "(k3s-io/k3s #12694), v1.32.8+k3s1 (#12695), v1.31.12+k3s1 (#12696); the first 1.34 release "
        "shipped is v1.34.1+k3s1 (#12669 on master)",
        "snapshots kept in S3 per server: cluster.etcd_snapshots.s3_retention, else retention",
        _s3_retention,
    ),
    K3sFlag(
        "etcd-s3-access-key",
        "server (config.yaml.d drop-in)",
        "none (env AWS_ACCESS_KEY_ID)",
        (),
        _S3_PR + "; config.yaml.d drop-ins since v1.21.0+k3s1 (docs.k3s.io/installation/configuration)",
        "the bucket's keys, in a root-only drop-in written at run time",
        _with_s3("the bucket needs its keys"),
    ),
    K3sFlag(
        "etcd-s3-secret-key",
        "server (config.yaml.d drop-in)",
        "none (env AWS_SECRET_ACCESS_KEY)",
        (),
        _S3_PR + "; config.yaml.d drop-ins since v1.21.0+k3s1 (docs.k3s.io/installation/configuration)",
        "the bucket's keys, in a root-only drop-in written at run time",
        _with_s3("the bucket needs its keys"),
    ),
    K3sFlag(
        "cluster-reset",
        "k3s server, in the runbook's restore",
        "false",
        (),
        _SNAPSHOT_GATE,
        "restoring etcd: forget every peer, become the only member",
    ),
    K3sFlag(
        "cluster-reset-restore-path",
        "k3s server, in the runbook's restore",
        "none",
        (),
        _SNAPSHOT_GATE + "; with etcd-s3 on, K3s fetches the path from S3 (use --etcd-s3=false for a file)",
        "restoring etcd: the snapshot to restore",
    ),
    K3sFlag(
        "name",
        "k3s etcd-snapshot save, in upgrade.yml",
        "on-demand",
        (),
        "k3s-io/k3s pkg/cli/cmds/etcd_snapshot.go; docs.k3s.io/cli/etcd-snapshot",
        "the pre-upgrade snapshot's name, pre-upgrade-<version>",
    ),
)
"""Every flag homelabeazy sets or tells people to pass, in the order config.yaml has them."""

FLAGS_BY_NAME = {flag.name: flag for flag in K3S_FLAGS}
