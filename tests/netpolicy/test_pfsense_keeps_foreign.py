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

from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from ansible.errors import AnsibleFilterError

from homelabeazy.netpolicy.pfsense import OWNED_TAG, RESOLVER_OPTIONAL, RESOLVER_SETTINGS
from tests.support import pfsensible, pfsensible_resolver
from tests.support.pfsense_config import (
    FACTORY,
    USER,
    apply_to,
    canonical,
    foreign_view,
    ours,
    owned_entries,
    playbook_vars,
    rendered,
    rendered_filters,
    resolver_owned,
    task_args,
)

# --------------------------------------------------------------------------- the resolver task


@pytest.mark.parametrize("gateway", [False, True], ids=["host-overrides", "dns-gateway"])
def test_resolver_task_keeps_everything_not_ours(gateway: bool, tmp_path: Path) -> None:
    files = rendered(gateway)
    args = task_args(files, rendered_filters(files, tmp_path), USER)
    before = ET.fromstring(USER)
    after, changed = apply_to(USER, args)
    assert changed
    assert foreign_view(after, resolver_owned) == foreign_view(before, resolver_owned)
    data = playbook_vars(files)
    wanted_hosts = [{k: v for k, v in h.items() if k != "aliases"} for h in data["homelab_dns_hosts"]]
    assert owned_entries(after, "hosts") == wanted_hosts
    owned_domains = owned_entries(after, "domainoverrides")
    assert owned_domains == [{**d, "tls_hostname": ""} for d in data["homelab_dns_domains"]]
    assert gateway == bool(owned_domains)
    # the gateway's forward is plain DNS: no forward_tls_upstream, which pfSense reads as "TLS on"
    unbound = after.find("unbound")
    assert unbound is not None
    for entry in unbound.findall("domainoverrides"):
        if ours(entry):
            assert entry.find("forward_tls_upstream") is None


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    files = rendered(gateway=True)
    filters = rendered_filters(files, tmp_path)
    first, _ = apply_to(USER, task_args(files, filters, USER))
    text = ET.tostring(first, encoding="unicode")
    second, changed = apply_to(text, task_args(files, filters, text))
    assert not changed
    assert canonical(second) == canonical(first)


def test_the_user_resolver_settings_reach_the_module_as_they_are(tmp_path: Path) -> None:
    """Every setting the task passes is read back from config.xml (none is the module's default)."""
    files = rendered()
    args = task_args(files, rendered_filters(files, tmp_path), USER)
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
    data = playbook_vars(files)
    hosts = [{**h, "descr": h["descr"].removeprefix(OWNED_TAG)} for h in data["homelab_dns_hosts"]]
    domains = [{**d, "descr": d["descr"].removeprefix(OWNED_TAG)} for d in data["homelab_dns_domains"]]
    return {"state": "present", "dnssec": True, "hosts": hosts, "domainoverrides": domains}


@pytest.mark.parametrize("version", ["0.6.0", "0.7.1"])
def test_the_old_task_destroys_the_users_resolver(version: pfsensible.Version) -> None:
    """The proof can fail: the task as it was replaces the user's lists and resets the options."""
    files = rendered(gateway=True)
    before = ET.fromstring(USER)
    after, _ = apply_to(USER, _old_task_args(files), version)

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
    files = rendered()
    args = task_args(files, rendered_filters(files, tmp_path), FACTORY)
    before = ET.fromstring(FACTORY)
    after, _ = apply_to(FACTORY, args)
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
    files = rendered()
    mine = (
        "\t\t<hosts><host>vault</host><domain>home.example.com</domain><ip>192.168.1.50</ip>"
        "<descr>my own vault</descr><aliases></aliases></hosts>\n"
    )
    with pytest.raises(
        AnsibleFilterError, match=r"already has a host override for vault\.home\.example\.com"
    ):
        task_args(files, rendered_filters(files, tmp_path), _with_unbound_entries(USER, mine))


def test_entries_an_older_version_wrote_untagged_are_taken_back(tmp_path: Path) -> None:
    files = rendered()
    legacy = (
        "\t\t<hosts><host>vault</host><domain>home.example.com</domain><ip>10.10.10.99</ip>"
        "<descr>route of vault via Traefik</descr><aliases></aliases></hosts>\n"
    )
    config = _with_unbound_entries(USER, legacy)
    after, _ = apply_to(config, task_args(files, rendered_filters(files, tmp_path), config))
    unbound = after.find("unbound")
    assert unbound is not None
    vault = [e for e in unbound.findall("hosts") if e.findtext("host") == "vault"]
    assert [(e.findtext("ip"), e.findtext("descr")) for e in vault] == [
        ("10.10.10.200", OWNED_TAG + "route of vault via Traefik")
    ]


def test_dropping_names_moves_only_whole_foreign_entries(tmp_path: Path) -> None:
    """Fewer homelab names than last time: the module drops elements from the end, so a foreign entry
    moves into a freed slot, whole (its alias items with it, none inherited)."""
    files = rendered()
    filters = rendered_filters(files, tmp_path)
    first, _ = apply_to(USER, task_args(files, filters, USER))
    after_first = ET.tostring(first, encoding="unicode")
    # the user adds an override with aliases after the homelab's, then an app is removed
    extra = (
        "\t\t<hosts><host>cam</host><domain>lan.example.net</domain><ip>192.168.1.40</ip>"
        "<descr>camera</descr><aliases><item><host>doorbell</host><domain>lan.example.net</domain>"
        "<description>front door</description></item></aliases></hosts>\n"
    )
    config = _with_unbound_entries(after_first, extra)
    smaller = rendered(edit=lambda d: d.__setitem__("apps", d["apps"][:1]))
    args = task_args(smaller, rendered_filters(smaller, tmp_path), config)
    after, _ = apply_to(config, args)

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
    files = rendered(gateway=True)
    config = USER.replace(
        "<domain>lan.example.net</domain>\n\t\t<dnsserver>",
        "<domain>home.example.com</domain>\n\t\t<dnsserver>",
    )
    config = config.replace(
        "<system_domain_local_zone_type>transparent", "<system_domain_local_zone_type>static"
    )
    with pytest.raises(AnsibleFilterError, match="as a 'static' local zone"):
        task_args(files, rendered_filters(files, tmp_path), config)


def test_an_override_the_module_cannot_pass_on_stops_before_any_change(tmp_path: Path) -> None:
    """pfsensible.core 0.7.1 takes IPv4 only: an IPv6 or IP@port entry of the user's is named up front."""
    files = rendered()
    v6 = (
        "\t\t<hosts><host>nas6</host><domain>lan.example.net</domain><ip>fd00::20</ip><descr></descr>"
        "<aliases></aliases></hosts>\n"
    )
    with pytest.raises(AnsibleFilterError, match=r"nas6\.lan\.example\.net answers fd00::20"):
        task_args(files, rendered_filters(files, tmp_path), _with_unbound_entries(USER, v6))
    with pytest.raises(pfsensible.ModuleFailed, match="fd00::20 is not a ipv4"):
        pfsensible_resolver.apply_resolver(
            ET.fromstring(_with_unbound_entries(USER, v6)),
            {"hosts": [{"host": "nas6", "domain": "lan.example.net", "ip": "fd00::20"}]},
        )
    port = (
        "\t\t<domainoverrides><domain>x.example</domain><ip>10.0.0.53@5353</ip><descr></descr>"
        "<tls_hostname></tls_hostname></domainoverrides>\n"
    )
    with pytest.raises(AnsibleFilterError, match=r"forwards to 10\.0\.0\.53@5353"):
        task_args(files, rendered_filters(files, tmp_path), _with_unbound_entries(USER, port))
