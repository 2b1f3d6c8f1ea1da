"""The nodes under the cluster: what the rendered Ansible variables give every K3s node, checked
against what the enabled services need from it.

A chart can be perfect and its volumes still never attach when the node lacks `iscsiadm`. The
catalog says what each service needs from the operating system (`ServiceEntry.host_needs`) and
which K3s packaged component it replaces (`k3s_disable`); the node role installs exactly
`node_needs` and the servers disable what `k3s_server_config.disable` of the rendered group_vars
lists. This check reads those variables back from the rendered tree (not from the model, so a
renderer that drops a need is caught) and reports, on the service's homelab.yaml line, every need
they do not cover and everything they install that no enabled service needs. It also checks the
metrics firewall still lets every scraper in: the pod network and every node (see
model/node_setup.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from homelabeazy.desired.selectors import as_list, as_map
from homelabeazy.desired.state import DesiredState, Finding
from homelabeazy.model import Homelab
from homelabeazy.model.node_setup import METRICS_PORTS, host_needs, is_network, metrics_sources
from homelabeazy.model.service import HostNeeds

GROUP_VARS = ("ansible/group_vars/all.yml", "ansible/group_vars/k3s_cluster.yml")
"""The group_vars files every K3s node reads, the later one winning (Ansible: a child group's
variables override `all`'s)."""
CLUSTER_VARS = GROUP_VARS[1]
NEED_FIELDS = (
    ("package", "packages"),
    ("service", "services"),
    ("kernel module", "kernel_modules"),
    ("sysctl", "sysctls"),
)
"""(kind as `HostNeeds.items()` names it, key under `node_needs`)."""


_ANSIBLE_VARS_LOADER: Any = type("AnsibleVarsLoader", (getattr(yaml, "CSafeLoader", yaml.SafeLoader),), {})
"""YAML as Ansible reads group_vars: `!unsafe` marks a string as data, and it is still a string."""
_ANSIBLE_VARS_LOADER.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def rendered_host_vars(files: Mapping[str, str]) -> dict[str, Any]:
    """The variables every K3s node gets from the rendered group_vars (empty without an ansible/ tree)."""
    merged: dict[str, Any] = {}
    for path in GROUP_VARS:
        if path in files:
            loaded = yaml.load(files[path], Loader=_ANSIBLE_VARS_LOADER)  # noqa: S506 - a SafeLoader
            merged.update(as_map(loaded))
    return merged


def rendered_k3s_disable(host_vars: Mapping[str, Any]) -> frozenset[str]:
    """The packaged components the servers' config.yaml disables (group_vars k3s_server_config)."""
    return frozenset(str(c) for c in as_list(as_map(host_vars.get("k3s_server_config")).get("disable")))


def rendered_needs(host_vars: Mapping[str, Any]) -> HostNeeds:
    """`node_needs` of the rendered variables as the node role reads them."""
    needs = as_map(host_vars.get("node_needs"))
    return HostNeeds(
        packages=tuple(str(p) for p in as_list(needs.get("packages"))),
        services=tuple(str(s) for s in as_list(needs.get("services"))),
        kernel_modules=tuple(str(m) for m in as_list(needs.get("kernel_modules"))),
        sysctls=tuple((str(k), str(v)) for k, v in as_map(needs.get("sysctls")).items()),
    )


def check_hosts(state: DesiredState, homelab: Homelab) -> list[Finding]:
    """Every enabled service's host need and replaced K3s component the rendered variables miss,
    every need they add that nothing enabled asks for, and every scraper the metrics firewall
    would refuse. A state without the ansible/ tree (a hand-built one) has nothing to check."""
    if not state.host_vars:
        return []
    return [
        *_missing_needs(state.host_vars, homelab),
        *_needs_nobody_asked_for(state.host_vars, homelab),
        *_k3s_components(state.host_vars, homelab),
        *_metrics_firewall(state.host_vars, homelab),
    ]


def _finding(message: str, config_path: str, hint: str) -> Finding:
    return Finding("host", message, CLUSTER_VARS, application="k3s", config_path=config_path, hint=hint)


def _missing_needs(host_vars: Mapping[str, Any], homelab: Homelab) -> Iterator[Finding]:
    given = set(rendered_needs(host_vars).items())
    keys = dict(NEED_FIELDS)
    for entry in homelab.services:
        for kind, what in entry.host_needs.items():
            if (kind, what) not in given:
                yield _finding(
                    f"{entry.title} needs the {kind} {what} on every node, but node_needs.{keys[kind]} "
                    "does not give it: the node role would not set it up",
                    f"services.{entry.name}",
                    "the renderer must write every enabled service's host needs (render/ansible.py)",
                )


def _needs_nobody_asked_for(host_vars: Mapping[str, Any], homelab: Homelab) -> Iterator[Finding]:
    wanted = set(host_needs(homelab.services).items())
    keys = dict(NEED_FIELDS)
    for kind, what in rendered_needs(host_vars).items():
        if (kind, what) not in wanted:
            yield _finding(
                f"node_needs.{keys[kind]} sets up the {kind} {what}, which no enabled service needs",
                "services",
                "the node role installs exactly the needs of the services homelab.yaml enables",
            )


def _k3s_components(host_vars: Mapping[str, Any], homelab: Homelab) -> Iterator[Finding]:
    disabled = rendered_k3s_disable(host_vars)
    for entry in homelab.services:
        for component in entry.k3s_disable:
            if component not in disabled:
                yield _finding(
                    f"{entry.title} replaces K3s's packaged {component}, but k3s_server_config.disable "
                    "does not list it: K3s would deploy it beside the service (and re-deploy it on every "
                    "start)",
                    f"services.{entry.name}",
                    f"the servers' K3s `disable` must include {component}",
                )


def _metrics_firewall(host_vars: Mapping[str, Any], homelab: Homelab) -> Iterator[Finding]:
    firewall = as_map(host_vars.get("node_metrics_firewall"))
    ports = {p for p in as_list(firewall.get("ports")) if isinstance(p, int)}
    sources = [str(s) for s in as_list(firewall.get("sources"))]
    for port in METRICS_PORTS:
        if port not in ports:
            yield _finding(
                f"node_metrics_firewall.ports lacks {port}: that unauthenticated metrics listener "
                "would stay open to the whole services VLAN",
                "cluster",
                "restrict every plain-HTTP metrics port K3s and kube-vip open on the nodes",
            )
    for source in sources:
        if not is_network(source):
            yield _finding(
                f"node_metrics_firewall.sources holds {source!r}, not an IPv4 address or network: "
                "nft would refuse the ruleset",
                "cluster",
                "only addresses and CIDRs",
            )
    for needed in metrics_sources(homelab):
        if needed not in sources:
            yield _finding(
                f"node_metrics_firewall.sources lacks {needed}: Prometheus' scrapes from there "
                "would be refused",
                "cluster",
                "pods scrape from the pod network, and from their node's address when the target "
                "is another node (flannel masquerades them)",
            )
