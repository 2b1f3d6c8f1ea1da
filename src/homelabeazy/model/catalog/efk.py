"""EFK: ECK-managed Elasticsearch and Kibana, Fluentd shipping every container's logs."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.converge.needs import Clients, FlowNeed, need_from_url
from homelabeazy.converge.state import DesiredObject, DesiredState
from homelabeazy.model.catalog.base import ChartPin, RouteSpec, ServiceEntry

CHART = ChartPin("https://helm.elastic.co", "eck-operator", "3.2.0")


def entry(config: HomelabConfig) -> ServiceEntry:
    """ECK generates the elastic user's password itself, inside the cluster."""
    return ServiceEntry(
        name="efk",
        title="EFK logging",
        namespace="logging",
        chart=CHART,
        wave=5,
        description="Log collection (Fluentd), storage (Elasticsearch) and search (Kibana)",
        routes=(RouteSpec(config.services.efk.host, "kibana-kb-http", 5601, "group", ("admins",)),),
    )


ELASTIC_VERSION = "8.19.0"
"""Elasticsearch and Kibana release ECK deploys (8.x: the Fluentd image's client speaks 8)."""
FLUENTD_IMAGE = "fluent/fluentd-kubernetes-daemonset:v1.17-debian-elasticsearch8-1"
"""Fluentd with the Elasticsearch 8 output, the CRI parser and the Kubernetes metadata filter."""
INDEX_PREFIX = "k8s-logs"
"""Daily indices are `<prefix>-YYYY.MM.DD`; the retention policy matches this prefix. Not `logs-*-*`:
Elasticsearch's built-in `logs` template would turn those into data streams Fluentd cannot write."""


# What ECK (3.2) creates from the custom resources, as its source has it: the operator is the one
# to ask which pods and Services exist and which names the self-signed HTTP certificate carries.
ES_HTTP_PORT = 9200
KIBANA_PORT = 5601
TYPE_LABEL = "common.k8s.elastic.co/type"
ES_CLUSTER_LABEL = "elasticsearch.k8s.elastic.co/cluster-name"
KIBANA_NAME_LABEL = "kibana.k8s.elastic.co/name"
OPERATOR_LABELS = {"app.kubernetes.io/name": "elastic-operator"}
"""The eck-operator chart's pods: the operator calls each cluster's API (the internal Service)."""
FLUENTD_LABELS = {"app.kubernetes.io/name": "fluentd"}
"""The Fluentd DaemonSet's pods (render/k8s/services/efk.py)."""


def _spec(obj: DesiredObject) -> Mapping[str, Any]:
    spec = obj.doc.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _tls_enabled(obj: DesiredObject) -> bool:
    tls = (_spec(obj).get("http") or {}).get("tls") or {}
    return not (tls.get("selfSignedCertificate") or {}).get("disabled", False)


def _scheme(obj: DesiredObject) -> str:
    return "https" if _tls_enabled(obj) else "http"


def _implied(owner: DesiredObject, kind: str, api: str, name: str, spec: Mapping[str, Any]) -> DesiredObject:
    doc = {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": name, "namespace": owner.namespace},
        "spec": spec,
    }
    return DesiredObject(doc, owner.origin, owner.namespace)


def _service(owner: DesiredObject, name: str, selector: Mapping[str, str], port: int) -> DesiredObject:
    ports = [{"name": _scheme(owner), "port": port, "protocol": "TCP"}]
    return _implied(owner, "Service", "v1", name, {"selector": dict(selector), "ports": ports})


def _pods(
    owner: DesiredObject, name: str, labels: Mapping[str, str], ports: list[dict[str, Any]]
) -> DesiredObject:
    template_labels = {
        **labels,
        **(((owner.doc.get("spec") or {}).get("podTemplate") or {}).get("metadata") or {}).get("labels", {}),
    }
    container = {"name": owner.kind.lower(), "ports": ports}
    spec = {
        "selector": {"matchLabels": dict(labels)},
        "template": {"metadata": {"labels": template_labels}, "spec": {"containers": [container]}},
    }
    return _implied(
        owner, "StatefulSet" if owner.kind == "Elasticsearch" else "Deployment", "apps/v1", name, spec
    )


def implied_objects(state: DesiredState, config: HomelabConfig) -> Iterator[DesiredObject]:  # noqa: ARG001
    """The pods (as the workloads ECK creates) and HTTP Services of each Elasticsearch and Kibana."""
    for es in state.of_kind("Elasticsearch", "elasticsearch.k8s.elastic.co"):
        labels = {ES_CLUSTER_LABEL: es.name, TYPE_LABEL: "elasticsearch"}
        ports = [
            {"name": _scheme(es), "containerPort": ES_HTTP_PORT, "protocol": "TCP"},
            {"name": "transport", "containerPort": 9300, "protocol": "TCP"},
        ]
        for node_set in _spec(es).get("nodeSets") or ():
            set_labels = {
                **labels,
                "elasticsearch.k8s.elastic.co/statefulset-name": f"{es.name}-es-{node_set.get('name')}",
            }
            yield _pods(es, f"{es.name}-es-{node_set.get('name')}", set_labels, ports)
        yield _service(es, f"{es.name}-es-http", labels, ES_HTTP_PORT)
        yield _service(es, f"{es.name}-es-internal-http", labels, ES_HTTP_PORT)
    for kb in state.of_kind("Kibana", "kibana.k8s.elastic.co"):
        labels = {KIBANA_NAME_LABEL: kb.name, TYPE_LABEL: "kibana"}
        ports = [{"name": _scheme(kb), "containerPort": KIBANA_PORT, "protocol": "TCP"}]
        yield _pods(kb, f"{kb.name}-kb", labels, ports)
        yield _service(kb, f"{kb.name}-kb-http", labels, KIBANA_PORT)


def certificate_names(state: DesiredState, config: HomelabConfig) -> dict[tuple[str, str], tuple[str, ...]]:  # noqa: ARG001
    """The DNS names of ECK's self-signed HTTP certificate, per Service that serves it.

    ECK (pkg/controller/common/certificates/http_reconcile.go) names `<name>-es-http`,
    `<name>-es-http.<ns>.es.local`, `<svc>.<ns>` and `<svc>.<ns>.svc` for the external and the
    internal HTTP Service, `*.<statefulset>.<ns>.svc` per node set, and the subjectAltNames given
    in the resource. Not `...svc.cluster.local`. A user-provided certificate is not ECK's to name.
    """
    names: dict[tuple[str, str], tuple[str, ...]] = {}
    for es in state.of_kind("Elasticsearch", "elasticsearch.k8s.elastic.co"):
        tls = (_spec(es).get("http") or {}).get("tls") or {}
        if not _tls_enabled(es) or (tls.get("certificate") or {}).get("secretName"):
            continue
        ns, short = es.namespace, f"{es.name}-es-http"
        dns = [f"{short}.{ns}.es.local", short]
        for svc in (short, f"{es.name}-es-internal-http"):
            dns += [f"{svc}.{ns}.svc", f"{svc}.{ns}"]
        dns += [f"*.{es.name}-es-{n.get('name')}.{ns}.svc" for n in _spec(es).get("nodeSets") or ()]
        dns += [
            str(s["dns"])
            for s in (tls.get("selfSignedCertificate") or {}).get("subjectAltNames") or ()
            if s.get("dns")
        ]
        names[(ns or "", short)] = names[(ns or "", f"{es.name}-es-internal-http")] = tuple(dns)
    return names


_FLUENT_KEY = re.compile(r"^\s*(host|port|scheme|ssl_verify)\s+(\S+)\s*$", re.MULTILINE)
_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d+)?")


def flow_needs(state: DesiredState, config: HomelabConfig) -> Iterator[FlowNeed]:
    """Fluentd, the retention Job, Kibana and the operator all call Elasticsearch."""
    namespace = entry(config).namespace
    for config_map in state.of_kind("ConfigMap", ""):
        text = str((config_map.doc.get("data") or {}).get("fluent.conf") or "")
        keys = dict(_FLUENT_KEY.findall(text))
        if config_map.namespace == namespace and "host" in keys:
            url = f"{keys.get('scheme', 'http')}://{keys['host']}:{keys.get('port', ES_HTTP_PORT)}"
            clients = Clients(namespace, FLUENTD_LABELS, "Fluentd")
            verify = keys.get("scheme") == "https" and keys.get("ssl_verify", "true") == "true"
            yield need_from_url(url, clients, "log shipping to Elasticsearch", config_map, tls_verify=verify)
    for job in state.of_kind("Job", "batch"):
        if job.namespace != namespace:
            continue
        text = " ".join(
            str(a) for c in _containers(job) for a in (*(c.get("command") or ()), *(c.get("args") or ()))
        )
        for url in dict.fromkeys(_URL.findall(text)):
            clients = Clients(namespace, what=job.ident, workload=job.ident)
            insecure = " -k " in f" {text} " or "--insecure" in text
            yield need_from_url(
                url, clients, "Elasticsearch API", job, tls_verify=url.startswith("https") and not insecure
            )
    for kb in state.of_kind("Kibana", "kibana.k8s.elastic.co"):
        ref = _spec(kb).get("elasticsearchRef") or {}
        es = state.find("Elasticsearch", ref.get("namespace") or kb.namespace, str(ref.get("name", "")))
        if es is not None:
            url = f"{_scheme(es)}://{es.name}-es-http.{es.namespace}.svc:{ES_HTTP_PORT}"
            clients = Clients(kb.namespace or "", {KIBANA_NAME_LABEL: kb.name}, kb.ident)
            yield need_from_url(url, clients, "Kibana's Elasticsearch", kb)
    for es in state.of_kind("Elasticsearch", "elasticsearch.k8s.elastic.co"):
        url = f"{_scheme(es)}://{es.name}-es-internal-http.{es.namespace}.svc:{ES_HTTP_PORT}"
        clients = Clients(namespace, OPERATOR_LABELS, "the ECK operator")
        yield need_from_url(url, clients, f"ECK managing {es.ident}", es)


def _containers(job: DesiredObject) -> list[Mapping[str, Any]]:
    template = (_spec(job).get("template") or {}).get("spec") or {}
    return list(template.get("containers") or ())
