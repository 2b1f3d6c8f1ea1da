"""EFK: ECK-managed Elasticsearch and Kibana, Fluentd shipping every container's logs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.converge.made import made_beside
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
