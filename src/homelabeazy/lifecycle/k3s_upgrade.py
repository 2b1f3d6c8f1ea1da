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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from homelabeazy.errors import UsageError
from homelabeazy.lifecycle.drain_plan import BudgetFact, PodFact
from homelabeazy.model import Homelab
from homelabeazy.model.k3s_release import K3sVersion

SNAPSHOT_PREFIX = "pre-upgrade-"
"""Name of the etcd snapshot upgrade.yml takes first; K3s appends the node name and a timestamp."""


def parse_version(text: str, what: str = "--to") -> K3sVersion:
    """`v1.33.5+k3s1` -> K3sVersion; anything else is a usage error naming `what`."""
    parsed = K3sVersion.parse(text)
    if parsed is None:
        raise UsageError(
            f"{what} {text!r}: not a K3s release; expected vMAJOR.MINOR.PATCH+k3sN, e.g. v1.34.1+k3s1 "
            "(the tags of https://github.com/k3s-io/k3s/releases)"
        )
    return parsed


def kubelet_version(text: str) -> K3sVersion | None:
    """A node's `status.nodeInfo.kubeletVersion` (K3s reports `v1.33.5+k3s1`), or None if not K3s's."""
    return K3sVersion.parse(text)


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
    """What the preflight reads from the cluster: nodes, etcd's health, pods and their budgets."""

    nodes: tuple[NodeFact, ...]
    etcd: str
    """`ok`, or what the API server's `/readyz/etcd` answered."""
    pods: tuple[PodFact, ...] = ()
    budgets: tuple[BudgetFact, ...] = ()


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


def nodes_behind(facts: ClusterFacts, target: K3sVersion) -> set[str]:
    """Nodes whose kubelet reports another release than `target` (the ones the playbook drains)."""
    return {fact.name for fact in facts.nodes if kubelet_version(fact.version) != target}


def snapshot_name(target: K3sVersion) -> str:
    """The pre-upgrade snapshot's name as upgrade.yml gives it (`+` is not safe in S3 keys)."""
    return SNAPSHOT_PREFIX + target.text.replace("+", "-")


def resume_command(config: str, target: K3sVersion) -> str:
    """The command that resumes a failed upgrade (finished nodes are skipped)."""
    return f"homelab upgrade k3s --to {target.text} {config}"


SNAPSHOT_DIR = "/var/lib/rancher/k3s/server/db/snapshots"


def rollback_steps(homelab: Homelab, target: K3sVersion, previous: K3sVersion) -> list[str]:
    """How to go back to `previous` with the pre-upgrade snapshot, numbered for the failure message.

    The reset runs on the first server: K3s refuses `--cluster-reset` where config.yaml has
    `server:`, which every other server has. With S3 in the config K3s looks the restore path up in
    the bucket, so the local file needs `--etcd-s3=false` (the same snapshot is in S3 by its name).
    """
    first = homelab.servers[0].name
    others = [s.name for s in homelab.servers[1:]]
    snap = snapshot_name(target)
    s3 = homelab.cluster.etcd_snapshots.s3 is not None
    restore = f"`k3s server --cluster-reset --cluster-reset-restore-path={SNAPSHOT_DIR}/<that file>" + (
        " --etcd-s3=false`" if s3 else "`"
    )
    steps = [
        "on every node: `systemctl stop k3s` (servers) or `systemctl stop k3s-agent` (agents)",
        f"put the {previous.text} binary back without starting anything: from ansible/, with "
        f"HOMELAB_K3S_TOKEN exported, `ansible-playbook upgrade.yml -e k3s_version={previous.text} "
        "-e homelab_cluster_api=false -e homelab_start_services=false`",
        f"on {first} (the first server: the reset refuses to run where config.yaml has `server:`): "
        f"`k3s etcd-snapshot ls` shows {snap}-{first}-<timestamp> (in {SNAPSHOT_DIR}/); run {restore}"
        + (" (without --etcd-s3=false K3s would fetch that path from S3)" if s3 else "")
        + ", then `systemctl start k3s`",
    ]
    if others:
        steps.append(
            f"on {', '.join(others)}: `rm -rf /var/lib/rancher/k3s/server/db`, then `systemctl start k3s` "
            "(they rejoin the restored cluster)"
        )
    if homelab.agents:
        steps.append("on every agent: `systemctl start k3s-agent`")
    return steps


DRAIN_TASKS = (
    "Drain the node",
    "Cordon the node before deleting pods no budget lets go",
    "Delete the pods no budget lets go (accepted downtime)",
)
"""upgrade.yml's tasks before the new binary: a failure there leaves the node on its old release."""


def failure_text(
    homelab: Homelab,
    config: str,
    *,
    failed_node: str,
    task: str,
    answer: str,
    target: K3sVersion,
    previous: K3sVersion,
    now: Sequence[str] = (),
) -> str:
    """What a failed upgrade tells the user: which node, what is done, how to resume or roll back.

    `now` is what a fresh look at the cluster found blocking (budgets short of healthy pods,
    sealed Vault pods), for a failed drain.
    """
    if task.startswith("Take the pre-upgrade etcd snapshot"):
        return (
            f"the etcd snapshot on {failed_node} failed ({answer}); no node was upgraded. Fix etcd, "
            f"then re-run `{resume_command(config, target)}`"
        )
    if task in DRAIN_TASKS:
        return drain_stop_text(
            homelab,
            config,
            node=failed_node,
            what=f"'{task}' failed: {answer}",
            now=now,
            target=target,
            previous=previous,
        )
    order = node_order(homelab)
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


def drain_stop_text(
    homelab: Homelab,
    config: str,
    *,
    node: str,
    what: str,
    now: Sequence[str],
    target: K3sVersion,
    previous: K3sVersion,
    cordoned: bool = True,
) -> str:
    """A stop before `node`'s new binary: a drain refused (or one that would be), never an etcd matter.

    Nothing needs rolling back: the node still runs its old release, the nodes before it run the
    new one as intended, and a mixed cluster within one minor step is what a rolling upgrade is.
    """
    order = node_order(homelab)
    done = order[: order.index(node)] if node in order else []
    rest = order[order.index(node) :] if node in order else [node]
    lines = [f"node {node} was not upgraded to {target.text}: {what}"]
    lines += [f"  now: {line}" for line in now]
    lines += [
        f"already at {target.text}: {', '.join(done) or 'none'}; still at {previous.text}: {', '.join(rest)}",
        f"homelab.yaml still says {previous.text}. Nothing to roll back: no etcd restore is needed, "
        f"{node} still runs {previous.text}.",
        "To resume: "
        + (
            "make those budgets whole again (each blocked pod Ready; for a sealed Vault pod see above), "
            if now
            else "find the PodDisruptionBudget that refused the eviction (`kubectl get pdb -A`: "
            "ALLOWED DISRUPTIONS 0) and let its pods become Ready, "
        )
        + f"then re-run `{resume_command(config, target)}` (nodes already upgraded are skipped).",
    ]
    if cordoned:
        lines.append(f"To put {node} back into service meanwhile: `kubectl uncordon {node}`.")
    return "\n".join(lines)


def unseal_instructions(homelab: Homelab, pods: Sequence[str]) -> list[str]:
    """Exactly what to run to unseal Vault pods by hand: each pod takes the threshold of key shares."""
    vault = homelab.config.services.vault
    return [
        f"Vault pod {pod} is sealed: run `kubectl -n {pod.split('/')[0]} exec -ti {pod.split('/')[1]} -- "
        f"vault operator unseal` {vault.key_threshold} times, one key share each (of {vault.key_shares})"
        for pod in pods
    ]


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
