"""`homelab net check` and `homelab net matrix`: ask the firewall policy questions."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Annotated

import typer

from homelabeazy.cli import console
from homelabeazy.cli.common import DEFAULT_CONFIG, ConfigArg, ConfigFileOption, ConfigOption, pick_config
from homelabeazy.errors import ExitCode, UsageError

if TYPE_CHECKING:  # netpolicy loads the config schema (pydantic): only when a command runs
    from homelabeazy.netpolicy.names import NameAnswer
    from homelabeazy.netpolicy.policy import Protocol

app = typer.Typer(
    help="Ask the network policy: who may reach what, and which rule decides.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

_FLOW = re.compile(r"^(?:(?P<port>\d{1,5})(?:/(?P<proto>tcp|udp))?|(?P<icmp>icmp))$")


def parse_flow(text: str) -> tuple[Protocol, int | None]:
    """`443`, `443/tcp`, `53/udp` or `icmp` -> (protocol, port); anything else is a usage error."""
    match = _FLOW.match(text.strip().lower())
    if match is None:
        raise UsageError(f"'{text}' is not PORT, PORT/tcp, PORT/udp or icmp (e.g. 443/tcp, 53/udp)")
    if match.group("icmp"):
        return "icmp", None
    port = int(match.group("port"))
    if not 1 <= port <= 65535:
        raise UsageError(f"port {port} is outside 1-65535")
    protocol: Protocol = "udp" if match.group("proto") == "udp" else "tcp"
    return protocol, port


@app.command()
def check(
    source: Annotated[
        str, typer.Argument(help="Zone, IPv4 address or host name (node, route, Proxmox host).")
    ],
    destination: Annotated[str, typer.Argument(help="Zone, IPv4 address or host name.")],
    flow: Annotated[
        str | None, typer.Argument(metavar="[PORT/PROTO]", help="443, 443/tcp, 53/udp or icmp.")
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON on stdout.")] = False,
) -> int:
    """Would traffic from SOURCE to DESTINATION pass the firewall, and which rule decides?"""
    from homelabeazy.cli.common import load_homelab
    from homelabeazy.netpolicy import (
        UnknownEndpointError,
        compile_policy,
        model_host_addresses,
        policy_for_homelab,
        reach,
        resolve_endpoint,
    )

    _, homelab = load_homelab(config)
    policy = policy_for_homelab(homelab)
    names = model_host_addresses(homelab)
    try:
        src = resolve_endpoint(source, policy, names)
        dst = resolve_endpoint(destination, policy, names)
    except UnknownEndpointError as exc:
        raise UsageError(str(exc)) from None
    table = compile_policy(policy)
    where = f"{_show(src.label, src.zone, src.address)} -> {_show(dst.label, dst.zone, dst.address)}"
    if flow is None:
        summary = reach(table, src.zone, dst.zone)
        if as_json:
            console.out.print_json(
                json.dumps(
                    {
                        "source": src.zone,
                        "destination": dst.zone,
                        "reach": summary.kind,
                        "summary": summary.text,
                    }
                )
            )
        else:
            console.out.print(f"{where}: {summary.text}", markup=False)
        return ExitCode.OK
    protocol, port = parse_flow(flow)
    verdict = table.decide(src, dst, protocol, port)
    rule = verdict.rule
    if as_json:
        console.out.print_json(
            json.dumps(
                {
                    "action": verdict.action,
                    "source": {"input": source, "zone": src.zone, "address": _str(src.address)},
                    "destination": {"input": destination, "zone": dst.zone, "address": _str(dst.address)},
                    "protocol": protocol,
                    "port": port,
                    "rule": rule.number if rule else None,
                    "rule_origin": rule.where() if rule else None,
                    "reason": verdict.reason,
                }
            )
        )
        return ExitCode.OK
    flow_text = protocol if port is None else f"{port}/{protocol}"
    decided = f"rule #{rule.number} ({rule.where()}): {verdict.reason}" if rule else verdict.reason
    style = "green" if verdict.allowed else "red"
    console.out.print(f"[bold {style}]{verdict.action}[/] ", end="")
    console.out.print(f"{where} {flow_text} — {decided}", markup=False)
    return ExitCode.OK


def _str(value: object | None) -> str | None:
    return None if value is None else str(value)


def _show(label: str, zone: str, address: object | None) -> str:
    if address is None:
        return zone
    return f"{label} ({address}, {zone})" if label != str(address) else f"{address} ({zone})"


@app.command()
def resolve(
    name: Annotated[str, typer.Argument(help="A host name: a route, the API name or a node.")],
    zone: Annotated[
        list[str] | None,
        typer.Option("--from", help="Zone the client is in (repeatable); every zone when omitted."),
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answers as JSON on stdout.")] = False,
) -> int:
    """Does NAME resolve to the right place from a zone, and may the zone open it there?"""
    from homelabeazy.cli.common import load_homelab
    from homelabeazy.netpolicy import compile_policy, policy_for_homelab
    from homelabeazy.netpolicy.names import answer

    _, homelab = load_homelab(config)
    policy = policy_for_homelab(homelab)
    zones = list(zone) if zone else list(policy.zone_names)
    unknown = [z for z in zones if z not in policy.zone_names]
    if unknown:
        raise UsageError(f"unknown zone '{unknown[0]}' (zones: {', '.join(policy.zone_names)})")
    table = compile_policy(policy)
    answers = [answer(homelab.dns, policy, table, name, z) for z in zones]
    if as_json:
        console.out.print_json(json.dumps([_answer_json(a) for a in answers]))
        return ExitCode.OK
    record = answers[0].record
    if record is None:
        console.out.print(f"{answers[0].name}: no record in this homelab (NXDOMAIN)", markup=False)
        return ExitCode.OK
    console.out.print(f"{record.name} -> {record.address} ({record.purpose})", markup=False)
    for one in answers:
        console.out.print(f"  from {one.zone}: {_answer_text(one)}", markup=False)
    return ExitCode.OK


def _answer_text(one: NameAnswer) -> str:
    asked = "; ".join(f"resolver {a} ({z}) 53/udp {v.action}" for a, z, v in one.resolvers)
    if not one.resolves:
        return f"does not resolve — {asked or 'no network.dns_servers'}"
    assert one.record is not None
    assert one.service is not None
    opened = f"{one.record.port}/tcp {one.service.action}"
    rule = one.service.rule
    why = f"rule #{rule.number} ({rule.where()})" if rule else one.service.reason
    return f"resolves ({asked}); {opened} — {why}"


def _answer_json(one: NameAnswer) -> dict[str, object]:
    record = one.record
    return {
        "name": one.name,
        "zone": one.zone,
        "address": None if record is None else str(record.address),
        "port": None if record is None else record.port,
        "resolves": one.resolves,
        "reaches": one.reaches,
        "resolvers": [{"address": str(a), "zone": z, "action": v.action} for a, z, v in one.resolvers],
        "service": None if one.service is None else one.service.action,
    }


@app.command()
def matrix(config: ConfigArg = DEFAULT_CONFIG, config_file: ConfigFileOption = None) -> int:
    """Zone x zone table: what each zone (rows) may open in each zone (columns)."""
    from rich.table import Table

    from homelabeazy.cli.common import load_homelab
    from homelabeazy.netpolicy import compile_policy, policy_for_homelab, reach

    _, homelab = load_homelab(pick_config(config, config_file))
    policy = policy_for_homelab(homelab)
    table = compile_policy(policy)
    styles = {"all": "green", "some": "yellow", "none": "red", "local": "dim"}
    grid = Table(title=f"{homelab.name}: who reaches what (rows: from, columns: to)", show_lines=True)
    grid.add_column("from \\ to", style="bold")
    for name in policy.zone_names:
        grid.add_column(name)
    for src in policy.zone_names:
        cells = []
        for dst in policy.zone_names:
            summary = reach(table, src, dst)
            cells.append(f"[{styles[summary.kind]}]{summary.text}[/]")
        grid.add_row(src, *cells)
    console.out.print(grid)
    return ExitCode.OK
