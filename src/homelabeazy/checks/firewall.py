"""The firewall policy as a whole: rules no packet can reach, admin interfaces left without SSO."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.checks.base import Finding, check
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.catalog import enabled_entries
from homelabeazy.netpolicy import PolicyError, compile_policy, policy_from_network, shadowed_rules


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
