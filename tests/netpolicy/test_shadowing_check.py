"""The firewall-shadowing config check: a rule that can never match is a warning, with the reason."""

from __future__ import annotations

from homelabeazy.checks import load_config
from tests.netpolicy.conftest import example_with


def _shadow_warnings(text: str) -> list[str]:
    loaded = load_config(text)
    return [p.format() for p in loaded.warnings if p.check == "firewall-shadowing"]


def test_example_has_no_shadowed_rules() -> None:
    assert _shadow_warnings(example_with()) == []


def test_rule_after_a_broader_deny_is_reported() -> None:
    text = example_with(
        rules=[
            {"from": "guests", "to": "any", "action": "deny", "description": "lock guests down"},
            {"from": "guests", "to": "internet", "protocol": "tcp", "ports": [443], "action": "allow"},
        ]
    )
    warnings = _shadow_warnings(text)
    assert len(warnings) == 1
    assert (
        "network.firewall.rules[2]: this rule never matches: earlier rules already decide all of its "
        in warnings[0]
    )
    assert "#2 (lock guests down)" in warnings[0]
    assert "move it above the rules that cover it" in warnings[0]


def test_partially_covered_rule_is_not_reported() -> None:
    text = example_with(
        rules=[
            {"from": "guests", "to": "services", "protocol": "tcp", "ports": [443, 8443], "action": "deny"}
        ]
    )
    assert _shadow_warnings(text) == []


def test_rule_inside_one_zone_is_reported() -> None:
    text = example_with(rules=[{"from": "services", "to": "services", "action": "deny"}])
    (warning,) = _shadow_warnings(text)
    assert "only matches traffic inside one zone" in warning
    assert "hosts in one VLAN talk to each other directly" in warning


def test_unknown_zone_is_left_to_the_zone_check() -> None:
    from homelabeazy.checks.firewall import firewall_rules_not_shadowed
    from homelabeazy.config.schema import NetworkConfig

    config = load_config(example_with()).config
    data = config.network.model_dump(by_alias=True, mode="json")
    data["firewall"]["rules"].append({"from": "lab", "to": "any", "action": "allow"})
    broken = config.model_copy(update={"network": NetworkConfig.model_validate(data)})
    assert list(firewall_rules_not_shadowed(broken)) == []
