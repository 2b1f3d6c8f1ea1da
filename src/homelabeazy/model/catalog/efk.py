"""EFK: ECK-managed Elasticsearch and Kibana, Fluentd shipping every container's logs."""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.catalog.base import STORAGE, ChartPin, RouteSpec, ServiceEntry

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
        depends_on=(STORAGE,),
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


def index_replicas(nodes: int) -> int:
    """Replicas per shard of the log indices: one where another node can hold it, else none.

    Elasticsearch never puts a replica on its primary's node, so with one node any replica stays
    unassigned: the cluster turns yellow and ArgoCD's Elasticsearch health says Degraded.
    """
    return min(1, nodes - 1)
