"""`homelab upgrade k3s`'s pure decisions on each side of every edge: the version step (same minor,
next minor, one past it, one patch or build back), the preflight going on past a missing node, the
oldest node's version, the rollback for one server or several, the failure text for a node the
homelab does not list, and the homelab.yaml edit (a no-op when already there, refused without a
`cluster:` mapping, the example's list style and long lines kept)."""

from __future__ import annotations

import pytest

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.errors import UsageError
from homelabeazy.lifecycle.k3s_upgrade import (
    ClusterFacts,
    K3sVersion,
    NodeFact,
    check_step,
    failure_text,
    node_facts,
    oldest_version,
    parse_version,
    preflight_problems,
    rollback_steps,
    set_k3s_version,
    snapshot_name,
)
from homelabeazy.model import Homelab, build

START = "v1.33.5+k3s1"
TARGET = parse_version("v1.34.1+k3s1")
NODES = ("k3s-server-1", "k3s-server-2", "k3s-server-3", "k3s-agent-1", "k3s-agent-2")


@pytest.fixture(scope="module")
def example() -> Homelab:
    return build(load_config(example_text()).config)


@pytest.fixture(scope="module")
def single() -> Homelab:
    """One server, no agents."""
    text = example_text()
    for old, new in (
        ("  servers:\n    count: 3\n", "  servers:\n    count: 1\n"),
        ("    count: 2\n", "    count: 0\n"),
    ):
        assert old in text, old
        text = text.replace(old, new, 1)
    homelab = build(load_config(text).config)
    assert ([n.name for n in homelab.servers], homelab.agents) == (["k3s-server-1"], ())
    return homelab


# --- the version step ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("v1.33.5+k3s1", "v1.33.5+k3s1", True),  # the same release: nothing to refuse
        ("v1.33.5+k3s1", "v1.33.5+k3s2", True),
        ("v1.33.5+k3s2", "v1.33.6+k3s1", True),  # a new patch starts its builds again
        ("v1.33.9+k3s1", "v1.34.0+k3s1", True),  # the next minor, whatever the patch
        ("v1.33.0+k3s1", "v1.34.9+k3s3", True),
        ("v1.33.5+k3s1", "v1.35.0+k3s1", False),  # one minor too far
        ("v1.33.5+k3s2", "v1.33.5+k3s1", False),  # one build back
        ("v1.33.5+k3s1", "v1.33.4+k3s9", False),  # one patch back
        ("v1.34.0+k3s1", "v1.33.9+k3s9", False),  # one minor back
    ],
)
def test_check_step_on_each_side(current: str, target: str, allowed: bool) -> None:
    if allowed:
        check_step(parse_version(current), parse_version(target))
        return
    with pytest.raises(UsageError):
        check_step(parse_version(current), parse_version(target))


def test_the_refusals_say_how_to_go_on() -> None:
    with pytest.raises(UsageError) as caught:
        check_step(parse_version("v1.34.0+k3s1"), parse_version(START))
    assert str(caught.value) == (
        f"--to {START} is older than v1.34.0+k3s1, which the cluster runs: K3s cannot be downgraded in "
        "place; to go back, restore an etcd snapshot taken before the upgrade (docs/RUNBOOK.md, "
        "'Restoring etcd')"
    )
    with pytest.raises(UsageError) as caught:
        check_step(parse_version(START), parse_version("v1.35.2+k3s1"))
    assert str(caught.value) == (
        "--to v1.35.2+k3s1 skips Kubernetes 1.34: K3s upgrades one minor version at a time; "
        "upgrade to the newest v1.34.x+k3sN first, then to v1.35.2+k3s1"
    )


def test_versions_order_as_releases_do() -> None:
    assert K3sVersion(33, 10, 1) > K3sVersion(33, 9, 9) > K3sVersion(33, 9, 1)
    assert K3sVersion(34, 0, 1) > K3sVersion(33, 99, 99)
    assert K3sVersion(33, 5, 1).text == "v1.33.5+k3s1"


# --- the cluster's facts -------------------------------------------------------------------------


def _facts(*facts: NodeFact, etcd: str = "ok") -> ClusterFacts:
    by_name = {name: NodeFact(name, True, START) for name in NODES}
    by_name.update((f.name, f) for f in facts)
    return ClusterFacts(tuple(by_name.values()), etcd)


def test_preflight_goes_on_past_a_missing_first_node(example: Homelab) -> None:
    facts = _facts(NodeFact("k3s-agent-2", False, START))
    facts = ClusterFacts(tuple(f for f in facts.nodes if f.name != "k3s-server-1"), " ok \n")
    assert preflight_problems(example, facts, TARGET) == [
        "node k3s-server-1 is in homelab.yaml but not in the cluster",
        "node k3s-agent-2 is not Ready",
    ]


def test_preflight_a_node_at_the_target_is_fine_one_build_past_it_is_not(example: Homelab) -> None:
    at = _facts(NodeFact("k3s-server-2", True, TARGET.text))
    assert preflight_problems(example, at, TARGET) == []
    past = _facts(NodeFact("k3s-server-2", True, "v1.34.1+k3s2"))
    assert preflight_problems(example, past, TARGET) == [
        "node k3s-server-2 already runs v1.34.1+k3s2, newer than v1.34.1+k3s1"
    ]
    foreign = _facts(NodeFact("k3s-server-2", True, "v1.35.0"))  # not a K3s kubelet: not judged
    assert preflight_problems(example, foreign, TARGET) == []


def test_node_facts_name_a_node_without_metadata() -> None:
    facts = node_facts([{"status": {"conditions": [{"type": "Ready", "status": "True"}]}}, {"metadata": {}}])
    assert facts == (NodeFact("?", True, ""), NodeFact("?", False, ""))


def test_oldest_version_counts_only_the_homelabs_nodes(example: Homelab) -> None:
    facts = _facts(
        NodeFact("k3s-agent-1", True, "v1.33.4+k3s2"),
        NodeFact("k3s-server-3", True, "v1.34.0+k3s1"),
    )
    stray = NodeFact("old-box", True, "v1.30.0+k3s1")
    assert oldest_version(ClusterFacts((*facts.nodes, stray), "ok"), example) == K3sVersion(33, 4, 2)
    unknown = ClusterFacts(tuple(NodeFact(n, True, "") for n in NODES), "ok")
    assert oldest_version(unknown, example) is None
    assert oldest_version(ClusterFacts((stray,), "ok"), example) is None


# --- when it fails -------------------------------------------------------------------------------


def test_snapshot_name_has_no_plus() -> None:
    assert snapshot_name(TARGET) == "pre-upgrade-v1.34.1-k3s1"


def test_rollback_resets_the_first_server_and_rejoins_the_others(example: Homelab) -> None:
    steps = rollback_steps(example, TARGET, parse_version(START))
    reset = next(s for s in steps if "--cluster-reset" in s)
    assert reset.startswith("on k3s-server-1")
    assert "pre-upgrade-v1.34.1-k3s1-k3s-server-1-<timestamp>" in reset
    assert any(f"k3s_version={START}" in s for s in steps)
    rejoin = [s for s in steps if "rm -rf /var/lib/rancher/k3s/server/db" in s]
    assert len(rejoin) == 1
    assert rejoin[0].startswith("on k3s-server-2, k3s-server-3: ")
    assert rejoin[0].endswith("(they rejoin the restored cluster)")
    assert steps[-1] == "on every agent: `systemctl start k3s-agent`"


def test_rollback_of_one_server_without_agents_has_nothing_to_rejoin(single: Homelab) -> None:
    steps = rollback_steps(single, TARGET, parse_version(START))
    assert not any("rm -rf" in s or s.startswith("on every agent:") for s in steps)
    assert "--cluster-reset" in steps[-1]
    assert steps[-1].startswith("on k3s-server-1")


def test_failure_on_a_node_the_homelab_does_not_list(example: Homelab) -> None:
    text = failure_text(
        example,
        "homelab.yaml",
        failed_node="stranger",
        task="Install the new binary",
        answer="boom",
        target=TARGET,
        previous=parse_version(START),
    )
    assert "already at v1.34.1+k3s1: none; not touched: none" in text
    assert "(nodes already upgraded are skipped; a node left cordoned is uncordoned once Ready)." in text


def test_failure_on_the_first_and_the_last_node(example: Homelab) -> None:
    def lines(node: str) -> str:
        text = failure_text(
            example,
            "homelab.yaml",
            failed_node=node,
            task="Install the new binary",
            answer="boom",
            target=TARGET,
            previous=parse_version(START),
        )
        return next(line for line in text.splitlines() if line.startswith("already at"))

    assert lines("k3s-server-1") == (
        "already at v1.34.1+k3s1: none; not touched: k3s-server-2, k3s-server-3, k3s-agent-1, k3s-agent-2"
    )
    assert lines("k3s-agent-2") == (
        "already at v1.34.1+k3s1: k3s-server-1, k3s-server-2, k3s-server-3, k3s-agent-1; not touched: none"
    )


# --- the homelab.yaml edit -----------------------------------------------------------------------


def test_set_version_already_there_returns_the_text_untouched() -> None:
    """Byte for byte, even where a dump would restyle it (quotes, spacing)."""
    text = example_text().replace(f"k3s_version: {START}", f"k3s_version:   '{TARGET.text}'")
    assert set_k3s_version(text, TARGET) is text


@pytest.mark.parametrize("text", ["- just\n- a list\n", "cluster: v1.33\n", "name: lab\n", ""])
def test_set_version_without_a_cluster_mapping_is_refused(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        set_k3s_version(text, TARGET)
    assert str(caught.value) == "homelab.yaml has no `cluster:` mapping to record the K3s version in"


def test_set_version_keeps_the_list_style_and_long_lines() -> None:
    long = "x" * 300
    text = (
        f"name: lab  # {long}\n"
        "cluster:\n"
        f"  k3s_version: {START}\n"
        "  ssh:\n"
        "    keys:\n"
        "      - a\n"
        "      - b\n"
        f"  note: {long} {long}\n"
    )
    assert set_k3s_version(text, TARGET) == text.replace(START, TARGET.text)
