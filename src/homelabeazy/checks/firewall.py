"""The firewall policy as a whole: rules no packet can reach, admin interfaces left without SSO, and
the pfsensible.core release the pfSense playbook is written for."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.checks.base import Finding, check
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.catalog import enabled_entries
from homelabeazy.netpolicy import PolicyError, compile_policy, policy_from_network, shadowed_rules
from homelabeazy.toolchain import PFSENSE_RESOLVER_MIN, parse_version_text, version_text


@check("firewall-shadowing")
def firewall_rules_not_shadowed(config: HomelabConfig) -> Iterator[Finding]:
    """A firewall rule that can never match (earlier rules decide all its traffic) is a warning."""
    try:
        policy = policy_from_network(config.network)
    except PolicyError:  # unknown zones or bad ports: the firewall-zones check reports those
        return
    for shadowed in shadowed_rules(compile_policy(policy)):
        index = shadowed.rule.config_index
        assert index is not None  # only user rules are reported
        yield Finding(
            ("network", "firewall", "rules", index),
            f"this rule never matches: {shadowed.reason}",
            "remove it, or move it above the rules that cover it"
            if shadowed.covered_by
            else "remove it: hosts in one VLAN talk to each other directly",
            "warning",
        )


@check("admin-uis-without-sso")
def admin_uis_without_sso(config: HomelabConfig) -> Iterator[Finding]:
    """With Authelia off, the admin UIs that need SSO get no route (reach them with a port-forward)."""
    if config.services.authelia.enabled:
        return
    for entry in enabled_entries(config):
        hidden = [spec.host for spec in entry.routes if spec.access != "public"]
        if hidden:
            yield Finding(
                ("services", entry.name),
                f"no route for {', '.join(hidden)}: it needs SSO and services.authelia is disabled",
                "enable services.authelia to reach it through Traefik, or use kubectl port-forward",
                "warning",
            )


@check("pfsense-collection")
def pfsense_collection_writes_the_resolver_safely(config: HomelabConfig) -> Iterator[Finding]:
    """pfsensible.core older than 0.7.1 cannot write the DNS resolver without changing what is not ours."""
    pfsense = config.network.pfsense
    if pfsense is not None and not pfsense.dns_overrides:
        return
    chosen = config.ansible.collections.get("pfsensible.core")
    if chosen is None or parse_version_text(chosen) >= PFSENSE_RESOLVER_MIN:
        return
    yield Finding(
        ("ansible", "collections", "pfsensible.core"),
        f"{chosen} is older than {version_text(PFSENSE_RESOLVER_MIN)}, which the pfSense playbook's DNS "
        "resolver task needs: older releases mark every domain override DNS-over-TLS (pfsensible/core#209, "
        "also the ones you made), cannot switch a resolver option off, and append lo0 to the listening "
        "interfaces",
        f"use {version_text(PFSENSE_RESOLVER_MIN)} or newer, or set network.pfsense.dns_overrides: false",
    )
