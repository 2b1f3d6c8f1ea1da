"""EFK: ECK-managed Elasticsearch and Kibana, Fluentd shipping every container's logs."""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
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
