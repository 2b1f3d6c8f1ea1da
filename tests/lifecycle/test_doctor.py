"""`homelab doctor`'s verdicts, decided from fact fixtures (present, missing, too old, unreadable),
and the Proxmox probe against the strict fake Proxmox and a port nobody listens on."""

from __future__ import annotations

import socket

import pytest

from homelabeazy.lifecycle.doctor import Row, decide, failed, proxmox_row
from homelabeazy.ops.doctor_facts import CollectionsFact, Facts, ProxmoxFact, ToolFact, proxmox_fact
from homelabeazy.toolchain import PFSENSE_COLLECTIONS, TOOLS
from tests.support.fake_proxmox import DEFAULT_TOKEN

GALAXY = "cd ansible && ansible-galaxy collection install -r requirements.yml"
PFSENSIBLE = PFSENSE_COLLECTIONS[0].version
INSTALLED = {"ansible.posix": ("2.1.0",), "community.general": ("11.4.2",), "pfsensible.core": (PFSENSIBLE,)}


def healthy(**changes: ToolFact) -> Facts:
    """Every tool at a version that satisfies it, every collection at its pin, Proxmox 9.1.1."""
    tools = {t.name: ToolFact(t.name, f"/bin/{t.name}", (9, 9)) for t in TOOLS}
    tools.update({f.name: f for f in changes.values()})
    return Facts(
        tools=tools,
        collections=CollectionsFact(INSTALLED),
        proxmox=ProxmoxFact("https://pve:8006", True, "9.1.1"),
    )


def row(rows: list[Row], check: str) -> Row:
    return next(r for r in rows if r.check == check)


def test_everything_present_is_ok_in_a_fixed_order() -> None:
    rows = decide(healthy())
    assert [r.check for r in rows] == [
        "terraform",
        "ansible-playbook",
        "helm",
        "kubectl",
        "ssh",
        "git",
        "collection ansible.posix",
        "collection community.general",
        "collection pfsensible.core",
        "Proxmox API",
    ]
    assert {r.level for r in rows} == {"ok"}
    assert failed(rows) == []
    assert row(rows, "terraform") == Row(
        "terraform", "ok", "ok", "9.9 at /bin/terraform", ">= 1.6", "", "9.9"
    )
    assert row(rows, "Proxmox API") == Row(
        "Proxmox API", "ok", "ok", "Proxmox VE 9.1.1 at https://pve:8006", ">= 8.0", "", "9.1.1"
    )


def test_missing_required_tool_fails_with_its_install_hint() -> None:
    rows = decide(healthy(terraform=ToolFact("terraform")))
    assert row(rows, "terraform") == Row(
        "terraform",
        "missing",
        "fail",
        "not on PATH",
        ">= 1.6",
        "install Terraform (developer.hashicorp.com/terraform/install) and put it on PATH",
    )
    assert [r.check for r in failed(rows)] == ["terraform"]


def test_too_old_tool_fails_and_says_how_to_upgrade() -> None:
    rows = decide(healthy(helm=ToolFact("helm", "/opt/helm", (3, 15, 4))))
    assert row(rows, "helm") == Row(
        "helm",
        "too old",
        "fail",
        "3.15.4 at /opt/helm",
        ">= 3.16",
        "upgrade: install Helm >= 3.16 (helm.sh/docs/intro/install), on PATH",
        "3.15.4",
    )
    assert row(decide(healthy(helm=ToolFact("helm", "/h", (3, 16)))), "helm").level == "ok"


def test_ansible_core_below_the_floor_fails() -> None:
    rows = decide(healthy(ap=ToolFact("ansible-playbook", "/v/ansible-playbook", (2, 15, 9))))
    assert row(rows, "ansible-playbook").status == "too old"
    fix = row(rows, "ansible-playbook").fix
    assert fix.startswith("upgrade: pip install 'homelabeazy[deep]'")
    assert "'ansible-core==2.19.14'" in fix


def test_unreadable_version_fails_naming_the_binary() -> None:
    fact = ToolFact("git", "/usr/bin/git", None, "git: reading its version failed: no output")
    assert row(decide(healthy(git=fact)), "git") == Row(
        "git",
        "unreadable",
        "fail",
        "git: reading its version failed: no output",
        "any version",
        "check that `/usr/bin/git` runs, or apt install git",
    )


def test_optional_kubectl_missing_only_warns() -> None:
    rows = decide(healthy(kubectl=ToolFact("kubectl")))
    assert (row(rows, "kubectl").status, row(rows, "kubectl").level) == ("missing", "warn")
    assert failed(rows) == []


def test_collections_missing_older_and_unlisted() -> None:
    facts = Facts(
        tools=healthy().tools,
        collections=CollectionsFact({"community.general": ("10.7.0", "9.0.0")}),
        proxmox=ProxmoxFact(),
    )
    rows = decide(facts)
    assert row(rows, "collection ansible.posix") == Row(
        "collection ansible.posix", "missing", "fail", "not installed", "2.1.0 (pinned)", GALAXY
    )
    # older than the tested pin works in all likelihood: worth a warning, not a refusal
    assert row(rows, "collection community.general") == Row(
        "collection community.general",
        "older than tested",
        "warn",
        "10.7.0",
        "11.4.2 (pinned)",
        GALAXY,
        "10.7.0",
    )
    assert row(rows, "collection pfsensible.core") == Row(
        "collection pfsensible.core",
        "missing",
        "warn",
        "not installed",
        f"{PFSENSIBLE} (pinned), untested",
        "cd network/pfsense && ansible-galaxy collection install -r requirements.yml",
    )
    unlisted = Facts(
        tools=healthy().tools, collections=CollectionsFact(None, "ansible-galaxy is not on PATH")
    )
    assert row(decide(unlisted), "collection community.general").status == "unknown"
    assert row(decide(unlisted), "collection community.general").level == "fail"


def test_for_up_keeps_only_what_up_runs() -> None:
    rows = decide(healthy(helm=ToolFact("helm")), for_up=True)
    assert [r.check for r in rows] == [
        "terraform",
        "ansible-playbook",
        "ssh",
        "git",
        "collection ansible.posix",
        "collection community.general",
    ]


def test_proxmox_rows() -> None:
    assert proxmox_row(ProxmoxFact()).level == "skip"
    assert proxmox_row(ProxmoxFact()).found == "PROXMOX_VE_ENDPOINT is not set"
    no_token = proxmox_row(ProxmoxFact("https://pve:8006"))
    assert (no_token.status, no_token.level) == ("no token", "warn")
    down = proxmox_row(
        ProxmoxFact("https://pve:8006", True, None, "GET /version failed: refused", "check it")
    )
    assert down == Row(
        "Proxmox API", "unreachable", "fail", "GET /version failed: refused", ">= 8.0", "check it"
    )
    old = proxmox_row(ProxmoxFact("https://pve:8006", True, "7.4-17"))
    assert (old.status, old.level, old.version) == ("older than tested", "warn", "7.4-17")


@pytest.mark.fake
def test_proxmox_version_from_the_fake(fake_proxmox) -> None:
    server = fake_proxmox("homelab", tls=False)
    env = {"PROXMOX_VE_ENDPOINT": server.url, "PROXMOX_VE_API_TOKEN": DEFAULT_TOKEN}
    fact = proxmox_fact(env, timeout=5)
    assert fact == ProxmoxFact(server.url, True, server.estate.version["version"])
    assert [q.path for q in server.requests] == ["/version"]
    assert proxmox_row(fact).level == "ok"


@pytest.mark.fake
def test_proxmox_rejected_token_never_shows_the_secret(fake_proxmox) -> None:
    server = fake_proxmox("homelab", tls=False)
    env = {"PROXMOX_VE_ENDPOINT": server.url, "PROXMOX_VE_API_TOKEN": "homelab@pve!import=wrong-secret-42"}
    result = proxmox_row(proxmox_fact(env, timeout=5))
    assert (result.status, result.level) == ("unreachable", "fail")
    assert "HTTP 401" in result.found
    assert "wrong-secret-42" not in repr(result)


@pytest.mark.fake
def test_proxmox_self_signed_needs_insecure(fake_proxmox) -> None:
    server = fake_proxmox("homelab", tls=True)
    env = {"PROXMOX_VE_ENDPOINT": server.url, "PROXMOX_VE_API_TOKEN": DEFAULT_TOKEN}
    refused = proxmox_row(proxmox_fact(env, timeout=5))
    assert refused.status == "unreachable"
    assert "--ca-cert" in refused.fix or "certificate" in refused.found.lower()
    assert proxmox_row(proxmox_fact({**env, "PROXMOX_VE_INSECURE": "true"}, timeout=5)).level == "ok"


def test_proxmox_unreachable_port() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"PROXMOX_VE_ENDPOINT": f"https://127.0.0.1:{port}", "PROXMOX_VE_API_TOKEN": DEFAULT_TOKEN}
    result = proxmox_row(proxmox_fact(env, timeout=3))
    assert (result.status, result.level) == ("unreachable", "fail")
    assert f"connecting to https://127.0.0.1:{port}" in result.found
    assert result.fix == "check the address and port (default 8006) and that pveproxy is running"
    assert DEFAULT_TOKEN.split("=")[1] not in repr(result)
