"""Issue 26: free text the schema accepts reads back as exactly that text in every format it lands in.

A firewall rule's description becomes an nftables comment, a pfSense rule name and a Markdown table
cell; a DNS record's description a comment in the Unbound and dnsmasq files. For any description
`homelab validate` accepts (hypothesis draws them from all of Unicode, then keeps those the schema
takes), the real consumer reads it back unchanged: `nft` loads the ruleset into a network namespace
and lists the comment; Ansible's YAML loader and the model of pfsensible's rule module put the name
into config.xml, which ElementTree parses back; markdown-it renders the cell; Unbound and dnsmasq
load their files and answer every name.
"""

from __future__ import annotations

import html.parser
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from pydantic import TypeAdapter, ValidationError

from homelabeazy.checks import load_config
from homelabeazy.config.schema.network import RuleText
from homelabeazy.config.starter import example_text
from homelabeazy.model import build
from homelabeazy.render import render_all
from homelabeazy.render.templates import markdown_cell
from tests.support import pfsensible_firewall
from tests.support.integration import need_binary
from tests.support.pfsense_config import USER
from tests.support.resolvers import Resolver

PLAIN = "description: guests may use the web apps through Traefik"
SETTINGS = settings(
    max_examples=int(os.environ.get("HOMELAB_FORMAT_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def accepted(value: str) -> bool:
    try:
        TypeAdapter(RuleText).validate_python(value)
    except ValidationError:
        return False
    return bool(value)


descriptions = st.one_of(
    st.sampled_from(
        [
            "a | b",
            "*not* _emphasis_ `code` [link](x) <b>html</b> &amp; \\ back",
            "'single' and # hash ; semi { brace } $var @set",
            "two  spaces and\u00a0nbsp",
            "ünïcode ✓ 日本 👨\u200d👩\u200d👧",
            "x" * 100,
            "é" * 50,
        ]
    ),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=60),
).filter(accepted)


def _yaml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _rendered(description: str) -> dict[str, str]:
    text = example_text().replace(PLAIN, f"description: {_yaml_string(description)}")
    return render_all(build(load_config(text, file="homelab.yaml").config))


# --------------------------------------------------------------------------- Markdown


class _Cells(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[str] = []
        self._in = False

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "td":
            self._in = True
            self.cells.append("")
        elif self._in:
            self.cells[-1] += f"<{tag}>"  # markup inside a cell: the text was not read as text

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in = False

    def handle_data(self, data: str) -> None:
        if self._in:
            self.cells[-1] += data


def _cells(markdown: str) -> list[str]:
    parser = _Cells()
    parser.feed(MarkdownIt("commonmark").enable("table").render(markdown))
    return parser.cells


@SETTINGS
@given(descriptions)
def test_a_markdown_cell_reads_back_as_the_text(value: str) -> None:
    row = f"| a | b |\n|---|---|\n| {markdown_cell(value)} | end |\n"
    assert _cells(row) == [value, "end"]


@pytest.mark.slow  # seconds per case: left out of `make check`, run by `make test`
@settings(max_examples=15, deadline=None)
@given(descriptions)
def test_the_runbook_and_network_readme_show_the_description_as_written(value: str) -> None:
    files = _rendered(value)
    for path in ("network/README.md", "docs/RUNBOOK.md"):
        assert value in _cells(files[path]), path


# --------------------------------------------------------------------------- nftables


@pytest.fixture(scope="module")
def netns() -> Iterator[str]:
    need_binary("nft", "apt-get install nftables")
    name = f"hl-text-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def _comments(netns: str, ruleset: str, folder: Path) -> list[str]:
    path = folder / "homelab.nft"
    path.write_text(ruleset, encoding="utf-8")
    loaded = subprocess.run(
        ["ip", "netns", "exec", netns, "nft", "-f", str(path)], capture_output=True, text=True, check=False
    )
    assert loaded.returncode == 0, loaded.stderr
    listed = subprocess.run(
        ["ip", "netns", "exec", netns, "nft", "-j", "list", "ruleset"],
        capture_output=True,
        text=True,
        check=True,
    )
    subprocess.run(["ip", "netns", "exec", netns, "nft", "flush", "ruleset"], check=True)
    return [
        item["rule"].get("comment", "") for item in json.loads(listed.stdout)["nftables"] if "rule" in item
    ]


@pytest.mark.integration
@SETTINGS
@given(descriptions)
def test_nft_loads_the_comment_exactly(netns: str, tmp_path: Path, value: str) -> None:
    ruleset = _rendered(value)["network/nftables/homelab.nft"]
    assert f"#1 {value}" in _comments(netns, ruleset, tmp_path)


# --------------------------------------------------------------------------- pfSense


def _ansible_load(text: str) -> Any:
    from ansible.parsing.yaml.loader import AnsibleLoader

    return AnsibleLoader(text).get_single_data()


@pytest.mark.slow  # seconds per case: left out of `make check`, run by `make test`
@SETTINGS
@given(descriptions)
def test_pfsense_stores_the_rule_name_exactly(value: str) -> None:
    data = _ansible_load(_rendered(value)["network/pfsense/vars/homelab.yml"])
    [rule] = [r for r in data["homelab_rules"] if str(r["name"]).startswith("hl001 ")]
    assert str(rule["name"]) == f"hl001 {value}"
    root = ET.fromstring(USER)
    for vlan in data["homelab_vlans"]:  # the interface the rule goes on, as the playbook makes it first
        pfsensible_firewall.apply_interface(
            root,
            vlan["interface"],
            f"{data['pfsense_trunk_interface']}.{vlan['id']}",
            vlan["address"],
            vlan["prefixlen"],
        )
    pfsensible_firewall.apply_rule(root, {k: str(v) if isinstance(v, str) else v for k, v in rule.items()})
    stored = ET.fromstring(ET.tostring(root, encoding="utf-8"))
    assert f"hl001 {value}" in [r.findtext("descr") for r in stored.iter("rule")]


# --------------------------------------------------------------------------- DNS


@pytest.mark.integration
@settings(
    max_examples=int(os.environ.get("HOMELAB_FORMAT_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(descriptions)
def test_unbound_and_dnsmasq_load_every_description_and_answer_every_name(tmp_path: Path, value: str) -> None:
    line = "    - {name: minio, address: 10.10.10.15, description: MinIO on the NAS (S3 for the backups)}"
    text = example_text()
    assert line in text
    text = text.replace(
        line, f"    - {{name: minio, address: 10.10.10.15, description: {_yaml_string(value)}}}"
    )
    homelab = build(load_config(text, file="homelab.yaml").config)
    files = render_all(homelab)
    names = {r.name: r.address for r in homelab.dns}
    with Resolver(tmp_path, homelab.domain) as resolver:
        resolver.serve(files["network/dns/unbound-homelab.conf"])
        assert resolver.ask([(n, "A") for n in names]) == names
        resolver.serve_dnsmasq(snippet=files["network/dns/dnsmasq-homelab.conf"])
        assert resolver.ask([(n, "A") for n in names]) == names
