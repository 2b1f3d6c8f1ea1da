"""The docs site's reference pages are what the code generates today (run `make docs-gen`).

Each page is regenerated from the schema, the check registry with its fixtures, and the Typer app,
and compared with the committed file: changing any of them without regenerating fails here.
"""

from __future__ import annotations

import pytest

from homelabeazy.checks import CHECKS
from tests.support import docs_reference
from tests.support.docs_reference import ROOT

pytestmark = pytest.mark.slow  # renders every reference page, the example's runbook included

DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return docs_reference.generate()


@pytest.mark.parametrize("page", sorted(docs_reference.PAGES))
def test_committed_page_is_up_to_date(page: str, pages: dict[str, str]) -> None:
    committed = (DOCS / page).read_text(encoding="utf-8")
    assert committed == pages[page], f"docs/{page} is stale: run `make docs-gen` and commit it"


def test_every_config_key_has_a_row(pages: dict[str, str]) -> None:
    """Spot-check depth: a nested key, a list item's key and an aliased key each get a row."""
    text = pages["reference/configuration.md"]
    for key in (
        "`cluster.vip`",
        "`apps[].access`",
        "`network.firewall.rules[].from`",
        "`services.vault.key_shares`",
    ):
        assert f"| {key} |" in text, key


def test_every_check_has_a_section_with_its_printed_message(pages: dict[str, str]) -> None:
    text = pages["reference/checks.md"]
    for check in CHECKS:
        section = text.split(f"## `{check.id}`\n", 1)[1].split("\n## ", 1)[0]
        assert "```diff" in section, check.id
        assert "homelab.yaml:" in section, check.id


def test_every_command_is_listed(pages: dict[str, str]) -> None:
    text = pages["reference/cli.md"]
    for command in (
        "homelab validate",
        "homelab up",
        "homelab net check",
        "homelab backup restore",
        "homelab users add",
    ):
        assert f"## `{command}`" in text, command
    assert "| `--deep` | flag |" in text
