"""Rules that can never match first: the earlier rules (or the zone layout) already decide them.

A shadowed rule is almost always a mistake — an allow written after a broader deny, or a rule
between two hosts of one VLAN, which never crosses the firewall — so validation warns about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from homelabeazy.netpolicy.decide import DecisionTable
from homelabeazy.netpolicy.policy import Rule


@dataclass(frozen=True)
class Shadowed:
    """A rule that decides no flow, and why."""

    rule: Rule
    covered_by: tuple[Rule, ...]
    reason: str


def shadowed_rules(table: DecisionTable, *, include_defaults: bool = False) -> list[Shadowed]:
    """Every rule (the user's only, unless `include_defaults`) that never decides a flow."""
    found: list[Shadowed] = []
    for rule in table.policy.rules:
        if rule.number in table.used or (rule.origin == "default" and not include_defaults):
            continue
        if rule.number not in table.reachable:
            found.append(
                Shadowed(
                    rule, (), "it only matches traffic inside one zone, which never crosses the firewall"
                )
            )
            continue
        covering = tuple(table.rule(n) for n in sorted(table.blockers.get(rule.number, ())))
        names = ", ".join(f"#{r.number}" + (f" ({r.description})" if r.description else "") for r in covering)
        found.append(Shadowed(rule, covering, f"earlier rules already decide all of its traffic: {names}"))
    return found
