"""The pfSense playbook keeps everything on pfSense that is not the homelab's.

pfSense's configuration is one file, /cf/conf/config.xml, which the pfsensible.core modules edit.
The proof: a config.xml holding a user's own host and domain overrides, resolver options and
tuning, VLANs, interfaces, aliases, rules and separators; the rendered playbook's own filter
(network/pfsense/filter_plugins, exactly as rendered) computes the module arguments from it; a
model of each module written from its source (tests/support/pfsensible.py) applies them; then
everything that is not the homelab's must be byte-identical to before, in canonical form (pfSense
reads config.xml ignoring whitespace between elements, and the module rewrites the file through
ElementTree anyway, so CDATA and indentation are not the user's data).

The old task (hosts + domainoverrides + dnssec only) goes through the same model and destroys the
user's resolver: that test is the proof's own check that it can fail.
"""

from __future__ import annotations

import importlib.util
import io
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from ansible.errors import AnsibleFilterError
from ruamel.yaml import YAML

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.model import build
from homelabeazy.netpolicy.pfsense import OWNED_TAG, RESOLVER_OPTIONAL, RESOLVER_SETTINGS
from homelabeazy.render.network import PFSENSE_FILTERS, render
from tests.support import pfsensible

FIXTURES = Path(__file__).parents[1] / "fixtures" / "pfsense"
USER = (FIXTURES / "config-user.xml").read_text(encoding="utf-8")
FACTORY = (FIXTURES / "config-factory.xml").read_text(encoding="utf-8")


def _rendered(gateway: bool = False, edit: Callable[[dict[str, Any]], None] | None = None) -> dict[str, str]:
    yaml = YAML(typ="safe", pure=True)
    data = yaml.load(example_text())
    data["services"]["dns_gateway"]["enabled"] = gateway
    if edit is not None:
        edit(data)
    out = io.StringIO()
    yaml.dump(data, out)
    return render(build(load_config(out.getvalue()).config))


def _filters(files: dict[str, str], tmp_path: Path) -> ModuleType:
    """The rendered filter plugin, loaded from the text the user gets."""
    path = tmp_path / "homelab_pfsense.py"
    path.write_text(files[PFSENSE_FILTERS], encoding="utf-8")
    spec = importlib.util.spec_from_file_location("rendered_homelab_pfsense", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _vars(files: dict[str, str]) -> dict[str, Any]:
    return YAML(typ="safe", pure=True).load(files["network/pfsense/vars/homelab.yml"])


def _resolver_task(files: dict[str, str]) -> dict[str, Any]:
    (play,) = YAML(typ="safe", pure=True).load(files["network/pfsense/playbook.yml"])
    (task,) = [t for t in play["tasks"] if "pfsensible.core.pfsense_dns_resolver" in t]
    return dict(task["pfsensible.core.pfsense_dns_resolver"])


def task_args(files: dict[str, str], filters: ModuleType, config_xml: str) -> dict[str, Any]:
    """What Ansible hands the module: the rendered task's arguments, templated.

    The task's values are of three forms: a literal, `{{ VAR }}` for a playbook variable, and
    `{{ homelab_resolver.NAME [| default(omit)] }}` for what the filter computed from config.xml.
    The integration test (test_pfsense_playbook_run.py) proves real Ansible renders the same.
    """
    data = _vars(files)
    merged = filters.homelab_resolver(
        config_xml, data["homelab_dns_hosts"], data["homelab_dns_domains"], data["homelab_dns_tag"]
    )
    args: dict[str, Any] = {}
    for name, value in _resolver_task(files).items():
        match = re.fullmatch(r"\{\{ (\w+)(?:\.(\w+))?( \| default\(omit\))? \}\}", str(value))
        if match is None:
            args[name] = value
        elif match.group(2) is None:
            args[name] = data[match.group(1)]
        elif match.group(2) in merged:
            args[name] = merged[match.group(2)]
        else:
            assert match.group(3), f"{name}: {value} is not optional"
    return args


# --------------------------------------------------------------------------- canonical comparison


def _strip(element: ET.Element) -> ET.Element:
    """A copy without whitespace-only text and tails: what pfSense's parser keeps."""
    copy = ET.Element(element.tag, element.attrib)
    copy.text = element.text if element.text and element.text.strip() else None
    for child in element:
        copy.append(_strip(child))
    return copy


def canonical(element: ET.Element) -> bytes:
    return ET.tostring(_strip(element), encoding="utf-8", short_empty_elements=False)


def ours(element: ET.Element) -> bool:
    """A resolver entry the homelab owns: its description carries the tag."""
    return element.tag in ("hosts", "domainoverrides") and (element.findtext("descr") or "").startswith(
        OWNED_TAG
    )


def foreign_view(root: ET.Element, owned: Callable[[ET.Element, ET.Element], bool]) -> bytes:
    """config.xml without what the homelab owns and without pfSense's own revision stamp."""
    copy = ET.fromstring(canonical(root))

    def prune(parent: ET.Element) -> None:
        for child in list(parent):
            if owned(parent, child) or (parent is copy and child.tag == "revision"):
                parent.remove(child)
            else:
                prune(child)

    prune(copy)
    return canonical(copy)


def resolver_owned(parent: ET.Element, child: ET.Element) -> bool:
    return parent.tag == "unbound" and ours(child)


def _apply(
    config_xml: str, args: dict[str, Any], version: pfsensible.Version = "0.7.1"
) -> tuple[ET.Element, bool]:
    root = ET.fromstring(config_xml)
    changed = pfsensible.apply_resolver(root, args, version)
    return ET.fromstring(ET.tostring(root)), changed


def _owned_entries(root: ET.Element, tag: str) -> list[dict[str, str]]:
    unbound = root.find("unbound")
    assert unbound is not None
    return [
        {child.tag: child.text or "" for child in entry if child.tag != "aliases"}
        for entry in unbound.findall(tag)
        if ours(entry)
    ]


# --------------------------------------------------------------------------- the resolver task


@pytest.mark.parametrize("gateway", [False, True], ids=["host-overrides", "dns-gateway"])
def test_resolver_task_keeps_everything_not_ours(gateway: bool, tmp_path: Path) -> None:
    files = _rendered(gateway)
    args = task_args(files, _filters(files, tmp_path), USER)
    before = ET.fromstring(USER)
    after, changed = _apply(USER, args)
    assert changed
    assert foreign_view(after, resolver_owned) == foreign_view(before, resolver_owned)
    data = _vars(files)
    wanted_hosts = [{k: v for k, v in h.items() if k != "aliases"} for h in data["homelab_dns_hosts"]]
    assert _owned_entries(after, "hosts") == wanted_hosts
    owned_domains = _owned_entries(after, "domainoverrides")
    assert owned_domains == [{**d, "tls_hostname": ""} for d in data["homelab_dns_domains"]]
    assert gateway == bool(owned_domains)
    # the gateway's forward is plain DNS: no forward_tls_upstream, which pfSense reads as "TLS on"
    unbound = after.find("unbound")
    assert unbound is not None
    for entry in unbound.findall("domainoverrides"):
        if ours(entry):
            assert entry.find("forward_tls_upstream") is None


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    files = _rendered(gateway=True)
    filters = _filters(files, tmp_path)
    first, _ = _apply(USER, task_args(files, filters, USER))
    text = ET.tostring(first, encoding="unicode")
    second, changed = _apply(text, task_args(files, filters, text))
    assert not changed
    assert canonical(second) == canonical(first)


def test_the_user_resolver_settings_reach_the_module_as_they_are(tmp_path: Path) -> None:
    """Every setting the task passes is read back from config.xml (none is the module's default)."""
    files = _rendered()
    args = task_args(files, _filters(files, tmp_path), USER)
    assert args["custom_options"].startswith("server:\n  private-domain")
    assert "{{ lookup('env', 'HOME') }}" in args["custom_options"]
    assert args["active_interface"] == ["lan", "opt1", "lo0"]
    assert args["outgoing_interface"] == ["wan"]
    assert (args["forwarding"], args["regdhcp"], args["dnssec"], args["prefetch"]) == (
        True,
        False,
        True,
        True,
    )
    assert (args["num_queries_per_thread"], args["cache_max_ttl"], args["port"]) == ("1024", "3600", "53")
    assert set(RESOLVER_SETTINGS) | {"state", "hosts", "domainoverrides"} <= set(args)
    assert "tlsport" not in args
    assert set(args) <= set(RESOLVER_SETTINGS) | set(RESOLVER_OPTIONAL) | {
        "state",
        "hosts",
        "domainoverrides",
    }


def _old_task_args(files: dict[str, str]) -> dict[str, Any]:
    """What the playbook passed before: the homelab's names only (and DNSSEC), untagged."""
    data = _vars(files)
    hosts = [{**h, "descr": h["descr"].removeprefix(OWNED_TAG)} for h in data["homelab_dns_hosts"]]
    domains = [{**d, "descr": d["descr"].removeprefix(OWNED_TAG)} for d in data["homelab_dns_domains"]]
    return {"state": "present", "dnssec": True, "hosts": hosts, "domainoverrides": domains}


@pytest.mark.parametrize("version", ["0.6.0", "0.7.1"])
def test_the_old_task_destroys_the_users_resolver(version: pfsensible.Version) -> None:
    """The proof can fail: the task as it was replaces the user's lists and resets the options."""
    files = _rendered(gateway=True)
    before = ET.fromstring(USER)
    after, _ = _apply(USER, _old_task_args(files), version)

    def homelab_names(parent: ET.Element, child: ET.Element) -> bool:
        return parent.tag == "unbound" and child.findtext("domain") == "home.example.com"

    assert foreign_view(after, homelab_names) != foreign_view(before, homelab_names)
    unbound = after.find("unbound")
    assert unbound is not None
    hosts = {e.findtext("host") for e in unbound.findall("hosts")}
    assert not {"nas", "printer", "mail"} & hosts, "every host override the user had is gone"
    assert unbound.findtext("custom_options") == "", "the user's custom options are wiped"
    assert unbound.findtext("num_queries_per_thread") == "512", "tuning reset to the module's defaults"
    assert unbound.findtext("cache_max_ttl") == "86400"
    assert unbound.findtext("active_interface") == "all"
    (override,) = unbound.findall("domainoverrides")
    assert override.findtext("domain") == "home.example.com", "the user's domain overrides are gone"
    if version == "0.6.0":
        # pfsensible/core#209: the forward to k8s-gateway becomes DNS-over-TLS on port 853
        assert override.find("forward_tls_upstream") is not None
    else:
        assert unbound.find("forwarding") is None, "0.7.1 switches off every boolean it is not given"
        assert unbound.find("prefetch") is None


def test_a_factory_pfsense_gets_only_the_module_defaults_it_cannot_omit(tmp_path: Path) -> None:
    """On a resolver whose Advanced page was never saved, the module writes its tuning defaults.

    Those elements are absent, so there is nothing to pass on; the module then writes its own
    default for each (every option with a default is written). They equal pfSense's defaults but for
    num_queries_per_thread (pfSense's unbound.inc uses 4096 while none is stored; the module only
    accepts 512, 1024 or 2048). An empty interface list means "all" to pfSense; the 0.7.1 module
    refuses an empty one, so it is written as `all`. Nothing else changes.
    """
    files = _rendered()
    args = task_args(files, _filters(files, tmp_path), FACTORY)
    before = ET.fromstring(FACTORY)
    after, _ = _apply(FACTORY, args)
    added = {
        "system_domain_local_zone_type": "transparent",
        "msgcachesize": "4",
        "outgoing_num_tcp": "10",
        "incoming_num_tcp": "10",
        "edns_buffer_size": "auto",
        "num_queries_per_thread": "512",
        "jostle_timeout": "200",
        "cache_max_ttl": "86400",
        "cache_min_ttl": "0",
        "infra_host_ttl": "900",
        "infra_cache_numhosts": "10000",
        "unwanted_reply_threshold": "disabled",
        "log_verbosity": "1",
    }
    unbound = after.find("unbound")
    assert unbound is not None
    for name, value in added.items():
        assert unbound.findtext(name) == value, name
    assert unbound.findtext("active_interface") == unbound.findtext("outgoing_interface") == "all"

    def expected_changes(parent: ET.Element, child: ET.Element) -> bool:
        return parent.tag == "unbound" and (
            ours(child) or child.tag in added or child.tag in ("active_interface", "outgoing_interface")
        )

    assert foreign_view(after, expected_changes) == foreign_view(before, expected_changes)


# --------------------------------------------------------------------------- entries that meet ours


def _with_unbound_entries(config_xml: str, entries: str) -> str:
    return config_xml.replace("\t</unbound>", entries + "\t</unbound>", 1)


def test_a_name_the_user_already_answers_is_refused_not_doubled(tmp_path: Path) -> None:
    files = _rendered()
    mine = (
        "\t\t<hosts><host>vault</host><domain>home.example.com</domain><ip>192.168.1.50</ip>"
        "<descr>my own vault</descr><aliases></aliases></hosts>\n"
    )
    with pytest.raises(
        AnsibleFilterError, match=r"already has a host override for vault\.home\.example\.com"
    ):
        task_args(files, _filters(files, tmp_path), _with_unbound_entries(USER, mine))


def test_entries_an_older_version_wrote_untagged_are_taken_back(tmp_path: Path) -> None:
    files = _rendered()
    legacy = (
        "\t\t<hosts><host>vault</host><domain>home.example.com</domain><ip>10.10.10.99</ip>"
        "<descr>route of vault via Traefik</descr><aliases></aliases></hosts>\n"
    )
    config = _with_unbound_entries(USER, legacy)
    after, _ = _apply(config, task_args(files, _filters(files, tmp_path), config))
    unbound = after.find("unbound")
    assert unbound is not None
    vault = [e for e in unbound.findall("hosts") if e.findtext("host") == "vault"]
    assert [(e.findtext("ip"), e.findtext("descr")) for e in vault] == [
        ("10.10.10.200", OWNED_TAG + "route of vault via Traefik")
    ]


def test_dropping_names_moves_only_whole_foreign_entries(tmp_path: Path) -> None:
    """Fewer homelab names than last time: the module drops elements from the end, so a foreign entry
    moves into a freed slot, whole (its alias items with it, none inherited)."""
    files = _rendered()
    filters = _filters(files, tmp_path)
    first, _ = _apply(USER, task_args(files, filters, USER))
    after_first = ET.tostring(first, encoding="unicode")
    # the user adds an override with aliases after the homelab's, then an app is removed
    extra = (
        "\t\t<hosts><host>cam</host><domain>lan.example.net</domain><ip>192.168.1.40</ip>"
        "<descr>camera</descr><aliases><item><host>doorbell</host><domain>lan.example.net</domain>"
        "<description>front door</description></item></aliases></hosts>\n"
    )
    config = _with_unbound_entries(after_first, extra)
    smaller = _rendered(edit=lambda d: d.__setitem__("apps", d["apps"][:1]))
    args = task_args(smaller, _filters(smaller, tmp_path), config)
    after, _ = _apply(config, args)

    def foreign_entries(root: ET.Element) -> list[bytes]:
        unbound = root.find("unbound")
        assert unbound is not None
        return sorted(canonical(e) for e in unbound if e.tag in ("hosts", "domainoverrides") and not ours(e))

    assert foreign_entries(after) == foreign_entries(ET.fromstring(config))
    assert foreign_view(after, resolver_owned) != b""
    names = [e.findtext("host") for e in after.findall("unbound/hosts") if ours(e)]
    assert "home" not in names
    assert "whoami" in names


def test_the_system_domain_must_pass_names_on_to_the_gateway(tmp_path: Path) -> None:
    files = _rendered(gateway=True)
    config = USER.replace(
        "<domain>lan.example.net</domain>\n\t\t<dnsserver>",
        "<domain>home.example.com</domain>\n\t\t<dnsserver>",
    )
    config = config.replace(
        "<system_domain_local_zone_type>transparent", "<system_domain_local_zone_type>static"
    )
    with pytest.raises(AnsibleFilterError, match="as a 'static' local zone"):
        task_args(files, _filters(files, tmp_path), config)


def test_an_override_the_module_cannot_pass_on_stops_before_any_change(tmp_path: Path) -> None:
    """pfsensible.core 0.7.1 takes IPv4 only: an IPv6 or IP@port entry of the user's is named up front."""
    files = _rendered()
    v6 = (
        "\t\t<hosts><host>nas6</host><domain>lan.example.net</domain><ip>fd00::20</ip><descr></descr>"
        "<aliases></aliases></hosts>\n"
    )
    with pytest.raises(AnsibleFilterError, match=r"nas6\.lan\.example\.net answers fd00::20"):
        task_args(files, _filters(files, tmp_path), _with_unbound_entries(USER, v6))
    with pytest.raises(pfsensible.ModuleFailed, match="fd00::20 is not a ipv4"):
        pfsensible.apply_resolver(
            ET.fromstring(_with_unbound_entries(USER, v6)),
            {"hosts": [{"host": "nas6", "domain": "lan.example.net", "ip": "fd00::20"}]},
        )
    port = (
        "\t\t<domainoverrides><domain>x.example</domain><ip>10.0.0.53@5353</ip><descr></descr>"
        "<tls_hostname></tls_hostname></domainoverrides>\n"
    )
    with pytest.raises(AnsibleFilterError, match=r"forwards to 10\.0\.0\.53@5353"):
        task_args(files, _filters(files, tmp_path), _with_unbound_entries(USER, port))


# ----------------------------------------------------------------- VLANs, interfaces, aliases, rules


def _apply_firewall(root: ET.Element, data: dict[str, Any]) -> dict[str, list[str]]:
    """The VLAN, interface, alias and rule tasks, in the playbook's order, item by item."""
    outcome: dict[str, list[str]] = {"vlan": [], "interface": [], "alias": [], "rule": []}
    trunk = data["pfsense_trunk_interface"]
    for vlan in data["homelab_vlans"]:
        outcome["vlan"].append(pfsensible.apply_vlan(root, trunk, vlan["id"], vlan["descr"]))
    for vlan in data["homelab_vlans"]:
        outcome["interface"].append(
            pfsensible.apply_interface(
                root, vlan["interface"], f"{trunk}.{vlan['id']}", vlan["address"], vlan["prefixlen"]
            )
        )
    for alias in data["homelab_aliases"]:
        outcome["alias"].append(
            pfsensible.apply_alias(root, alias["name"], alias["type"], alias["address"], alias["descr"])
        )
    for rule in data["homelab_rules"]:
        outcome["rule"].append(pfsensible.apply_rule(root, rule))
    return outcome


def _firewall_owned(data: dict[str, Any]) -> Callable[[ET.Element, ET.Element], bool]:
    vlans = {str(v["id"]) for v in data["homelab_vlans"]}
    interfaces = {v["interface"] for v in data["homelab_vlans"]}
    aliases = {a["name"] for a in data["homelab_aliases"]}
    rules = {r["name"] for r in data["homelab_rules"]}

    def owned(parent: ET.Element, child: ET.Element) -> bool:
        if parent.tag == "vlans":
            return child.findtext("tag") in vlans and child.findtext("if") == data["pfsense_trunk_interface"]
        if parent.tag == "interfaces":
            return child.findtext("descr") in interfaces
        if parent.tag == "aliases":
            return child.findtext("name") in aliases
        if parent.tag == "filter" and child.tag == "rule":
            return child.findtext("descr") in rules
        return parent.tag.startswith("sep") and child.tag == "row"  # moved with their rules: asserted apart

    return owned


def _separator_rows(root: ET.Element) -> list[str | None]:
    return [row.text for row in root.findall("filter/separator/wan/*/row")]


def test_firewall_tasks_keep_every_rule_alias_vlan_and_interface_of_the_user(tmp_path: Path) -> None:
    files = _rendered()
    data = _vars(files)
    assert (
        _filters(files, tmp_path).homelab_pfsense_conflicts(
            USER,
            data["pfsense_trunk_interface"],
            data["homelab_vlans"],
            data["homelab_aliases"],
            data["homelab_rules"],
        )
        == []
    )
    before = ET.fromstring(USER)
    after = ET.fromstring(USER)
    outcome = _apply_firewall(after, data)
    assert set(outcome["vlan"]) == set(outcome["interface"]) == set(outcome["alias"]) == {"created"}
    owned = _firewall_owned(data)
    assert foreign_view(after, owned) == foreign_view(before, owned)
    # the user's WAN separators stay above the same user rules: one homelab rule went in at the top
    wan_rules = sum(1 for r in data["homelab_rules"] if r["interface"] == "wan")
    assert _separator_rows(before) == ["fr0", "fr1"]
    assert _separator_rows(after) == [f"fr{wan_rules}", f"fr{1 + wan_rules}"]
    users_wan = [
        e.findtext("descr") for e in after.findall("filter/rule") if e.findtext("interface") == "wan"
    ]
    assert users_wan[wan_rules:] == ["NAT Plex", "WireGuard in"], "the user's WAN rules keep their order"
    # a re-run finds every object by its key and moves nothing
    again = _apply_firewall(after, data)
    assert set(again["vlan"]) == set(again["interface"]) == set(again["alias"]) == {"updated"}
    assert set(again["rule"]) == {"unchanged"}


@pytest.mark.parametrize(
    ("edit", "words", "users"),
    [
        (
            lambda x: x.replace("<tag>99</tag>", "<tag>10</tag>").replace("igb1.99", "igb1.10"),
            "VLAN 10 on igb1 already exists as 'IoT devices'",
            "vlans/vlan[tag='10']",
        ),
        (
            lambda x: x.replace("<descr><![CDATA[IOT]]>", "<descr><![CDATA[VLAN20_GUESTS]]>"),
            "interface VLAN20_GUESTS already exists on port igb1.99",
            "interfaces/opt1",
        ),
        (
            lambda x: x.replace(
                "<name>web_ports</name>\n\t\t\t<type>port</type>",
                "<name>hl_net_10</name>\n\t\t\t<type>network</type>",
            ),
            "alias hl_net_10 already exists",
            "aliases/alias[name='hl_net_10']",
        ),
    ],
    ids=["vlan-tag-taken", "interface-name-taken", "alias-name-taken"],
)
def test_an_object_the_tasks_would_take_over_stops_the_playbook(
    edit: Callable[[str], str], words: str, users: str, tmp_path: Path
) -> None:
    files = _rendered()
    data = _vars(files)
    config = edit(USER)
    conflicts = _filters(files, tmp_path).homelab_pfsense_conflicts(
        config,
        data["pfsense_trunk_interface"],
        data["homelab_vlans"],
        data["homelab_aliases"],
        data["homelab_rules"],
    )
    assert any(words in c for c in conflicts), conflicts
    # without the check, the module would rewrite the user's object: the model shows it
    before, after = ET.fromstring(config), ET.fromstring(config)
    _apply_firewall(after, data)
    mine_before, mine_after = before.find(users), after.find(users)
    assert mine_before is not None
    assert mine_after is not None
    assert canonical(mine_after) != canonical(mine_before)


def test_a_hand_written_rule_with_the_homelabs_content_is_not_adopted(tmp_path: Path) -> None:
    """pfsense_rule adopts (renames, moves) a rule of the same content when none has its name."""
    files = _rendered()
    data = _vars(files)
    rule = next(r for r in data["homelab_rules"] if r["interface"] == "wan")
    config = USER.replace(
        "\t\t<separator>",
        "\t\t<rule><type>block</type><interface>wan</interface><ipprotocol>inet</ipprotocol>"
        "<source><address>hl_vlans</address><not></not></source>"
        f"<destination><address>{rule['destination']}</address></destination>"
        "<descr>keep management dark</descr></rule>\n\t\t<separator>",
        1,
    )
    conflicts = _filters(files, tmp_path).homelab_pfsense_conflicts(
        config,
        data["pfsense_trunk_interface"],
        data["homelab_vlans"],
        data["homelab_aliases"],
        data["homelab_rules"],
    )
    assert any("'keep management dark' on wan has the content of the homelab's" in c for c in conflicts), (
        conflicts
    )
