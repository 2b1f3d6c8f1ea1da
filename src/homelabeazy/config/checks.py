"""Semantic checks: rules that relate several fields, one small function each.

Each check is registered with an id and a one-line doc, yields Findings with the field path to
blame, and has a good and a bad fixture under tests/fixtures/config/. The mistakes popular K3s
playbooks only discover at run time (a VIP outside the node subnet, an even etcd member count)
fail here, before anything is provisioned.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from homelabeazy.config.schema import HomelabConfig, Vlan
from homelabeazy.model.catalog import COMPANION_PARTS, REGISTRY, enabled_entries
from homelabeazy.model.hosts import route_fqdn
from homelabeazy.model.ipam import SERVER_SLOTS, parse_range
from homelabeazy.model.placement import PROXMOX_RESERVE_MB, node_names, place_nodes
from homelabeazy.netpolicy import PolicyError, compile_policy, policy_from_network, shadowed_rules

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    """One thing a check found wrong (error) or risky (warning)."""

    path: FieldPath
    message: str
    hint: str = ""
    severity: str = "error"
    check: str = ""


@dataclass(frozen=True)
class Check:
    """A registered semantic check."""

    id: str
    doc: str
    run: Callable[[HomelabConfig], Iterable[Finding]]


CHECKS: list[Check] = []


def check(
    check_id: str,
) -> Callable[[Callable[[HomelabConfig], Iterable[Finding]]], Callable[..., Iterable[Finding]]]:
    """Register a check under `check_id`; its docstring is its documentation."""

    def register(func: Callable[[HomelabConfig], Iterable[Finding]]) -> Callable[..., Iterable[Finding]]:
        CHECKS.append(Check(check_id, (func.__doc__ or "").strip().splitlines()[0], func))
        return func

    return register


def run_checks(config: HomelabConfig) -> list[Finding]:
    """Run every registered check; return all findings, each tagged with its check id."""
    findings: list[Finding] = []
    for registered in CHECKS:
        for finding in registered.run(config):
            findings.append(
                Finding(finding.path, finding.message, finding.hint, finding.severity, registered.id)
            )
    return findings


def format_path(path: FieldPath) -> str:
    """`('apps', 1, 'host')` -> `apps[1].host`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def services_vlan(config: HomelabConfig) -> tuple[int, Vlan] | None:
    """The (index, vlan) the cluster lives in, if exactly one VLAN has purpose services."""
    found = [(i, v) for i, v in enumerate(config.network.vlans) if v.purpose == "services"]
    return found[0] if len(found) == 1 else None


def _usable(vlan: Vlan) -> str:
    net = vlan.cidr
    return f"{net.network_address + 1}-{net.broadcast_address - 1}" if net.num_addresses > 2 else str(net)


def _inside(address: IPv4Address, net: IPv4Network) -> bool:
    return address in net and address not in (net.network_address, net.broadcast_address)


# --------------------------------------------------------------------------- network


@check("vlan-id-unique")
def vlan_ids_unique(config: HomelabConfig) -> Iterator[Finding]:
    """Each VLAN id is used once."""
    seen: dict[int, int] = {}
    for i, vlan in enumerate(config.network.vlans):
        if vlan.id in seen:
            yield Finding(
                ("network", "vlans", i, "id"),
                f"VLAN id {vlan.id} is already used by network.vlans[{seen[vlan.id]}]",
                "give every VLAN its own id (1-4094)",
            )
        seen.setdefault(vlan.id, i)


@check("vlan-name-unique")
def vlan_names_unique(config: HomelabConfig) -> Iterator[Finding]:
    """Each VLAN (zone) name is used once and is not a reserved zone name."""
    seen: set[str] = set()
    for i, vlan in enumerate(config.network.vlans):
        if vlan.name in ("internet", "any"):
            yield Finding(
                ("network", "vlans", i, "name"),
                f"'{vlan.name}' is a reserved zone name",
                "choose another name",
            )
        elif vlan.name in seen:
            yield Finding(
                ("network", "vlans", i, "name"),
                f"zone name '{vlan.name}' is used twice",
                "zone names are used by firewall rules and must be unique",
            )
        seen.add(vlan.name)


@check("cidr-overlap")
def cidrs_do_not_overlap(config: HomelabConfig) -> Iterator[Finding]:
    """VLAN subnets do not overlap."""
    vlans = config.network.vlans
    for i, vlan in enumerate(vlans):
        for j in range(i):
            if vlan.cidr.overlaps(vlans[j].cidr):
                yield Finding(
                    ("network", "vlans", i, "cidr"),
                    f"{vlan.cidr} overlaps network.vlans[{j}] ({vlans[j].cidr})",
                    "routed VLANs need disjoint subnets",
                )


@check("gateway-in-cidr")
def gateway_inside_cidr(config: HomelabConfig) -> Iterator[Finding]:
    """Each VLAN gateway is a usable address of its own subnet."""
    for i, vlan in enumerate(config.network.vlans):
        if not _inside(vlan.gateway, vlan.cidr):
            yield Finding(
                ("network", "vlans", i, "gateway"),
                f"{vlan.gateway} is not a usable address of {vlan.cidr}",
                f"pick an address in {_usable(vlan)}",
            )


@check("services-vlan")
def one_services_vlan(config: HomelabConfig) -> Iterator[Finding]:
    """Exactly one VLAN has purpose `services`: the cluster lives there."""
    count = sum(1 for v in config.network.vlans if v.purpose == "services")
    if count != 1:
        yield Finding(
            ("network", "vlans"),
            f"{count} VLANs have purpose 'services'; exactly one must",
            "the K3s nodes, VIP and LoadBalancer range live in that VLAN",
        )


@check("firewall-zones")
def firewall_rule_zones(config: HomelabConfig) -> Iterator[Finding]:
    """Firewall rules name known zones, and ports only go with tcp/udp."""
    zones = {v.name for v in config.network.vlans} | {"internet", "any"}
    for i, rule in enumerate(config.network.firewall.rules):
        base: FieldPath = ("network", "firewall", "rules", i)
        for key, zone in (("from", rule.from_zone), ("to", rule.to_zone)):
            if zone not in zones:
                yield Finding((*base, key), f"unknown zone '{zone}'", "zones: " + ", ".join(sorted(zones)))
        if rule.ports and rule.protocol not in ("tcp", "udp"):
            yield Finding(
                (*base, "ports"),
                f"ports given for protocol '{rule.protocol}'",
                "set protocol: tcp or udp, or remove ports",
            )
        for k, port in enumerate(rule.ports):
            lo, hi = _port_bounds(port)
            if not (1 <= lo <= hi <= 65535):
                yield Finding(
                    (*base, "ports", k),
                    f"port '{port}' is outside 1-65535 or reversed",
                    "write a port like 443 or a range like 8000-8100",
                )


def _port_bounds(port: str | int) -> tuple[int, int]:
    """First and last port of `443`, `"443"` or `"8000-8100"`; an int may be negative or a bool."""
    if isinstance(port, int):
        return int(port), int(port)
    low, _, high = port.partition("-")
    return int(low), int(high or low)


# --------------------------------------------------------------------------- cluster addressing


@check("cluster-in-services-vlan")
def cluster_addresses_in_services_vlan(config: HomelabConfig) -> Iterator[Finding]:
    """Node range, VIP and LoadBalancer range lie inside the services VLAN."""
    found = services_vlan(config)
    if found is None:
        return
    index, vlan = found
    cluster = config.cluster
    hint = f"the services VLAN network.vlans[{index}] is {vlan.cidr}: use addresses in {_usable(vlan)}"
    if not _inside(cluster.vip, vlan.cidr):
        yield Finding(("cluster", "vip"), f"{cluster.vip} is not inside the services VLAN {vlan.cidr}", hint)
    for key in ("node_ip_range", "loadbalancer_range"):
        first, last = parse_range(getattr(cluster, key))
        if not (_inside(first, vlan.cidr) and _inside(last, vlan.cidr)):
            yield Finding(
                ("cluster", key), f"{first}-{last} is not inside the services VLAN {vlan.cidr}", hint
            )


@check("cluster-addresses-disjoint")
def cluster_addresses_disjoint(config: HomelabConfig) -> Iterator[Finding]:
    """Node range, VIP, LoadBalancer range and gateway do not collide."""
    cluster = config.cluster
    n_first, n_last = parse_range(cluster.node_ip_range)
    l_first, l_last = parse_range(cluster.loadbalancer_range)
    if n_first <= cluster.vip <= n_last:
        yield Finding(
            ("cluster", "vip"), f"VIP {cluster.vip} is inside node_ip_range", "move the VIP out of it"
        )
    if l_first <= cluster.vip <= l_last:
        yield Finding(
            ("cluster", "vip"),
            f"VIP {cluster.vip} is inside loadbalancer_range",
            "MetalLB would hand it out too",
        )
    if n_first <= l_last and l_first <= n_last:
        yield Finding(
            ("cluster", "loadbalancer_range"),
            "loadbalancer_range overlaps node_ip_range",
            "MetalLB would hand out node addresses",
        )
    found = services_vlan(config)
    if found is not None:
        gateway = found[1].gateway
        for key, (first, last) in (
            ("node_ip_range", (n_first, n_last)),
            ("loadbalancer_range", (l_first, l_last)),
        ):
            if first <= gateway <= last:
                yield Finding(
                    ("cluster", key),
                    f"contains the services gateway {gateway}",
                    "exclude the gateway from the range",
                )
        if cluster.vip == gateway:
            yield Finding(("cluster", "vip"), f"VIP {cluster.vip} is the gateway", "pick a free address")


@check("node-range-size")
def node_range_large_enough(config: HomelabConfig) -> Iterator[Finding]:
    """The node range holds the server slots plus every agent."""
    first, last = parse_range(config.cluster.node_ip_range)
    size = int(last) - int(first) + 1
    need = SERVER_SLOTS + config.cluster.agents.count
    if size < need:
        yield Finding(
            ("cluster", "node_ip_range"),
            f"holds {size} addresses but {need} are needed",
            f"the first {SERVER_SLOTS} are reserved for servers so adding one never renumbers "
            f"agents; widen it to at least {need}",
        )


@check("lb-range-size")
def loadbalancer_range_has_traefik_ip(config: HomelabConfig) -> Iterator[Finding]:
    """Traefik's fixed LoadBalancer IP lies in the LoadBalancer range."""
    ip = config.services.traefik.loadbalancer_ip
    if ip is None:
        return
    first, last = parse_range(config.cluster.loadbalancer_range)
    if not first <= ip <= last:
        yield Finding(
            ("services", "traefik", "loadbalancer_ip"),
            f"{ip} is outside loadbalancer_range",
            f"use an address in {first}-{last}",
        )


@check("etcd-quorum")
def server_count_quorum(config: HomelabConfig) -> Iterator[Finding]:
    """Server count is 1, 3 or 5: an even etcd member count adds no fault tolerance."""
    count = config.cluster.servers.count
    if count == 0:
        yield Finding(("cluster", "servers", "count"), "at least one server is needed", "use 1, 3 or 5")
    elif count % 2 == 0:
        yield Finding(
            ("cluster", "servers", "count"),
            f"{count} servers: etcd needs a majority, so an even "
            "count tolerates no more failures than one less",
            f"use {count - 1} or {count + 1}",
        )
    elif count > SERVER_SLOTS:
        yield Finding(
            ("cluster", "servers", "count"),
            f"{count} servers: more than {SERVER_SLOTS} slows etcd",
            "use 1, 3 or 5 servers and add agents instead",
        )


@check("k3s-version")
def k3s_version_supported(config: HomelabConfig) -> Iterator[Finding]:
    """The K3s release is one this tool's roles and manifests support (Kubernetes 1.29+)."""
    match = re.match(r"^v1\.(\d+)\.", config.cluster.k3s_version)
    if match and int(match.group(1)) < 29:
        yield Finding(
            ("cluster", "k3s_version"),
            f"{config.cluster.k3s_version} is older than Kubernetes 1.29",
            "use a supported release such as v1.33.5+k3s1",
        )


@check("ssh-keys")
def ssh_keys_parse(config: HomelabConfig) -> Iterator[Finding]:
    """Every SSH public key parses: known type, base64 body whose embedded type matches."""
    known = (
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    )
    for i, key in enumerate(config.cluster.ssh.public_keys):
        path = ("cluster", "ssh", "public_keys", i)
        if any(ch in key for ch in "\r\n\x00"):  # a second line is a second key cloud-init would trust
            yield Finding(
                path, "holds a line break: one entry is exactly one key", "give each key its own entry"
            )
            continue
        parts = key.split()
        if len(parts) < 2 or parts[0] not in known:
            yield Finding(
                path,
                "not an OpenSSH public key",
                "paste a line like 'ssh-ed25519 AAAA... you@host' from ~/.ssh/id_ed25519.pub",
            )
            continue
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except (binascii.Error, ValueError):
            yield Finding(path, "the key body is not valid base64", "copy the whole .pub line again")
            continue
        length = int.from_bytes(blob[:4], "big") if len(blob) >= 4 else -1
        if blob[4 : 4 + length].decode("ascii", "replace") != parts[0]:
            yield Finding(
                path, f"the key body does not contain a {parts[0]} key", "copy the whole .pub line again"
            )


@check("node-overrides")
def node_overrides_known(config: HomelabConfig) -> Iterator[Finding]:
    """Node overrides name existing nodes and Proxmox hosts."""
    names = set(node_names(config.cluster))
    hosts = {h.name for h in config.proxmox.hosts}
    for name, override in config.cluster.node_overrides.items():
        if name not in names:
            yield Finding(
                ("cluster", "node_overrides", name),
                f"no node is called '{name}'",
                "nodes are named k3s-server-N and k3s-agent-N",
            )
        if override.host is not None and override.host not in hosts:
            yield Finding(
                ("cluster", "node_overrides", name, "host"),
                f"unknown Proxmox host '{override.host}'",
                "hosts: " + ", ".join(sorted(hosts)),
            )


# --------------------------------------------------------------------------- proxmox


@check("proxmox-hosts-unique")
def proxmox_hosts_unique(config: HomelabConfig) -> Iterator[Finding]:
    """Proxmox host names and addresses are unique."""
    names: Counter[str] = Counter()
    addresses: Counter[IPv4Address] = Counter()
    for i, host in enumerate(config.proxmox.hosts):
        names[host.name] += 1
        addresses[host.address] += 1
        if names[host.name] == 2:
            yield Finding(("proxmox", "hosts", i, "name"), f"Proxmox host '{host.name}' is listed twice", "")
        if addresses[host.address] == 2:
            yield Finding(("proxmox", "hosts", i, "address"), f"address {host.address} is listed twice", "")


@check("vm-source")
def image_or_template(config: HomelabConfig) -> Iterator[Finding]:
    """Exactly one of proxmox.image and proxmox.template is set; a template lives on a known host."""
    px = config.proxmox
    if (px.image is None) == (px.template is None):
        yield Finding(
            ("proxmox",),
            "set exactly one of 'image' (download a cloud image) and 'template' (clone an existing template)",
            "the starter config uses image:",
        )
    if px.template is not None and px.template.node not in {h.name for h in px.hosts}:
        yield Finding(
            ("proxmox", "template", "node"),
            f"unknown Proxmox host '{px.template.node}'",
            "the template must be on one of proxmox.hosts",
        )


@check("vmid-range")
def vmids_valid(config: HomelabConfig) -> Iterator[Finding]:
    """Node VMIDs stay in Proxmox's range and do not collide with the template."""
    cluster = config.cluster
    start = config.proxmox.vmid_start
    last = start + 10 + max(cluster.agents.count - 1, 0)
    if last > 999_999_999:
        yield Finding(
            ("proxmox", "vmid_start"), f"VMIDs would reach {last}, past 999999999", "lower vmid_start"
        )
    template = config.proxmox.template
    if template is not None:
        taken = set(range(start, start + cluster.servers.count)) | set(
            range(start + 10, start + 10 + cluster.agents.count)
        )
        if template.vm_id in taken:
            yield Finding(
                ("proxmox", "template", "vm_id"),
                f"VMID {template.vm_id} is also a node's VMID",
                f"node VMIDs start at {start}; move vmid_start or the template",
            )


@check("host-capacity")
def hosts_have_capacity(config: HomelabConfig) -> Iterator[Finding]:
    """The VMs placed on each Proxmox host fit its memory; vCPU overcommit is limited."""
    placed = place_nodes(config.cluster, config.proxmox)
    for i, host in enumerate(config.proxmox.hosts):
        nodes = [n for n in placed if n.host == host.name]
        memory = sum(n.memory_mb for n in nodes)
        cores = sum(n.cores for n in nodes)
        path = ("proxmox", "hosts", i)
        if memory + PROXMOX_RESERVE_MB > host.memory_mb:
            yield Finding(
                (*path, "memory_mb"),
                f"{host.name} needs {memory} MiB for {len(nodes)} VMs plus "
                f"{PROXMOX_RESERVE_MB} MiB for Proxmox, but has {host.memory_mb}",
                "add a host, shrink the VMs, or pin some nodes elsewhere with node_overrides",
            )
        if cores > 2 * host.cpus:
            yield Finding(
                (*path, "cpus"),
                f"{host.name} would run {cores} vCPUs on {host.cpus} CPUs",
                "more than 2x overcommit starves etcd; add a host or shrink the VMs",
            )
        elif cores > host.cpus:
            yield Finding(
                (*path, "cpus"),
                f"{host.name} runs {cores} vCPUs on {host.cpus} CPUs (overcommitted)",
                "fine for a lab, but latency-sensitive etcd may suffer",
                "warning",
            )


@check("servers-spread")
def servers_spread(config: HomelabConfig) -> Iterator[Finding]:
    """With several Proxmox hosts, servers should not all land on one (one host failure kills etcd)."""
    if len(config.proxmox.hosts) < 2 or config.cluster.servers.count < 2:
        return
    placed = [n for n in place_nodes(config.cluster, config.proxmox) if n.role == "server"]
    hosts = {n.host for n in placed}
    if len(hosts) == 1:
        yield Finding(
            ("cluster", "node_overrides"),
            f"all {len(placed)} servers run on {hosts.pop()}",
            "losing that host loses etcd quorum; remove the host pins",
            "warning",
        )


@check("tls-verify")
def tls_verification(config: HomelabConfig) -> Iterator[Finding]:
    """Turning off TLS verification of the Proxmox API is allowed but flagged."""
    if not config.proxmox.verify_tls:
        yield Finding(
            ("proxmox", "verify_tls"),
            "TLS verification of the Proxmox API is off",
            "anyone on the path can read your API token; install a trusted certificate",
            "warning",
        )


# --------------------------------------------------------------------------- services and routes


def route_paths(config: HomelabConfig) -> Iterator[tuple[FieldPath, str]]:
    """Every route host with the field it was written at: the catalog's routes, then the apps'."""
    for entry in enabled_entries(config):
        for spec in entry.routes:
            yield ("services", entry.name, spec.field), spec.host
    for i, app in enumerate(config.apps):
        if app.host is not None:
            yield ("apps", i, "host"), app.host


@check("route-hosts")
def route_hosts_unique_in_domain(config: HomelabConfig) -> Iterator[Finding]:
    """Route hosts are inside the domain and unique."""
    seen: dict[str, FieldPath] = {}
    for path, host in route_paths(config):
        fqdn = route_fqdn(host, config.domain)
        if fqdn is None:
            yield Finding(
                path,
                f"'{host}' is not inside the domain {config.domain}",
                f"write a label like 'app' (becomes app.{config.domain}) or a name ending in "
                f".{config.domain}",
            )
            continue
        if fqdn in seen:
            yield Finding(
                path,
                f"host {fqdn} is already used by {format_path(seen[fqdn])}",
                "every route needs its own host",
            )
        seen.setdefault(fqdn, path)


@check("routes-need-traefik")
def routes_need_traefik(config: HomelabConfig) -> Iterator[Finding]:
    """Routes need Traefik, and Traefik needs MetalLB for its LoadBalancer IP."""
    svc = config.services
    if not svc.traefik.enabled:
        for path, _host in route_paths(config):
            if path[0] == "apps":
                yield Finding(
                    path,
                    "this app has a route but Traefik is disabled",
                    "enable services.traefik or remove the host",
                )
    elif not svc.metallb.enabled:
        yield Finding(
            ("services", "metallb", "enabled"),
            "Traefik needs MetalLB for its LoadBalancer IP (K3s servicelb is disabled)",
            "enable services.metallb",
        )


@check("app-auth-needs-authelia")
def app_auth_needs_authelia(config: HomelabConfig) -> Iterator[Finding]:
    """A route protected by one_factor, two_factor or group needs Authelia."""
    if config.services.authelia.enabled:
        return
    for i, app in enumerate(config.apps):
        if app.host is not None and app.access != "public":
            yield Finding(
                ("apps", i, "access"),
                f"access '{app.access}' needs Authelia, which is disabled",
                "enable services.authelia or set access: public",
            )


@check("authelia-deps")
def authelia_needs_openldap(config: HomelabConfig) -> Iterator[Finding]:
    """Authelia needs OpenLDAP (its user backend) and Vault + External Secrets (its keys)."""
    svc = config.services
    if not svc.authelia.enabled:
        return
    for name, enabled in (
        ("openldap", svc.openldap.enabled),
        ("vault", svc.vault.enabled),
        ("external_secrets", svc.external_secrets.enabled),
    ):
        if not enabled:
            yield Finding(
                ("services", name, "enabled"),
                f"Authelia needs {name}, which is disabled",
                f"enable services.{name} or disable services.authelia",
            )


@check("secrets-operator")
def secrets_need_vault(config: HomelabConfig) -> Iterator[Finding]:
    """External Secrets needs Vault as its store."""
    svc = config.services
    if svc.external_secrets.enabled and not svc.vault.enabled:
        yield Finding(
            ("services", "vault", "enabled"),
            "External Secrets reads from Vault, which is disabled",
            "enable services.vault or disable services.external_secrets",
        )


@check("monitoring-deps")
def monitoring_needs_external_secrets(config: HomelabConfig) -> Iterator[Finding]:
    """Grafana's admin password and the receivers' credentials come from Vault through External
    Secrets; without it Grafana never starts and the monitoring Application never turns healthy."""
    svc = config.services
    if svc.monitoring.enabled and not svc.external_secrets.enabled:
        yield Finding(
            ("services", "external_secrets", "enabled"),
            "monitoring reads Grafana's admin password from Vault through External Secrets, "
            "which is disabled",
            "enable services.external_secrets or disable services.monitoring",
        )


@check("velero-target")
def velero_needs_target(config: HomelabConfig) -> Iterator[Finding]:
    """Velero needs a backup target and unique schedule names."""
    velero = config.services.velero
    if not velero.enabled:
        return
    if velero.target is None:
        yield Finding(
            ("services", "velero"),
            "Velero is enabled but has no backup target",
            "add services.velero.target with bucket (and s3_url for MinIO), or disable velero",
        )
    names: set[str] = set()
    for i, schedule in enumerate(velero.schedules):
        if schedule.name in names:
            yield Finding(
                ("services", "velero", "schedules", i, "name"), f"schedule '{schedule.name}' twice", ""
            )
        names.add(schedule.name)


@check("vault-shares")
def vault_threshold(config: HomelabConfig) -> Iterator[Finding]:
    """Vault's unseal threshold is at most the number of shares; raft wants an odd member count."""
    vault = config.services.vault
    if vault.key_threshold > vault.key_shares:
        yield Finding(
            ("services", "vault", "key_threshold"),
            f"threshold {vault.key_threshold} exceeds {vault.key_shares} key shares",
            "Vault could never be unsealed; lower the threshold",
        )
    if vault.enabled and vault.replicas % 2 == 0:
        yield Finding(
            ("services", "vault", "replicas"),
            f"{vault.replicas} raft members tolerate no more failures than one less",
            "use an odd count",
            "warning",
        )


@check("consul-quorum")
def consul_quorum(config: HomelabConfig) -> Iterator[Finding]:
    """Consul servers form a raft quorum: an odd count is recommended."""
    consul = config.services.consul
    if consul.enabled and consul.replicas % 2 == 0:
        yield Finding(
            ("services", "consul", "replicas"),
            f"{consul.replicas} Consul servers tolerate no more failures than one less",
            "use an odd count",
            "warning",
        )


@check("acme-settings")
def acme_needs_settings(config: HomelabConfig) -> Iterator[Finding]:
    """The ACME issuer needs its settings."""
    cm = config.services.cert_manager
    if cm.enabled and cm.issuer == "acme" and cm.acme is None:
        yield Finding(
            ("services", "cert_manager", "issuer"),
            "issuer 'acme' needs services.cert_manager.acme",
            "add acme: {email: you@example.com, dns_provider: cloudflare}",
        )


@check("longhorn-advice")
def longhorn_recommended(config: HomelabConfig) -> Iterator[Finding]:
    """With several agents or Proxmox hosts, replicated storage (Longhorn) is recommended."""
    if config.services.longhorn.enabled:
        return
    if config.cluster.agents.count > 1 or len(config.proxmox.hosts) > 1:
        yield Finding(
            ("services", "longhorn"),
            "volumes use node-local storage (local-path): a pod moved to another node loses its data",
            "set services.longhorn.enabled: true",
            "info",
        )


# --------------------------------------------------------------------------- apps and identity


@check("app-names")
def app_names_unique(config: HomelabConfig) -> Iterator[Finding]:
    """App names are unique and each app has exactly one source."""
    seen: set[str] = set()
    for i, app in enumerate(config.apps):
        if app.name in seen:
            yield Finding(("apps", i, "name"), f"app '{app.name}' is defined twice", "")
        seen.add(app.name)
        if (app.chart is None) == (app.manifests is None):
            yield Finding(("apps", i), "set exactly one of 'chart' and 'manifests'", "")


KUBERNETES_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@check("app-reserved-names")
def app_names_not_reserved(config: HomelabConfig) -> Iterator[Finding]:
    """An app's name and namespace do not take a core service's name or namespace."""
    entries = enabled_entries(config)
    # Manifests spell service names with '-' (cert-manager) where the config has '_'.
    # `root` is the app-of-apps Application itself.
    names = {n for key in REGISTRY for n in (key, key.replace("_", "-"))} | {"root"}
    companions = {f"{key.replace('_', '-')}-{part}": key for key in REGISTRY for part in COMPANION_PARTS}
    namespaces = {e.namespace: e.name for e in entries}
    for i, app in enumerate(config.apps):
        if app.name in names:
            yield Finding(
                ("apps", i, "name"),
                f"'{app.name}' is the name of a core service",
                "rename the app: its ArgoCD Application would replace the service's",
            )
        elif app.name in companions:
            yield Finding(
                ("apps", i, "name"),
                f"'{app.name}' is the name of an Application of the core service {companions[app.name]}",
                "rename the app: its ArgoCD Application would replace the service's",
            )
        namespace = app.namespace or app.name
        key = "namespace" if app.namespace else "name"
        if namespace in namespaces:
            yield Finding(
                ("apps", i, key),
                f"namespace '{namespace}' belongs to the core service {namespaces[namespace]}",
                "set apps[].namespace to a namespace of its own",
            )
        elif namespace in KUBERNETES_NAMESPACES:
            yield Finding(
                ("apps", i, key),
                f"namespace '{namespace}' is a Kubernetes system namespace",
                "set apps[].namespace to a namespace of its own",
            )


@check("groups-known")
def groups_known(config: HomelabConfig) -> Iterator[Finding]:
    """Groups named by users and apps exist; `access: group` names at least one."""
    groups = {g.name for g in config.groups}
    dupes = [g.name for g in config.groups]
    for i, name in enumerate(dupes):
        if name in dupes[:i]:
            yield Finding(("groups", i, "name"), f"group '{name}' is defined twice", "")
    for i, user in enumerate(config.users):
        for k, group in enumerate(user.groups):
            if group not in groups:
                yield Finding(
                    ("users", i, "groups", k),
                    f"unknown group '{group}'",
                    "define it under groups:" if not groups else "groups: " + ", ".join(sorted(groups)),
                )
    for i, app in enumerate(config.apps):
        if app.access == "group" and not app.groups:
            yield Finding(("apps", i, "groups"), "access 'group' needs at least one group", "list the groups")
        if app.access != "group" and app.groups:
            yield Finding(
                ("apps", i, "groups"),
                f"groups are ignored with access '{app.access}'",
                "set access: group",
                "warning",
            )
        for k, group in enumerate(app.groups):
            if group not in groups:
                yield Finding(("apps", i, "groups", k), f"unknown group '{group}'", "define it under groups:")


@check("users-unique")
def users_unique(config: HomelabConfig) -> Iterator[Finding]:
    """Usernames and e-mail addresses are unique."""
    names: set[str] = set()
    emails: set[str] = set()
    for i, user in enumerate(config.users):
        if user.username in names:
            yield Finding(("users", i, "username"), f"user '{user.username}' is defined twice", "")
        if user.email.lower() in emails:
            yield Finding(
                ("users", i, "email"),
                f"e-mail {user.email} is used twice",
                "Authelia identifies 2FA registrations by e-mail",
            )
        names.add(user.username)
        emails.add(user.email.lower())


# --------------------------------------------------------------------------- firewall policy


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


# --------------------------------------------------------------------------- unmanaged inventory


@check("unmanaged-addresses")
def unmanaged_guests_do_not_collide(config: HomelabConfig) -> Iterator[Finding]:
    """Unmanaged guests (from `homelab import --record`) have unique VMIDs; address clashes are warned.

    A clash with the cluster's addresses is a warning, not an error: in a migration the old guest
    is often the one the new node replaces, and the inventory must still be recordable.
    """
    cluster = config.cluster
    ranges = {key: parse_range(getattr(cluster, key)) for key in ("node_ip_range", "loadbalancer_range")}
    seen: dict[int, int] = {}
    for i, guest in enumerate(config.unmanaged):
        if guest.vmid in seen:
            yield Finding(
                ("unmanaged", i, "vmid"),
                f"VMID {guest.vmid} is listed twice (also unmanaged[{seen[guest.vmid]}])",
                "VMIDs are unique in a Proxmox cluster; re-run `homelab import --record`",
            )
        seen.setdefault(guest.vmid, i)
        if guest.ip is None:
            continue
        if guest.ip == cluster.vip:
            yield Finding(
                ("unmanaged", i, "ip"),
                f"{guest.name} already uses {guest.ip}, the cluster VIP",
                "move cluster.vip to a free address",
                "warning",
            )
        for key, (first, last) in ranges.items():
            if first <= guest.ip <= last:
                yield Finding(
                    ("unmanaged", i, "ip"),
                    f"{guest.name} already uses {guest.ip}, inside cluster.{key} ({first}-{last})",
                    f"shrink or move cluster.{key} so it excludes {guest.ip}",
                    "warning",
                )
