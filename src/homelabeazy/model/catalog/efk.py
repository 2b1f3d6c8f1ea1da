"""EFK: ECK-managed Elasticsearch and Kibana, Fluentd shipping every container's logs."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.converge.made import made_beside
from homelabeazy.converge.needs import Clients, FlowNeed, need_from_url
from homelabeazy.converge.selectors import dig
from homelabeazy.converge.state import DesiredObject, DesiredState, Finding
from homelabeazy.model.catalog.base import STORAGE, ChartPin, RouteSpec, ServiceEntry
from homelabeazy.model.catalog.traps import health_finding, json_documents, mapping

CHART = ChartPin("https://helm.elastic.co", "eck-operator", "3.2.0")


def entry(config: HomelabConfig) -> ServiceEntry:
    """ECK generates the elastic user's password itself, inside the cluster."""
    return ServiceEntry(
        name="efk",
        title="EFK logging",
        namespace="logging",
        chart=CHART,
        crd_groups=("elasticsearch.k8s.elastic.co", "kibana.k8s.elastic.co"),
        description="Log collection (Fluentd), storage (Elasticsearch) and search (Kibana)",
        routes=(RouteSpec(config.services.efk.host, "kibana-kb-http", 5601, "group", ("admins",)),),
        health_checks=(replicas_fit_the_nodes,),
        depends_on=(STORAGE,),
        creates=operator_objects,
    )


ELASTIC_VERSION = "8.19.0"
"""Elasticsearch and Kibana release ECK deploys (8.x: the Fluentd image's client speaks 8)."""
FLUENTD_IMAGE = "fluent/fluentd-kubernetes-daemonset:v1.17-debian-elasticsearch8-1"
"""Fluentd with the Elasticsearch 8 output, the CRI parser and the Kubernetes metadata filter."""
INDEX_PREFIX = "k8s-logs"
"""Daily indices are `<prefix>-YYYY.MM.DD`; the retention policy matches this prefix. Not `logs-*-*`:
Elasticsearch's built-in `logs` template would turn those into data streams Fluentd cannot write."""
ELASTICSEARCH = "elasticsearch"
"""Name of the ECK Elasticsearch resource; ECK names everything it makes for it after this."""
ELASTICSEARCH_HTTP_SERVICE = f"{ELASTICSEARCH}-es-http"
"""The HTTP Service ECK creates (`<name>-es-http`); its self-signed certificate names
`<service>.<namespace>.svc` and `<service>.<namespace>`, never `….svc.cluster.local`."""
HTTP_PORT = 9200


def assignable_replicas(nodes: int) -> int:
    """The most replicas per shard a cluster of `nodes` can place.

    Elasticsearch never puts a replica on its primary's node (nor two copies on one node), so
    beyond this they stay unassigned: the cluster turns yellow and ArgoCD's Elasticsearch health
    says Degraded.
    """
    return max(0, nodes - 1)


def index_replicas(nodes: int) -> int:
    """Replicas per shard of the log indices: one where another node can hold it, else none."""
    return min(1, assignable_replicas(nodes))


def _template_replicas(template: Mapping[str, Any]) -> int:
    """index.number_of_replicas an index template sets (flat or nested), else Elasticsearch's 1."""
    settings = mapping(mapping(template.get("template")).get("settings"))
    nested = mapping(settings.get("index"))
    for value in (settings.get("index.number_of_replicas"), nested.get("number_of_replicas")):
        if value is not None:
            return int(value)
    return 1


def replicas_fit_the_nodes(state: DesiredState) -> Iterator[Finding]:
    """Every index template in an Elasticsearch's namespace keeps no more replicas than it has
    other nodes; with no such template at all, a one-node cluster gets Elasticsearch's default 1."""
    for es in state.of_kind("Elasticsearch", "elasticsearch.k8s.elastic.co"):
        node_sets = mapping(es.doc.get("spec")).get("nodeSets")
        nodes = sum(int(mapping(s).get("count", 1)) for s in node_sets or [])
        most = assignable_replicas(nodes)
        templates = [
            (cm, key, body)
            for cm in state.of_kind("ConfigMap", "")
            if cm.namespace == es.namespace
            for key, body in json_documents(cm)
            if "index_patterns" in body
        ]
        consequence = "replicas stay unassigned, the cluster turns yellow and ArgoCD calls it Degraded"
        if not templates and most == 0:
            yield health_finding(
                es,
                "efk",
                f"no index template sets index.number_of_replicas: on {nodes} node(s) every new index keeps "
                f"1 replica and {consequence}",
                "ship an index template with index.number_of_replicas: 0",
            )
        for cm, key, body in templates:
            count = _template_replicas(body)
            if count > most:
                yield health_finding(
                    cm,
                    "efk",
                    f"index template {key} keeps {count} replica(s) of each shard but Elasticsearch "
                    f"{es.name} has {nodes} node(s): {consequence}",
                    f"set index.number_of_replicas to {index_replicas(nodes)}",
                )


ES_GROUP = "elasticsearch.k8s.elastic.co"
KB_GROUP = "kibana.k8s.elastic.co"
ES_HTTP_PORT = 9200
KB_HTTP_PORT = 5601


def operator_objects(state: DesiredState) -> Iterator[DesiredObject]:
    """The Secrets and Services ECK creates for each Elasticsearch and Kibana (its naming scheme:
    `<name>-es-http`, `<name>-es-elastic-user`, `<name>-kb-http`, ...), which Fluentd, the retention
    Job and the Kibana route reference although no manifest declares them."""
    for es in state.of_kind("Elasticsearch", ES_GROUP):
        scheme = _scheme(es)
        yield made_beside(es, "Service", f"{es.name}-es-http", ports=((scheme, ES_HTTP_PORT),))
        yield made_beside(es, "Service", f"{es.name}-es-transport", ports=(("tls-transport", 9300),))
        yield made_beside(es, "Secret", f"{es.name}-es-elastic-user", keys=("elastic",))
        yield made_beside(es, "Secret", f"{es.name}-es-http-certs-public", keys=("ca.crt", "tls.crt"))
        yield made_beside(
            es, "Secret", f"{es.name}-es-http-certs-internal", keys=("ca.crt", "tls.crt", "tls.key")
        )
        yield made_beside(es, "Secret", f"{es.name}-es-http-ca-internal", keys=("tls.crt", "tls.key"))
    for kb in state.of_kind("Kibana", KB_GROUP):
        yield made_beside(kb, "Service", f"{kb.name}-kb-http", ports=((_scheme(kb), KB_HTTP_PORT),))
        yield made_beside(kb, "Secret", f"{kb.name}-kb-config")
        yield made_beside(kb, "Secret", f"{kb.name}-kb-http-certs-public", keys=("ca.crt", "tls.crt"))


def _scheme(owner: DesiredObject) -> str:
    """ECK names the HTTP port `https` unless the self-signed certificate is disabled."""
    disabled = dig(owner.doc, "spec", "http", "tls", "selfSignedCertificate", "disabled") is True
    return "http" if disabled else "https"


# What ECK (3.2) creates from the custom resources, as its source has it: the operator is the one
# to ask which pods and Services exist and which names the self-signed HTTP certificate carries.
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
