"""`homelab upgrade k3s`: the decisions, as pure functions of the versions and the cluster's facts.

K3s (like Kubernetes) supports upgrading one minor version at a time and never downgrading, and
a rolling upgrade is only safe when every node is Ready and etcd is healthy before it starts: a
node drained while another is already down can cost etcd its quorum. What to refuse, in which
order the nodes go, what to tell the user when a node fails (resume and roll back), and the edit
of `homelab.yaml` afterwards are decided here; reading the cluster and running the playbook happen
in ops/ (see k3s_upgrade_runner.py, which ties them together).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from homelabeazy.config.schema import K3S_VERSION
from homelabeazy.errors import UsageError
from homelabeazy.model import Homelab

SNAPSHOT_PREFIX = "pre-upgrade-"
"""Name of the etcd snapshot upgrade.yml takes first; K3s appends the node name and a timestamp."""


@dataclass(frozen=True, order=True)
class K3sVersion:
    """A K3s release `v1.MINOR.PATCH+k3sBUILD`, ordered as releases are."""

    minor: int
    patch: int
    build: int

    @property
    def text(self) -> str:
        """The release tag, e.g. `v1.33.5+k3s1`."""
        return f"v1.{self.minor}.{self.patch}+k3s{self.build}"


def parse_version(text: str, what: str = "--to") -> K3sVersion:
    """`v1.33.5+k3s1` -> K3sVersion; anything else is a usage error naming `what`."""
    match = re.match(K3S_VERSION, text.strip())
    if match is None:
        raise UsageError(
            f"{what} {text!r}: not a K3s release; expected vMAJOR.MINOR.PATCH+k3sN, e.g. v1.34.1+k3s1 "
            "(the tags of https://github.com/k3s-io/k3s/releases)"
        )
    minor, patch, build = (int(part) for part in match.groups())
    return K3sVersion(minor, patch, build)


def kubelet_version(text: str) -> K3sVersion | None:
    """A node's `status.nodeInfo.kubeletVersion` (K3s reports `v1.33.5+k3s1`), or None if not K3s's."""
    match = re.match(K3S_VERSION, text.strip())
    if match is None:
        return None
    minor, patch, build = (int(part) for part in match.groups())
    return K3sVersion(minor, patch, build)


def check_step(current: K3sVersion, target: K3sVersion) -> None:
    """Refuse a downgrade or a skipped minor version (UsageError, exit 2); same or next minor is fine."""
    if target < current:
        raise UsageError(
            f"--to {target.text} is older than {current.text}, which the cluster runs: K3s cannot be "
            "downgraded in place; to go back, restore an etcd snapshot taken before the upgrade "
            "(docs/RUNBOOK.md, 'Restoring etcd')"
        )
    if target.minor > current.minor + 1:
        skipped = ", ".join(f"1.{m}" for m in range(current.minor + 1, target.minor))
        raise UsageError(
            f"--to {target.text} skips Kubernetes {skipped}: K3s upgrades one minor version at a time; "
            f"upgrade to the newest v1.{current.minor + 1}.x+k3sN first, then to {target.text}"
        )


@dataclass(frozen=True)
class NodeFact:
    """One node as the Kubernetes API reports it."""

    name: str
    ready: bool
    version: str
    """`status.nodeInfo.kubeletVersion`."""
    unschedulable: bool = False


@dataclass(frozen=True)
class ClusterFacts:
    """What the preflight reads from the cluster: its nodes and etcd's health check."""

    nodes: tuple[NodeFact, ...]
    etcd: str
    """`ok`, or what the API server's `/readyz/etcd` answered."""


def node_facts(items: Sequence[Mapping[str, Any]]) -> tuple[NodeFact, ...]:
    """NodeFacts from the API's Node objects (the `items` of GET /api/v1/nodes)."""
    facts = []
    for item in items:
        status = item.get("status") or {}
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
        )
        facts.append(
            NodeFact(
                name=str((item.get("metadata") or {}).get("name", "?")),
                ready=ready,
                version=str((status.get("nodeInfo") or {}).get("kubeletVersion", "")),
                unschedulable=bool((item.get("spec") or {}).get("unschedulable")),
            )
        )
    return tuple(sorted(facts, key=lambda f: f.name))


def preflight_problems(homelab: Homelab, facts: ClusterFacts, target: K3sVersion) -> list[str]:
    """Every reason not to start, at once: missing or NotReady nodes, etcd unhealthy, a node ahead.

    A node left cordoned (but Ready) by an earlier failed run is fine: the playbook uncordons it.
    """
    problems = []
    if facts.etcd.strip() != "ok":
        problems.append(f"etcd is not healthy (the API server's /readyz/etcd says: {facts.etcd.strip()})")
    by_name = {fact.name: fact for fact in facts.nodes}
    for node in (*homelab.servers, *homelab.agents):
        fact = by_name.get(node.name)
        if fact is None:
            problems.append(f"node {node.name} is in homelab.yaml but not in the cluster")
            continue
        if not fact.ready:
            problems.append(f"node {node.name} is not Ready")
        running = kubelet_version(fact.version)
        if running is not None and running > target:
            problems.append(f"node {node.name} already runs {running.text}, newer than {target.text}")
    return problems


def oldest_version(facts: ClusterFacts, homelab: Homelab) -> K3sVersion | None:
    """The oldest K3s version a node of the homelab runs (what a skipped minor is judged from)."""
    names = {node.name for node in homelab.nodes}
    versions = [kubelet_version(f.version) for f in facts.nodes if f.name in names]
    known = [v for v in versions if v is not None]
    return min(known) if known else None


def node_order(homelab: Homelab) -> list[str]:
    """The order upgrade.yml takes the nodes in: servers, then agents, each in inventory order."""
    return [node.name for node in (*homelab.servers, *homelab.agents)]


def snapshot_name(target: K3sVersion) -> str:
    """The pre-upgrade snapshot's name as upgrade.yml gives it (`+` is not safe in S3 keys)."""
    return SNAPSHOT_PREFIX + target.text.replace("+", "-")


def resume_command(config: str, target: K3sVersion) -> str:
    """The command that resumes a failed upgrade (finished nodes are skipped)."""
    return f"homelab upgrade k3s --to {target.text} {config}"


def rollback_steps(homelab: Homelab, target: K3sVersion, previous: K3sVersion) -> list[str]:
    """How to go back to `previous` with the pre-upgrade snapshot, numbered for the failure message."""
    first = homelab.servers[0].name
    others = [s.name for s in homelab.servers[1:]]
    snap = snapshot_name(target)
    steps = [
        "on every node: `systemctl stop k3s` (servers) or `systemctl stop k3s-agent` (agents)",
        f"put the {previous.text} binary back without starting anything: from ansible/, with "
        f"HOMELAB_K3S_TOKEN exported, `ansible-playbook upgrade.yml -e k3s_version={previous.text} "
        "-e homelab_cluster_api=false -e homelab_start_services=false`",
        f"on {first}: `k3s etcd-snapshot ls` shows {snap}-{first}-<timestamp> (in "
        "/var/lib/rancher/k3s/server/db/snapshots/); run `k3s server --cluster-reset "
        "--cluster-reset-restore-path=<that file>`, then `systemctl start k3s`",
    ]
    if others:
        steps.append(
            f"on {', '.join(others)}: `rm -rf /var/lib/rancher/k3s/server/db`, then `systemctl start k3s` "
            "(they rejoin the restored cluster)"
        )
    if homelab.agents:
        steps.append("on every agent: `systemctl start k3s-agent`")
    return steps


def failure_text(
    homelab: Homelab,
    config: str,
    *,
    failed_node: str,
    task: str,
    answer: str,
    target: K3sVersion,
    previous: K3sVersion,
) -> str:
    """What a failed upgrade tells the user: which node, what is done, how to resume or roll back."""
    order = node_order(homelab)
    if task.startswith("Take the pre-upgrade etcd snapshot"):
        return (
            f"the etcd snapshot on {failed_node} failed ({answer}); no node was upgraded. Fix etcd, "
            f"then re-run `{resume_command(config, target)}`"
        )
    done = order[: order.index(failed_node)] if failed_node in order else []
    untouched = order[order.index(failed_node) + 1 :] if failed_node in order else []
    lines = [
        f"node {failed_node} failed to upgrade to {target.text} at '{task}': {answer}",
        f"already at {target.text}: {', '.join(done) or 'none'}; "
        f"not touched: {', '.join(untouched) or 'none'}",
        f"homelab.yaml still says {previous.text}.",
        f"To resume, fix {failed_node} and re-run `{resume_command(config, target)}` "
        "(nodes already upgraded are skipped; a node left cordoned is uncordoned once Ready).",
        f"To roll back to {previous.text} instead "
        f"(the etcd snapshot {snapshot_name(target)} was taken first):",
    ]
    steps = rollback_steps(homelab, target, previous)
    lines += [f"  {number}. {step}" for number, step in enumerate(steps, 1)]
    return "\n".join(lines)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the user's long lines
    yaml.indent(mapping=2, sequence=4, offset=2)  # the style of `homelab init`'s example
    return yaml


def set_k3s_version(text: str, version: K3sVersion) -> str:
    """`text` (a homelab.yaml) with `cluster.k3s_version` set to `version`; comments and order kept."""
    yaml = _yaml()
    tree = yaml.load(text)
    cluster = tree.get("cluster") if isinstance(tree, CommentedMap) else None
    if not isinstance(cluster, CommentedMap):
        raise UsageError("homelab.yaml has no `cluster:` mapping to record the K3s version in")
    if cluster.get("k3s_version") == version.text:
        return text
    cluster["k3s_version"] = version.text
    out = io.StringIO()
    yaml.dump(tree, out)
    return out.getvalue()
