"""Monitoring: kube-prometheus-stack (Prometheus Operator, Prometheus, Alertmanager, Grafana,
node-exporter, kube-state-metrics) with this homelab's own alert rules.

What the operator creates (the Prometheus and Alertmanager pods) and what Prometheus connects to
(every target of every ServiceMonitor, the nodes' exporters, the API VIP) is declared here, so the
convergence proof checks that the NetworkPolicies let Prometheus scrape exactly that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.effective import Effective, containers, env_text
from homelabeazy.desired.made import labelled_pod, made_beside
from homelabeazy.desired.needs import Clients, FlowNeed, need_from_url, url_host_port
from homelabeazy.desired.outcomes import Breach, Outcome, confined, env_from_secret, runs
from homelabeazy.desired.selectors import as_list, as_map, dig
from homelabeazy.desired.state import DesiredObject, DesiredState, Finding
from homelabeazy.model.catalog.traps import health_finding
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.node_setup import ETCD_METRICS_PORT, KUBE_VIP_METRICS_PORT
from homelabeazy.model.service import (
    STORAGE,
    ChartPin,
    OutsideName,
    OwnedValue,
    RouteSpec,
    SecretSpec,
    ServiceEntry,
    secret_name,
)

CHART = ChartPin("https://prometheus-community.github.io/helm-charts", "kube-prometheus-stack", "88.5.3")
GROUP = "monitoring.coreos.com"
NAMESPACE = "monitoring"
RELEASE = "monitoring"
"""Release and `fullnameOverride`: the chart's objects are `monitoring-<component>`."""
GRAFANA_SERVICE = f"{RELEASE}-grafana"
GRAFANA_PATH = "monitoring/grafana_admin"
NOTIFY_PATH = "monitoring/notify"

NODE_EXPORTER_PORT = 9100
KUBELET_PORT = 10250
API_PORT = 6443


def notify_keys(config: HomelabConfig) -> tuple[str, ...]:
    """The Vault keys at `monitoring/notify` the configured receivers read."""
    notify = config.services.monitoring.notify
    keys: list[str] = []
    if notify.ntfy is not None and notify.ntfy.token:
        keys.append("ntfy_token")
    if notify.email is not None and notify.email.username is not None:
        keys.append("smtp_password")
    if notify.webhook is not None and notify.webhook.token:
        keys.append("webhook_token")
    return tuple(keys)


OWNED_VALUES: tuple[OwnedValue, ...] = (
    OwnedValue(
        ("fullnameOverride",), "the routes, NetworkPolicies and health checks name its objects `monitoring-*`"
    ),
    OwnedValue(
        ("prometheus", "prometheusSpec", "retention"),
        "it has its own key",
        "set it through services.monitoring.retention_days instead",
    ),
    OwnedValue(
        ("prometheus", "prometheusSpec", "storageSpec"),
        "it has its own key",
        "set it through services.monitoring.storage instead",
    ),
    OwnedValue(
        ("prometheus", "prometheusSpec", "serviceMonitorSelectorNilUsesHelmValues"),
        "Prometheus must pick up the ServiceMonitors the homelab renders",
    ),
    OwnedValue(
        ("prometheus", "prometheusSpec", "ruleSelectorNilUsesHelmValues"),
        "Prometheus must pick up the homelab's alert rules",
    ),
    OwnedValue(
        ("alertmanager", "config"),
        "it has its own key",
        "set it through services.monitoring.notify instead",
    ),
    OwnedValue(
        ("alertmanager", "alertmanagerSpec", "storage"),
        "it has its own key",
        "set it through services.monitoring.alertmanager_storage instead",
    ),
    OwnedValue(("grafana", "admin"), "Grafana's admin password is the one kept in Vault"),
)
"""Chart values the homelab depends on: `services.monitoring.values` may not set them."""


def entry(config: HomelabConfig) -> ServiceEntry:
    """Grafana sits behind Authelia (admins only) and keeps its own admin login from Vault; the
    receivers' credentials are the user's, so they are external secrets."""
    secrets = [SecretSpec(GRAFANA_PATH, ("admin_password",), "monitoring", "Grafana's admin password")]
    keys = notify_keys(config)
    if keys:
        secrets.append(
            SecretSpec(NOTIFY_PATH, keys, "monitoring", "credentials of the alert receivers", "external")
        )
    return ServiceEntry(
        name="monitoring",
        title="Monitoring",
        namespace=NAMESPACE,
        chart=CHART,
        owned_values=OWNED_VALUES,
        crd_groups=(GROUP,),
        description="Metrics (Prometheus), alerts (Alertmanager) and dashboards (Grafana)",
        routes=(RouteSpec(config.services.monitoring.host, GRAFANA_SERVICE, 80, "group", ("admins",)),),
        secrets=tuple(secrets),
        depends_on=(STORAGE,),
        creates=operator_objects,
        health_checks=(monitors_find_their_services,),
        reaches=_receivers(config),
    )


def _receivers(config: HomelabConfig) -> tuple[OutsideName, ...]:
    """Where Alertmanager sends alerts: the ntfy server, the SMTP server, the webhook."""
    notify = config.services.monitoring.notify
    at = ("services", "monitoring", "notify")
    out = []
    if notify.ntfy is not None:
        out.append(
            OutsideName(*url_host_port(notify.ntfy.server), (*at, "ntfy", "server"), "Alertmanager (ntfy)")
        )
    if notify.email is not None:
        out.append(
            OutsideName(notify.email.host, notify.email.port, (*at, "email", "host"), "Alertmanager (e-mail)")
        )
    if notify.webhook is not None:
        out.append(
            OutsideName(*url_host_port(notify.webhook.url), (*at, "webhook", "url"), "Alertmanager (webhook)")
        )
    return tuple(out)


def operator_objects(state: DesiredState) -> Iterator[DesiredObject]:
    """The pods of the StatefulSets the operator creates for each Prometheus and Alertmanager, and their
    governing Services (`prometheus-operated`, `alertmanager-operated`): the chart's Services
    select those pods and its objects name those Services."""
    for prometheus in state.of_kind("Prometheus", GROUP):
        yield made_beside(prometheus, "Service", "prometheus-operated", ports=(("web", 9090),))
    for alertmanager in state.of_kind("Alertmanager", GROUP):
        yield made_beside(alertmanager, "Service", "alertmanager-operated", ports=(("web", 9093),))
    yield from (labelled_pod(workload, "0", {}) for workload in _workloads(state))


RELOADER_PORT = ("reloader-web", 8080)
"""The config-reloader sidecar the operator adds to every Prometheus and Alertmanager pod."""


def _workload(
    owner: DesiredObject, name: str, labels: Mapping[str, str], port: tuple[str, int]
) -> DesiredObject:
    """The StatefulSet the operator makes for `owner`, with the pod labels it gives its pods."""
    spec = as_map(owner.doc.get("spec"))
    pod_labels = {**dict(labels), **as_map(dig(spec, "podMetadata", "labels"))}
    container = {"name": owner.kind.lower(), "ports": [{"name": port[0], "containerPort": port[1]}]}
    reloader = {
        "name": "config-reloader",
        "ports": [{"name": RELOADER_PORT[0], "containerPort": RELOADER_PORT[1]}],
    }
    doc: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": owner.namespace},
        "spec": {
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "serviceAccountName": str(spec.get("serviceAccountName") or "default"),
                    "containers": [container, reloader],
                },
            },
        },
    }
    return DesiredObject(doc, owner.origin, owner.namespace)


def prometheus_labels(name: str) -> dict[str, str]:
    """The labels the operator (0.8x) puts on a Prometheus's pods."""
    return {"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": name, "prometheus": name}


def alertmanager_labels(name: str) -> dict[str, str]:
    """The labels the operator puts on an Alertmanager's pods."""
    return {"app.kubernetes.io/name": "alertmanager", "alertmanager": name}


def implied_objects(state: DesiredState, homelab: Homelab) -> Iterator[DesiredObject]:  # noqa: ARG001
    """The Prometheus and Alertmanager pods, as the StatefulSets the operator creates."""
    yield from _workloads(state)


def _workloads(state: DesiredState) -> Iterator[DesiredObject]:
    for prometheus in state.of_kind("Prometheus", GROUP):
        labels = prometheus_labels(prometheus.name)
        yield _workload(prometheus, f"prometheus-{prometheus.name}", labels, ("http-web", 9090))
    for alertmanager in state.of_kind("Alertmanager", GROUP):
        labels = alertmanager_labels(alertmanager.name)
        yield _workload(alertmanager, f"alertmanager-{alertmanager.name}", labels, ("http-web", 9093))


def _selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    wanted = as_map(selector.get("matchLabels"))
    return all(labels.get(k) == v for k, v in wanted.items())


def _monitor_namespaces(monitor: DesiredObject) -> set[str] | None:
    """The namespaces a ServiceMonitor looks in (None: all of them)."""
    selector = as_map(dig(monitor.doc, "spec", "namespaceSelector"))
    if selector.get("any") is True:
        return None
    names = {str(n) for n in as_list(selector.get("matchNames"))}
    return names or {monitor.namespace or ""}


def _scrape_targets(
    state: DesiredState, *, with_pods: bool = True
) -> Iterator[tuple[DesiredObject, DesiredObject, str | int]]:
    """(ServiceMonitor, Service, port) for every Service a ServiceMonitor selects; `with_pods`
    keeps only Services that select pods (the selectorless ones, etcd's and the kubelet's, stand
    for the nodes: see `flow_needs`)."""
    services = [*state.of_kind("Service", ""), *_operator_services(state)]
    for monitor in state.of_kind("ServiceMonitor", GROUP):
        namespaces = _monitor_namespaces(monitor)
        selector = as_map(dig(monitor.doc, "spec", "selector"))
        for service in services:
            if namespaces is not None and service.namespace not in namespaces:
                continue
            if with_pods and not as_map(dig(service.doc, "spec", "selector")):
                continue
            if not _selects(selector, as_map(dig(service.doc, "metadata", "labels"))):
                continue
            for endpoint in as_list(dig(monitor.doc, "spec", "endpoints")):
                port = as_map(endpoint).get("port") or as_map(endpoint).get("targetPort")
                if port is not None:
                    yield monitor, service, port


KUBELET_SERVICE_PORTS = (("https-metrics", KUBELET_PORT), ("http-metrics", 10255), ("cadvisor", 4194))


def _operator_services(state: DesiredState) -> Iterator[DesiredObject]:
    """The kubelet Service the operator keeps in kube-system (`--kubelet-service`), whose
    endpoints it fills with the nodes' addresses."""
    for operator in state.of_kind("Deployment", "apps"):
        for container in as_list(dig(operator.doc, "spec", "template", "spec", "containers")):
            for arg in as_list(as_map(container).get("args")):
                if str(arg).startswith("--kubelet-service="):
                    namespace, _, name = str(arg).split("=", 1)[1].partition("/")
                    service = made_beside(operator, "Service", name, ports=KUBELET_SERVICE_PORTS)
                    labels = {"app.kubernetes.io/name": "kubelet", "k8s-app": "kubelet"}
                    doc = {
                        **service.doc,
                        "metadata": {"name": name, "namespace": namespace, "labels": labels},
                    }
                    yield DesiredObject(doc, operator.origin, namespace)


def monitors_find_their_services(state: DesiredState) -> Iterator[Finding]:
    """A ServiceMonitor that selects no Service, or names a port its Services lack, scrapes
    nothing, silently: its alerts then never fire (a chart whose metrics are switched off)."""
    targets = list(_scrape_targets(state, with_pods=False))
    unseen = unseen_namespaces_of(state)
    for monitor in state.of_kind("ServiceMonitor", GROUP):
        looks_in = _monitor_namespaces(monitor)
        if looks_in is None or looks_in & unseen or not as_map(dig(monitor.doc, "spec", "selector")):
            continue
        found = [(service, port) for m, service, port in targets if m is monitor]
        if not found:
            yield health_finding(
                monitor,
                "monitoring",
                f"selects no Service in {', '.join(sorted(looks_in))}: nothing is scraped",
                "turn the chart's metrics Service on, or fix the ServiceMonitor's selector",
            )
            continue
        for service, port in found:
            names = {str(as_map(p).get("name")) for p in as_list(dig(service.doc, "spec", "ports"))}
            numbers = {str(as_map(p).get("port")) for p in as_list(dig(service.doc, "spec", "ports"))}
            if str(port) not in names | numbers:
                yield health_finding(
                    monitor,
                    "monitoring",
                    f"scrapes port '{port}' of {service.ident}, which has no such port",
                    f"use one of: {', '.join(sorted(names))}",
                )


def unseen_namespaces_of(state: DesiredState) -> set[str]:
    """Namespaces of Applications whose chart did not render (a helm finding says why): what is
    missing there is not this check's business."""
    failed = {f.application for f in state.findings if f.check == "helm"}
    return {a.namespace for a in state.applications if a.name in failed}


def flow_needs(state: DesiredState, homelab: Homelab) -> Iterator[FlowNeed]:
    """Prometheus scrapes every ServiceMonitor's Services, node-exporter and the kubelet on every
    node, etcd and kube-vip on every server, and the API through the VIP (how
    `HomelabApiVipUnreachable` sees the VIP);
    Alertmanager reaches the receivers."""
    for prometheus in state.of_kind("Prometheus", GROUP):
        clients = Clients(prometheus.namespace or "", prometheus_labels(prometheus.name), "Prometheus")
        for monitor, service, port in _scrape_targets(state):
            host = f"{service.name}.{service.namespace}.svc"
            yield FlowNeed(clients, host, port, f"scrape ({monitor.name})", monitor)
        for node in homelab.nodes:
            yield FlowNeed(clients, str(node.ip), NODE_EXPORTER_PORT, "scrape node-exporter", prometheus)
            yield FlowNeed(clients, str(node.ip), KUBELET_PORT, "scrape the kubelet", prometheus)
        for server in homelab.servers:
            yield FlowNeed(clients, str(server.ip), ETCD_METRICS_PORT, "scrape etcd", prometheus)
            yield FlowNeed(clients, str(server.ip), KUBE_VIP_METRICS_PORT, "scrape kube-vip", prometheus)
        yield FlowNeed(clients, str(homelab.cluster.vip), API_PORT, "probe the API VIP", prometheus)
    notify = homelab.config.services.monitoring.notify
    for alertmanager in state.of_kind("Alertmanager", GROUP):
        clients = Clients(
            alertmanager.namespace or "", alertmanager_labels(alertmanager.name), "Alertmanager"
        )
        if notify.ntfy is not None:
            yield need_from_url(notify.ntfy.server, clients, "alerts to ntfy", alertmanager)
        if notify.webhook is not None:
            yield need_from_url(notify.webhook.url, clients, "alerts to the webhook", alertmanager)
        if notify.email is not None:
            yield FlowNeed(clients, notify.email.host, notify.email.port, "alerts by e-mail", alertmanager)


# ---------------------------------------------------------------------------------- outcomes

GRAFANA = f"{RELEASE}-grafana"
"""Grafana's Deployment, its ConfigMap (grafana.ini) and its Service."""
SELECTS_EVERYTHING = (
    "serviceMonitorSelector",
    "serviceMonitorNamespaceSelector",
    "ruleSelector",
    "ruleNamespaceSelector",
)
"""Prometheus' selectors that must be empty (`{}`: every object, every namespace) for it to load
the ServiceMonitors and alert rules the homelab renders beside each service. A missing one selects
nothing, or only Prometheus' own namespace."""
_ANONYMOUS = re.compile(r"(?ms)^\[auth\.anonymous\][^\[]*?^\s*enabled\s*=\s*true\b")


def _grafana_login(view: Effective) -> Iterator[Breach]:
    """No anonymous access: everyone who opens Grafana logs in."""
    for deployment in view.named("Deployment", GRAFANA):
        for container in containers(deployment, init=False):
            if str(env_text(view, deployment, container, "GF_AUTH_ANONYMOUS_ENABLED")).lower() == "true":
                yield Breach("Grafana's GF_AUTH_ANONYMOUS_ENABLED is true", deployment)
    for config_map in view.named("ConfigMap", GRAFANA):
        if _ANONYMOUS.search(str(as_map(config_map.doc.get("data")).get("grafana.ini", ""))):
            yield Breach("grafana.ini enables [auth.anonymous]", config_map)


def _prometheus_loads_ours(view: Effective) -> Iterator[Breach]:
    for prometheus in view.of_kind("Prometheus"):
        spec = as_map(prometheus.doc.get("spec"))
        for name in SELECTS_EVERYTHING:
            if spec.get(name) != {}:
                yield Breach(
                    f"Prometheus {prometheus.name} has {name} {spec.get(name)!r}, not {{}}", prometheus
                )


def _alertmanager_config_is_ours(view: Effective) -> Iterator[Breach]:
    for alertmanager in view.of_kind("Alertmanager"):
        secret = as_map(alertmanager.doc.get("spec")).get("configSecret")
        if secret:
            yield Breach(
                f"Alertmanager {alertmanager.name} reads its configuration from Secret {secret}", alertmanager
            )


def _operated_replicas(view: Effective) -> Iterator[Breach]:
    for kind in ("Prometheus", "Alertmanager"):
        found = view.of_kind(kind)
        if not found:
            yield Breach(f"there is no {kind}")
        for obj in found:
            count = as_map(obj.doc.get("spec")).get("replicas", 1)
            if count == 0:
                yield Breach(f"{kind} {obj.name} runs 0 replicas", obj)


def outcomes(homelab: Homelab) -> Iterator[Outcome]:
    """Every alert of the homelab reaches its receivers; Grafana keeps its login from Vault."""
    admin = secret_name(next(s for s in entry(homelab.config).secrets if s.path == GRAFANA_PATH))
    yield env_from_secret(
        "Deployment", GRAFANA, ("GF_SECURITY_ADMIN_PASSWORD",), admin, what="Grafana's admin password"
    )
    yield Outcome("everyone who opens Grafana logs in (no anonymous access)", _grafana_login)
    yield Outcome(
        "Prometheus loads the ServiceMonitors and alert rules the homelab renders in every namespace",
        _prometheus_loads_ours,
    )
    yield Outcome(
        "Alertmanager sends alerts with the configuration the homelab renders from "
        "services.monitoring.notify",
        _alertmanager_config_is_ours,
    )
    yield Outcome("Prometheus and Alertmanager run", _operated_replicas)
    for kind, name in (
        ("Deployment", f"{RELEASE}-operator"),
        ("Deployment", GRAFANA),
        ("Deployment", f"{RELEASE}-kube-state-metrics"),
        ("DaemonSet", f"{RELEASE}-prometheus-node-exporter"),
    ):
        yield runs(kind, name)
    yield confined(on_the_host=(f"{RELEASE}-prometheus-node-exporter",))
