"""`homelab status`: one probe per layer, all concurrently, judged against the model.

Reading is ops' job (ops/probes.py, ops/kube.py, ops/proxmox.py); deciding whether what was
read is healthy is done here by small pure `judge_*` functions, each tested from captured answers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homelabeazy.errors import ExitCode
from homelabeazy.lifecycle.dr.ages import backup_probe, backup_schedules, etcd_copies
from homelabeazy.model import DnsRecord, Homelab
from homelabeazy.model.catalog.efk import ELASTICSEARCH_HTTP_SERVICE
from homelabeazy.model.catalog.efk import HTTP_PORT as ELASTICSEARCH_PORT
from homelabeazy.model.catalog.monitoring import NAMESPACE as MONITORING_NAMESPACE
from homelabeazy.model.catalog.monitoring import RELEASE as MONITORING_RELEASE
from homelabeazy.model.schedules import late_after
from homelabeazy.ops.dns import DnsAnswer, query_a
from homelabeazy.ops.kube import KubeAdapter
from homelabeazy.ops.probes import (
    Health,
    HttpAnswer,
    Probe,
    ProbeError,
    Row,
    certificate_not_after,
    days_left,
    http_get,
    ldap_count,
    run_probes,
)
from homelabeazy.ops.proxmox import HostFacts, ProxmoxReader, VmFacts

if TYPE_CHECKING:
    from homelabeazy.ops.objectstore import ObjectStore

ARGOCD_NAMESPACE = "argocd"
VELERO_NAMESPACE = "velero"
# In-cluster Services the renderers deploy (kept here until the GitOps layer exports them).
ELASTICSEARCH_SERVICE = ("logging", f"https:{ELASTICSEARCH_HTTP_SERVICE}:{ELASTICSEARCH_PORT}")
CONSUL_SERVICE = ("consul", "consul-server:8500")
ALERTMANAGER_SERVICE = (MONITORING_NAMESPACE, f"{MONITORING_RELEASE}-alertmanager:9093")
ALERTS_PATH = "api/v2/alerts?active=true&silenced=false&inhibited=false"
QUIET_ALERTS = frozenset({"Watchdog", "InfoInhibitor"})
"""Always-firing alerts of kube-prometheus-stack (a heartbeat, an inhibition helper): not trouble."""
CERT_WARN_DAYS = 14


@dataclass(frozen=True)
class StatusTargets:
    """Where each layer is reached from this machine; defaults come from the model.

    `traefik` overrides the Traefik address (an SSH tunnel, a test server); `vault_url` reaches
    Vault directly instead of through its route; LDAP is inside the cluster, so its probe runs
    only with `ldap_url` (a port-forward) and a bind password.
    """

    traefik: tuple[str, int] | None = None
    dns: tuple[str, int] | None = None
    """The resolver asked for every name (default: the first of `network.dns_servers`, port 53)."""
    vault_url: str | None = None
    ldap_url: str | None = None
    ldap_password: str | None = None
    kubeconfig: Path | None = None
    verify: bool | str = True
    """TLS of the routes (Traefik, Vault, LDAP): True, a CA bundle, or False (`--insecure`)."""
    proxmox_verify: bool | str | None = None
    """Proxmox's TLS, chosen apart (`--proxmox-insecure` / `--proxmox-ca-file`; None: homelab.yaml's
    verify_tls): the API token travels there, so the routes' `--insecure` never switches it off."""
    timeout: float = 5.0


@dataclass
class StatusClients:
    """The readers status uses; tests pass fakes or adapters pointed at local servers."""

    proxmox: ProxmoxReader | None = None
    kube: KubeAdapter | None = None
    backups: ObjectStore | None = None
    """The disaster-recovery bucket (Velero's target), when its keys are at hand."""
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


# --- judges: pure functions from what a system answered to rows ----------------------------------


def judge_hosts(homelab: Homelab, hosts: list[HostFacts]) -> list[Row]:
    """One row per Proxmox host the model places VMs on."""
    live = {h.name: h for h in hosts}
    rows = []
    for host in homelab.config.proxmox.hosts:
        fact = live.get(host.name)
        if fact is None:
            rows.append(Row("proxmox", host.name, "down", "not in the Proxmox cluster"))
        elif not fact.online:
            rows.append(Row("proxmox", host.name, "down", "offline"))
        else:
            mem = f"{fact.mem_used / 2**30:.1f}/{fact.mem_total / 2**30:.1f} GiB"
            rows.append(Row("proxmox", host.name, "ok", f"online, CPU {fact.cpu:.0%}, memory {mem}"))
    return rows


def judge_vms(homelab: Homelab, vms: list[VmFacts]) -> list[Row]:
    """One row per model node: does its VM exist, on the right host, running?"""
    live = {v.vmid: v for v in vms}
    rows = []
    for node in homelab.nodes:
        vm = live.get(node.vmid)
        where = f"vmid {node.vmid} on {node.host}, {node.ip}"
        if vm is None:
            rows.append(Row("vm", node.name, "down", f"missing ({where})"))
        elif not vm.running:
            rows.append(Row("vm", node.name, "down", f"stopped ({where})"))
        elif vm.host != node.host or vm.name != node.name:
            rows.append(Row("vm", node.name, "degraded", f"running as {vm.name} on {vm.host} ({where})"))
        else:
            rows.append(Row("vm", node.name, "ok", f"running ({where})"))
    return rows


def judge_nodes(homelab: Homelab, items: list[dict[str, Any]]) -> list[Row]:
    """One row per model node: registered with the cluster, Ready, at the pinned K3s version."""
    live = {i.get("metadata", {}).get("name"): i for i in items}
    rows = []
    for node in homelab.nodes:
        item = live.get(node.name)
        if item is None:
            rows.append(Row("k3s", node.name, "down", "not registered with the cluster"))
            continue
        conditions = {c.get("type"): c.get("status") for c in item.get("status", {}).get("conditions", [])}
        version = item.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "?")
        if conditions.get("Ready") != "True":
            rows.append(Row("k3s", node.name, "down", f"NotReady, {version}"))
        elif version != homelab.cluster.k3s_version:
            rows.append(
                Row("k3s", node.name, "degraded", f"Ready, {version} (model: {homelab.cluster.k3s_version})")
            )
        else:
            rows.append(Row("k3s", node.name, "ok", f"Ready, {version}"))
    return rows


def judge_applications(items: list[dict[str, Any]]) -> list[Row]:
    """One row per ArgoCD Application: healthy only when Synced and Healthy."""
    if not items:
        return [
            Row("argocd", "applications", "down", "no Applications found (run `homelab up --only bootstrap`)")
        ]
    rows = []
    for item in sorted(items, key=lambda i: i.get("metadata", {}).get("name", "")):
        status = item.get("status", {})
        sync = status.get("sync", {}).get("status", "Unknown")
        health = status.get("health", {}).get("status", "Unknown")
        good = sync == "Synced" and health == "Healthy"
        rows.append(
            Row("argocd", item["metadata"]["name"], "ok" if good else "degraded", f"{sync}, {health}")
        )
    return rows


def judge_vault(answer: HttpAnswer) -> Row:
    """Vault's /v1/sys/health: 200 active, 429 standby, 501 not initialised, 503 sealed."""
    body = answer.body if isinstance(answer.body, dict) else {}
    initialized = body.get("initialized")
    sealed = body.get("sealed")
    version = body.get("version", "?")
    if initialized is False or answer.status == 501:
        return Row("vault", "vault", "down", "not initialised (run `homelab up --only secrets`)")
    if sealed is True or answer.status == 503:
        return Row("vault", "vault", "down", "sealed (unseal it: `homelab secrets unseal`)")
    if answer.status in (200, 429, 472, 473) and initialized and sealed is False:
        role = "standby" if body.get("standby") else "active"
        return Row("vault", "vault", "ok", f"initialised, unsealed, {role}, {version}")
    return Row("vault", "vault", "down", f"unexpected answer: HTTP {answer.status}")


def judge_route(host: str, answer: HttpAnswer, protected: bool, cert_days: int | None) -> Row:
    """A route works when Traefik answers below 500 and not 404 (its 'no router' answer).

    A protected route is expected to redirect to Authelia; a public one to answer 2xx/3xx.
    """
    cert = "" if cert_days is None else f", certificate {cert_days} days left"
    if answer.status == 404 or answer.status >= 500:
        return Row("route", host, "down", f"HTTP {answer.status}{cert}")
    if (protected and answer.status in (301, 302, 303, 307, 401)) or answer.status < 400:
        if cert_days is not None and cert_days < CERT_WARN_DAYS:
            return Row("route", host, "degraded", f"HTTP {answer.status}{cert}")
        return Row("route", host, "ok", f"HTTP {answer.status}{cert}")
    return Row("route", host, "degraded", f"HTTP {answer.status}{cert}")


def judge_dns(record: DnsRecord, answer: DnsAnswer, server: str) -> Row:
    """A name is healthy when the resolver answers exactly the model's address for it."""
    if answer.rcode != "NOERROR":
        fix = "run network/pfsense/playbook.yml or load network/dns/ into it"
        return Row(
            "dns", record.name, "down", f"{answer.rcode} from {server} (model: {record.address}; {fix})"
        )
    if answer.addresses == (record.address,):
        return Row("dns", record.name, "ok", f"{record.address} from {server}")
    got = ", ".join(str(a) for a in answer.addresses) or "no address"
    return Row("dns", record.name, "down", f"{got} from {server}, model says {record.address}")


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def judge_velero(homelab: Homelab, backups: list[dict[str, Any]], now: datetime) -> list[Row]:
    """Per schedule: the last Completed backup must be younger than the schedule allows (the
    model's `late_after`, the same age at which the `HomelabBackupMissing` alert fires)."""
    velero = homelab.config.services.velero
    rows = []
    for schedule in velero.schedules:
        done = [
            t
            for b in backups
            if b.get("metadata", {}).get("labels", {}).get("velero.io/schedule-name") == schedule.name
            and b.get("status", {}).get("phase") == "Completed"
            and (t := _parse_time(b["status"].get("completionTimestamp"))) is not None
        ]
        allowed = late_after(schedule.cron)
        if not done:
            rows.append(
                Row("velero", schedule.name, "down", f"no completed backup (schedule {schedule.cron})")
            )
            continue
        age = now - max(done)
        text = f"last completed {_age(age)} ago, schedule {schedule.cron}"
        rows.append(Row("velero", schedule.name, "ok" if age <= allowed else "degraded", text))
    return rows


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400 * 2:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def judge_elasticsearch(body: Any) -> Row:
    """Green is healthy, yellow degraded (replicas unassigned), red down."""
    colour = body.get("status") if isinstance(body, dict) else None
    nodes = body.get("number_of_nodes", "?") if isinstance(body, dict) else "?"
    health = {"green": "ok", "yellow": "degraded"}.get(str(colour), "down")
    return Row("elasticsearch", "cluster", health, f"{colour or 'no answer'}, {nodes} node(s)")  # type: ignore[arg-type]


def judge_consul(leader: str) -> Row:
    """Consul's /v1/status/leader is the leader's address, or "" when there is none."""
    address = leader.strip().strip('"')
    if not address:
        return Row("consul", "leader", "down", "no leader elected")
    return Row("consul", "leader", "ok", f"leader {address}")


def judge_authelia(answer: HttpAnswer) -> Row:
    """Authelia's /api/health answers 200 {"status": "OK"}."""
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status == 200 and body.get("status") == "OK":
        return Row("authelia", "health", "ok", "OK")
    return Row("authelia", "health", "down", f"HTTP {answer.status} {body.get('status', '')}".strip())


def judge_alerts(body: Any) -> list[Row]:
    """Alertmanager's active, unsilenced, uninhibited alerts (API v2): one row per firing alert,
    critical ones `down`, the others `degraded`; a single `ok` row when none fires."""
    if not isinstance(body, list):
        raise ProbeError(f"Alertmanager answered {type(body).__name__}, not a list of alerts")
    rows = []
    for item in body:
        alert = item if isinstance(item, dict) else {}
        labels = alert.get("labels") or {}
        name = str(labels.get("alertname", "?"))
        if name in QUIET_ALERTS:
            continue
        severity = str(labels.get("severity", "warning"))
        summary = str((alert.get("annotations") or {}).get("summary", ""))
        health: Health = "down" if severity == "critical" else "degraded"
        rows.append(Row("alerts", name, health, f"{severity}: {summary}".rstrip(": ")))
    if not rows:
        return [Row("alerts", "alertmanager", "ok", "no alert firing")]
    return sorted(rows, key=lambda r: (r.health != "down", r.name, r.detail))


# --- probes: read (ops) then judge --------------------------------------------------------------


def build_probes(homelab: Homelab, targets: StatusTargets, clients: StatusClients) -> list[Probe]:
    """Every probe `status` runs for this homelab (only for enabled services)."""
    t = targets.timeout
    probes: list[Probe] = []
    proxmox = clients.proxmox
    if proxmox is not None:
        probes += [
            Probe("proxmox", "hosts", lambda: judge_hosts(homelab, proxmox.hosts()), t),
            Probe("vm", "vms", lambda: judge_vms(homelab, proxmox.vms()), t),
        ]
    kube = clients.kube
    if kube is not None:
        probes += _kube_probes(homelab, kube, clients, t)
    if clients.backups is not None:
        probes.append(
            backup_probe(clients.backups, backup_schedules(homelab), clients.now, t, etcd_copies(homelab))
        )
    traefik = targets.traefik or (str(homelab.cluster.traefik_ip), 443)
    if homelab.enabled("vault"):
        probes.append(Probe("vault", "vault", lambda: [_vault(homelab, targets, traefik)], t))
    if homelab.enabled("openldap"):
        probes.append(Probe("ldap", "directory", lambda: [_ldap(homelab, targets)], t))
    if homelab.enabled("authelia"):
        auth = f"https://{_route_host(homelab, 'authelia')}/api/health"
        probes.append(
            Probe(
                "authelia",
                "health",
                lambda: [
                    judge_authelia(http_get(auth, timeout=t, connect_to=traefik, verify=targets.verify))
                ],
                t,
            )
        )
    for route in homelab.routes:
        probes.append(
            Probe("route", route.host, _route_check(route.host, route.protected, traefik, targets), t)
        )
    resolver = targets.dns or (str(homelab.config.network.dns_servers[0]), 53)
    probes += [Probe("dns", r.name, _dns_check(r, resolver, t), t) for r in homelab.dns]
    return probes


def _dns_check(record: DnsRecord, resolver: tuple[str, int], timeout: float) -> Callable[[], list[Row]]:
    def check() -> list[Row]:
        answer = query_a(resolver[0], resolver[1], record.name, timeout)
        return [judge_dns(record, answer, f"{resolver[0]}:{resolver[1]}")]

    return check


def _kube_probes(homelab: Homelab, kube: KubeAdapter, clients: StatusClients, t: float) -> list[Probe]:
    probes = [
        Probe("k3s", "nodes", lambda: judge_nodes(homelab, kube.list_items("/api/v1/nodes")), t),
    ]
    if homelab.enabled("argocd"):
        apps = f"/apis/argoproj.io/v1alpha1/namespaces/{ARGOCD_NAMESPACE}/applications"
        probes.append(Probe("argocd", "applications", lambda: judge_applications(kube.list_items(apps)), t))
    if homelab.enabled("velero"):
        backups = f"/apis/velero.io/v1/namespaces/{VELERO_NAMESPACE}/backups"
        probes.append(
            Probe(
                "velero", "backups", lambda: judge_velero(homelab, kube.list_items(backups), clients.now()), t
            )
        )
    if homelab.enabled("efk"):
        es_ns, es_svc = ELASTICSEARCH_SERVICE
        probes.append(
            Probe(
                "elasticsearch",
                "cluster",
                lambda: [judge_elasticsearch(_json(kube.service_get(es_ns, es_svc, "_cluster/health")))],
                t,
            )
        )
    if homelab.enabled("monitoring"):
        am_ns, am_svc = ALERTMANAGER_SERVICE
        probes.append(
            Probe(
                "alerts",
                "alertmanager",
                lambda: judge_alerts(_json(kube.service_get(am_ns, am_svc, ALERTS_PATH))),
                t,
            )
        )
    if homelab.enabled("consul"):
        ns, svc = CONSUL_SERVICE
        probes.append(
            Probe(
                "consul", "leader", lambda: [judge_consul(kube.service_get(ns, svc, "v1/status/leader"))], t
            )
        )
    return probes


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise ProbeError(f"not JSON: {text[:80]!r}") from None


def _route_host(homelab: Homelab, owner: str) -> str:
    for route in homelab.routes:
        if route.owner == owner:
            return route.host
    return f"{owner}.{homelab.domain}"


def _vault(homelab: Homelab, targets: StatusTargets, traefik: tuple[str, int]) -> Row:
    path = "/v1/sys/health?standbyok=true&perfstandbyok=true"
    if targets.vault_url:
        answer = http_get(
            targets.vault_url.rstrip("/") + path, timeout=targets.timeout, verify=targets.verify
        )
    else:
        url = f"https://{_route_host(homelab, 'vault')}{path}"
        answer = http_get(url, timeout=targets.timeout, connect_to=traefik, verify=targets.verify)
    return judge_vault(answer)


def _ldap(homelab: Homelab, targets: StatusTargets) -> Row:
    if not targets.ldap_url:
        return Row("ldap", "directory", "skipped", "in-cluster only: pass --ldap-url (e.g. a port-forward)")
    password = targets.ldap_password or os.environ.get("HOMELAB_LDAP_PASSWORD", "")
    if not password:
        return Row("ldap", "directory", "skipped", "set HOMELAB_LDAP_PASSWORD to bind")
    layout = homelab.ldap
    count = ldap_count(
        targets.ldap_url,
        bind_dn=layout.admin_dn,
        password=password,
        base=layout.people_dn,
        search_filter="(objectClass=inetOrgPerson)",
        timeout=targets.timeout,
        ca_cert=os.environ.get("LDAP_CA_CERT") or None,
    )
    expected = len(homelab.users)
    health: Health = "ok" if count >= expected else "degraded"
    return Row("ldap", "directory", health, f"bind ok, {count} user(s) (model: {expected})")


def _route_check(
    host: str, protected: bool, traefik: tuple[str, int], targets: StatusTargets
) -> Callable[[], list[Row]]:
    def check() -> list[Row]:
        answer = http_get(
            f"https://{host}/", timeout=targets.timeout, connect_to=traefik, verify=targets.verify
        )
        expiry = certificate_not_after(traefik[0], traefik[1], host, targets.timeout)
        return [judge_route(host, answer, protected, days_left(expiry))]

    return check


def collect_status(homelab: Homelab, targets: StatusTargets, clients: StatusClients) -> list[Row]:
    """Run every probe concurrently and return the table's rows."""
    return run_probes(build_probes(homelab, targets, clients))


def exit_code(rows: list[Row]) -> ExitCode:
    """0 when every probed layer is healthy (skipped rows do not count), 1 when any is not."""
    return ExitCode.OK if all(r.health in ("ok", "skipped") for r in rows) else ExitCode.FAILED
