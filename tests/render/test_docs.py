"""The docs target: golden files of the example's README, ARCHITECTURE (Mermaid), RUNBOOK and .gitignore."""

from __future__ import annotations

import re
from pathlib import Path

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.model import Homelab, build
from homelabeazy.model.total_loss import TOTAL_LOSS, total_loss_steps
from homelabeazy.render import render_all
from homelabeazy.render.docs import access_label, mermaid
from tests.support.golden import assert_golden

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"


def test_docs_golden(example_homelab: Homelab) -> None:
    assert_golden(render_all(example_homelab, ["docs"]), "docs")


def test_render_is_deterministic(example_homelab: Homelab) -> None:
    assert render_all(example_homelab, ["docs"]) == render_all(example_homelab, ["docs"])


def test_mermaid_shows_this_homelab(example_homelab: Homelab) -> None:
    diagram = mermaid(example_homelab)
    for node in example_homelab.nodes:
        assert f"{node.name}<br/>{node.role} {node.ip}" in diagram
    for route in example_homelab.routes:
        assert route.host in diagram
    for zone in example_homelab.zones:
        assert f"VLAN {zone.vlan_id} {zone.name} {zone.cidr}" in diagram
    assert "API VIP 10.10.10.10" in diagram


def runbook_of(text: str) -> str:
    homelab = build(load_config(text).config)
    return render_all(homelab, ["docs"])["docs/RUNBOOK.md"]


def test_runbook_lists_this_homelabs_addresses_routes_and_access(example_homelab: Homelab) -> None:
    runbook = render_all(example_homelab, ["docs"])["docs/RUNBOOK.md"]
    for node in example_homelab.nodes:
        assert f"| {node.ip} | {node.fqdn} |" in runbook
    for route in example_homelab.routes:
        row = f"| https://{route.host} | {route.owner} | {route.namespace} | {access_label(route)} |"
        assert row in runbook
    # Who may reach what is the firewall's own verdict (the same as `homelab net check`).
    assert "| guests | tcp 443; tcp+udp 53 to 10.10.10.1 | local (not routed) | none | all |" in runbook
    assert "| admins | alice |" in runbook


def test_runbook_backups_follow_velero() -> None:
    with_velero = runbook_of(example_text())
    assert "| daily | `0 3 * * *` | 720h | * |" in with_velero
    assert "homelab backup restore NAME" in with_velero
    without = runbook_of(example_text().replace("  velero:\n", "  velero:\n    enabled: false\n", 1))
    assert "nothing backs up this cluster" in without
    assert "homelab backup restore" not in without


def test_runbook_has_no_pfsense_row_without_pfsense() -> None:
    minimal = (FIXTURES / "valid" / "minimal.yaml").read_text(encoding="utf-8")
    runbook = runbook_of(minimal)
    assert "## How to recover" in runbook
    assert ("pfSense" in runbook) == ("pfsense:" in minimal)


def test_runbook_restores_a_local_snapshot_past_the_s3_settings() -> None:
    """With S3 in config.yaml K3s looks the restore path up in the bucket: a local file needs
    `--etcd-s3=false`, and the reset runs on the first server (the others have `server:`)."""
    with_s3 = " ".join(runbook_of(example_text()).split())
    local = (
        "--cluster-reset-restore-path=/var/lib/rancher/k3s/server/db/snapshots/<snapshot> --etcd-s3=false`"
    )
    assert local in with_s3
    assert (
        "On k3s-server-1 (the first server: the reset refuses to run where config.yaml has `server:`)"
        in with_s3
    )
    assert "`k3s server --cluster-reset --cluster-reset-restore-path=<snapshot>` (K3s downloads it" in with_s3
    without = " ".join(runbook_of(example_text().replace("      prefix: velero\n", "", 1)).split())
    assert "--etcd-s3=false" not in without
    assert "--cluster-reset-restore-path=/var/lib/rancher/k3s/server/db/snapshots/<snapshot>`" in without


def test_runbook_says_how_the_upgrade_handles_vault() -> None:
    runbook = " ".join(runbook_of(example_text()).split())
    assert "`kubectl -n vault exec -ti <pod> -- vault operator unseal` (3 times" in runbook
    assert "single Vault replica" not in runbook
    single = " ".join(
        runbook_of(
            example_text().replace(
                "    replicas: 3\n    storage: 10Gi", "    replicas: 1\n    storage: 10Gi", 1
            )
        ).split()
    )
    assert "this homelab's single Vault replica is one" in single


def _total_loss_commands(runbook: str) -> list[str]:
    """The commands of the runbook's "After a total loss" section, in order."""
    section = runbook.split("## After a total loss", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^   - `([^`]+)`$", section, flags=re.MULTILINE)


def test_runbook_restores_a_total_loss_in_the_one_order(example_homelab: Homelab) -> None:
    """Issue 29: the runbook had its own order (etcd before Vault) and none of the restore commands."""
    runbook = render_all(example_homelab, ["docs"])["docs/RUNBOOK.md"]
    assert _total_loss_commands(runbook) == [c for step in TOTAL_LOSS for c in step.commands]
    for command in ("secrets restore-bootstrap", "secrets restore --latest", "users import", "dr drill"):
        assert f"`homelab {command}" in runbook
    assert "[Restoring etcd](#restoring-etcd)" in runbook
    assert "### Restoring etcd" in runbook


def test_runbook_leaves_out_the_restore_steps_of_services_switched_off() -> None:
    text = example_text().replace("  velero:\n", "  velero:\n    enabled: false\n", 1)
    homelab = build(load_config(text).config)
    commands = _total_loss_commands(render_all(homelab, ["docs"])["docs/RUNBOOK.md"])
    assert commands == [c for step in total_loss_steps(homelab) for c in step.commands]
    assert "homelab backup list" not in commands
    assert "homelab users import --latest" in commands


def test_readme_pushes_the_tree_argocd_syncs_before_homelab_up(example_homelab: Homelab) -> None:
    """Issue 29: "Bring it up" went straight to `homelab up`, but ArgoCD pulls from the Git remote,
    which holds nothing yet: the push to `gitops.repo_url` at `gitops.revision` comes first."""
    readme = render_all(example_homelab, ["docs"])["README.md"]
    block = readme.split("## Bring it up", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    gitops = example_homelab.config.gitops
    push = f"git push {gitops.repo_url} HEAD:{gitops.revision}"
    assert push in lines
    commit = next(i for i, line in enumerate(lines) if line.startswith("git add -A && git commit"))
    assert commit < lines.index(push) < lines.index("homelab up")
    other = render_all(
        build(load_config(example_text().replace("revision: main", "revision: prod")).config), ["docs"]
    )
    assert f"git push {gitops.repo_url} HEAD:prod" in other["README.md"]
