"""`homelab upgrade k3s`: the version rules, the preflight, the failure message, the homelab.yaml edit,
and the runner's order (check -> preflight -> playbook -> record) with the cluster and Ansible faked.
The real playbook against chroot hosts is tests/ansible/test_upgrade_chroot.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.lifecycle.k3s_upgrade import (
    ClusterFacts,
    K3sVersion,
    NodeFact,
    check_step,
    node_facts,
    parse_version,
    preflight_problems,
    rollback_steps,
    set_k3s_version,
)
from homelabeazy.lifecycle.k3s_upgrade_runner import (
    UpgradeFailed,
    join_token,
    kube_reader,
    upgrade_k3s,
)
from homelabeazy.model import Homelab, build
from homelabeazy.ops.ansible import Failure, HostStats, PlaybookFailed, PlaybookResult
from tests.conftest import CliResult
from tests.support.fake_kube import FakeKubeServer

NODES = ("k3s-server-1", "k3s-server-2", "k3s-server-3", "k3s-agent-1", "k3s-agent-2")
START = "v1.33.5+k3s1"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("v1.34.1+k3s1", K3sVersion(34, 1, 1)), (" v1.33.10+k3s2 ", K3sVersion(33, 10, 2))],
)
def test_parse_version(text: str, parsed: K3sVersion) -> None:
    assert parse_version(text) == parsed
    assert parsed.text == text.strip()


@pytest.mark.parametrize(
    "text", ["v1.34", "1.34.1+k3s1", "v1.34.1", "v1.34.1-rc1+k3s1", "v2.0.0+k3s1", "latest"]
)
def test_bad_version_strings_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_version(text)
    assert str(caught.value) == (
        f"--to {text!r}: not a K3s release; expected vMAJOR.MINOR.PATCH+k3sN, e.g. v1.34.1+k3s1 "
        "(the tags of https://github.com/k3s-io/k3s/releases)"
    )


@pytest.mark.parametrize(
    "target", ["v1.33.5+k3s1", "v1.33.5+k3s2", "v1.33.9+k3s1", "v1.34.0+k3s1", "v1.34.7+k3s1"]
)
def test_same_patch_or_next_minor_is_allowed(target: str) -> None:
    check_step(parse_version(START), parse_version(target))


def test_skipped_minor_is_refused() -> None:
    with pytest.raises(UsageError) as caught:
        check_step(parse_version(START), parse_version("v1.36.0+k3s1"))
    assert str(caught.value) == (
        "--to v1.36.0+k3s1 skips Kubernetes 1.34, 1.35: K3s upgrades one minor version at a time; "
        "upgrade to the newest v1.34.x+k3sN first, then to v1.36.0+k3s1"
    )


@pytest.mark.parametrize("target", ["v1.33.4+k3s1", "v1.32.9+k3s1", "v1.33.5+k3s0"])
def test_downgrade_is_refused(target: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_step(parse_version(START), parse_version(target))
    assert str(caught.value).startswith(f"--to {target} is older than {START}, which the cluster runs:")
    assert "restore an etcd snapshot" in str(caught.value)


def _facts(*, etcd: str = "ok", **changes: NodeFact | None) -> ClusterFacts:
    nodes = {name: NodeFact(name, True, START) for name in NODES}
    for key, fact in changes.items():
        name = key.replace("_", "-")
        if fact is None:
            del nodes[name]
        else:
            nodes[name] = fact
    return ClusterFacts(tuple(nodes.values()), etcd)


def test_preflight_passes_a_healthy_cluster(example_homelab: Homelab) -> None:
    assert preflight_problems(example_homelab, _facts(), parse_version("v1.34.1+k3s1")) == []
    cordoned = NodeFact("k3s-server-2", True, "v1.34.1+k3s1", unschedulable=True)
    assert (
        preflight_problems(example_homelab, _facts(k3s_server_2=cordoned), parse_version("v1.34.1+k3s1"))
        == []
    )


def test_preflight_lists_every_problem(example_homelab: Homelab) -> None:
    facts = _facts(
        etcd="[-]etcd failed: reason withheld",
        k3s_server_3=NodeFact("k3s-server-3", False, START),
        k3s_agent_2=None,
        k3s_agent_1=NodeFact("k3s-agent-1", True, "v1.34.2+k3s1"),
    )
    assert preflight_problems(example_homelab, facts, parse_version("v1.34.1+k3s1")) == [
        "etcd is not healthy (the API server's /readyz/etcd says: [-]etcd failed: reason withheld)",
        "node k3s-server-3 is not Ready",
        "node k3s-agent-1 already runs v1.34.2+k3s1, newer than v1.34.1+k3s1",
        "node k3s-agent-2 is in homelab.yaml but not in the cluster",
    ]


def test_node_facts_from_api_objects() -> None:
    items = [
        {
            "metadata": {"name": "b"},
            "spec": {"unschedulable": True},
            "status": {
                "conditions": [
                    {"type": "MemoryPressure", "status": "False"},
                    {"type": "Ready", "status": "True"},
                ],
                "nodeInfo": {"kubeletVersion": START},
            },
        },
        {"metadata": {"name": "a"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}},
    ]
    assert node_facts(items) == (NodeFact("a", False, ""), NodeFact("b", True, START, unschedulable=True))


def test_set_version_keeps_every_comment() -> None:
    text = example_text()
    new = set_k3s_version(text, parse_version("v1.34.1+k3s1"))
    assert new == text.replace(f"k3s_version: {START}\n", "k3s_version: v1.34.1+k3s1\n")
    assert set_k3s_version(new, parse_version("v1.34.1+k3s1")) == new


# --- the runner, cluster and Ansible faked ---------------------------------------------------------


class Recorder:
    """A fake cluster reader and playbook runner that record what was asked of them."""

    def __init__(self, facts: ClusterFacts, failure: Failure | None = None) -> None:
        self.facts = facts
        self.failure = failure
        self.log: list[str] = []

    def read(self) -> ClusterFacts:
        self.log.append("read")
        return self.facts

    def playbook(self, extravars: Mapping[str, Any]) -> PlaybookResult:
        self.log.append(f"playbook {dict(extravars)}")
        if self.failure is not None:
            raise PlaybookFailed("running upgrade.yml", self.failure.format(), "", (self.failure,))
        return PlaybookResult("upgrade.yml", {name: HostStats(ok=5, changed=3) for name in NODES})


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "homelab.yaml"
    path.write_text(example_text())
    path.chmod(0o640)
    return path


def _upgrade(config: Path, target: str, recorder: Recorder) -> Callable[[], object]:
    homelab = build(load_config(config.read_text()).config)
    return lambda: upgrade_k3s(
        config, homelab, target, read_cluster=recorder.read, playbook=recorder.playbook
    )


ALL = ",".join(NODES)


def test_success_runs_the_playbook_then_records_the_version(config: Path) -> None:
    recorder = Recorder(_facts())
    outcome = _upgrade(config, "v1.34.1+k3s1", recorder)()
    assert recorder.log == [
        "read",
        f"playbook {{'k3s_version': 'v1.34.1+k3s1', 'upgrade_hosts': '{ALL}', 'upgrade_snapshot': True}}",
        "read",
    ]
    assert config.read_text() == example_text().replace(START, "v1.34.1+k3s1")
    assert config.stat().st_mode & 0o777 == 0o640
    assert outcome.summary(config) == (  # type: ignore[attr-defined]
        f"every node runs v1.34.1+k3s1 (15 changed task(s)); {config} now says v1.34.1+k3s1: run "
        "`homelab render` and commit homelab.yaml with the re-rendered repo"
    )


def test_skip_is_refused_before_reading_the_cluster(config: Path) -> None:
    recorder = Recorder(_facts())
    with pytest.raises(UsageError, match=r"skips Kubernetes 1\.34"):
        _upgrade(config, "v1.35.0+k3s1", recorder)()
    assert recorder.log == []
    assert config.read_text() == example_text()


def test_a_node_behind_homelab_yaml_counts_for_the_skip(config: Path) -> None:
    """homelab.yaml says 1.33, but one agent still runs 1.32: 1.34 would skip 1.33 for it."""
    recorder = Recorder(_facts(k3s_agent_2=NodeFact("k3s-agent-2", True, "v1.32.9+k3s1")))
    with pytest.raises(UsageError, match=r"skips Kubernetes 1\.33"):
        _upgrade(config, "v1.34.1+k3s1", recorder)()
    assert recorder.log == ["read"]


def test_preflight_problems_stop_before_the_playbook(config: Path) -> None:
    recorder = Recorder(_facts(k3s_server_2=NodeFact("k3s-server-2", False, START)))
    with pytest.raises(ExternalSystemError) as caught:
        _upgrade(config, "v1.33.6+k3s1", recorder)()
    assert str(caught.value).startswith(
        "kubernetes: the preflight for K3s v1.33.6+k3s1 failed: node k3s-server-2 is not Ready"
    )
    assert caught.value.exit_code == 1
    assert recorder.log == ["read"]
    assert config.read_text() == example_text()


def test_failing_node_names_it_and_leaves_homelab_yaml(config: Path) -> None:
    failure = Failure("k3s-server-3", "Wait for the node to be Ready", "error: timed out")
    with pytest.raises(UpgradeFailed) as caught:
        _upgrade(config, "v1.34.1+k3s1", Recorder(_facts(), failure))()
    lines = str(caught.value).splitlines()
    assert lines[0] == (
        "ansible: upgrading K3s to v1.34.1+k3s1 failed: node k3s-server-3 failed to upgrade to v1.34.1+k3s1 "
        "at 'Wait for the node to be Ready': error: timed out"
    )
    assert lines[1] == (
        "already at v1.34.1+k3s1: k3s-server-1, k3s-server-2; not touched: k3s-agent-1, k3s-agent-2"
    )
    assert lines[2] == f"homelab.yaml still says {START}."
    assert f"`homelab upgrade k3s --to v1.34.1+k3s1 {config}`" in lines[3]
    assert lines[5].startswith("  1. on every node: `systemctl stop k3s`")
    # The first server (the others have `server:`, where K3s refuses a reset), and the local file
    # past the S3 settings of config.yaml (K3s would fetch the path from the bucket otherwise).
    assert lines[7] == (
        "  3. on k3s-server-1 (the first server: the reset refuses to run where config.yaml has `server:`): "
        "`k3s etcd-snapshot ls` shows pre-upgrade-v1.34.1-k3s1-k3s-server-1-<timestamp> (in "
        "/var/lib/rancher/k3s/server/db/snapshots/); run `k3s server --cluster-reset "
        "--cluster-reset-restore-path=/var/lib/rancher/k3s/server/db/snapshots/<that file> --etcd-s3=false` "
        "(without --etcd-s3=false K3s would fetch that path from S3), then `systemctl start k3s`"
    )
    assert lines[-1] == "  5. on every agent: `systemctl start k3s-agent`"
    assert config.read_text() == example_text()


def test_rollback_without_s3_restores_the_file_as_it_is() -> None:
    text = example_text().replace("      prefix: velero\n", "", 1)
    homelab = build(load_config(text).config)
    steps = rollback_steps(homelab, parse_version("v1.34.1+k3s1"), parse_version(START))
    assert "--cluster-reset-restore-path=/var/lib/rancher/k3s/server/db/snapshots/<that file>`," in steps[2]
    assert "etcd-s3" not in steps[2]


def test_failed_snapshot_says_nothing_was_upgraded(config: Path) -> None:
    failure = Failure("k3s-server-1", "Take the pre-upgrade etcd snapshot", "etcd is not healthy")
    with pytest.raises(UpgradeFailed) as caught:
        _upgrade(config, "v1.33.6+k3s1", Recorder(_facts(), failure))()
    assert str(caught.value) == (
        "ansible: upgrading K3s to v1.33.6+k3s1 failed: the etcd snapshot on k3s-server-1 failed "
        "(etcd is not healthy); no node was upgraded. Fix etcd, then re-run "
        f"`homelab upgrade k3s --to v1.33.6+k3s1 {config}`"
    )


def test_join_token_is_never_made_up(tmp_path: Path) -> None:
    assert join_token(tmp_path / "token", {"HOMELAB_K3S_TOKEN": " t0ken "}) == "t0ken"
    (tmp_path / "token").write_text("from-file\n")
    assert join_token(tmp_path / "token", {}) == "from-file"
    with pytest.raises(UsageError, match="the K3s join token is needed to upgrade"):
        join_token(tmp_path / "absent", {})


def test_kube_reader_reads_nodes_and_etcd_health(tmp_path: Path) -> None:
    with FakeKubeServer() as kube:
        for name, ready in (("k3s-server-1", "True"), ("k3s-agent-1", "False")):
            kube.put(
                "/api/v1/nodes",
                {
                    "metadata": {"name": name},
                    "status": {
                        "conditions": [{"type": "Ready", "status": ready}],
                        "nodeInfo": {"kubeletVersion": START},
                    },
                },
            )
        read = kube_reader(kube.kubeconfig(tmp_path))
        assert read() == ClusterFacts(
            (NodeFact("k3s-agent-1", False, START), NodeFact("k3s-server-1", True, START)), "ok"
        )
        kube.health["etcd"] = (500, "[-]etcd failed: reason withheld\nreadyz check failed")
        assert read().etcd.startswith("HTTP 500 Internal Server Error: [-]etcd failed: reason withheld")


def test_cli_refuses_bad_and_skipping_versions(cli: Callable[..., CliResult], config: Path) -> None:
    bad = cli("upgrade", "k3s", "--to", "1.34", str(config), "--yes")
    assert bad.code == 2
    assert "--to '1.34': not a K3s release" in bad.err
    skip = cli("upgrade", "k3s", "--to", "v1.35.0+k3s1", str(config), "--yes")
    assert skip.code == 2
    assert "skips Kubernetes 1.34" in " ".join(skip.err.split())
    assert config.read_text() == example_text()
