"""EFK: ECK-managed Elasticsearch and Kibana, Fluentd shipping every container's logs."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.converge.made import made_beside
from homelabeazy.converge.selectors import dig
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
        creates=operator_objects,
    )


ELASTIC_VERSION = "8.19.0"
"""Elasticsearch and Kibana release ECK deploys (8.x: the Fluentd image's client speaks 8)."""
FLUENTD_IMAGE = "fluent/fluentd-kubernetes-daemonset:v1.17-debian-elasticsearch8-1"
"""Fluentd with the Elasticsearch 8 output, the CRI parser and the Kubernetes metadata filter."""
INDEX_PREFIX = "k8s-logs"
"""Daily indices are `<prefix>-YYYY.MM.DD`; the retention policy matches this prefix. Not `logs-*-*`:
Elasticsearch's built-in `logs` template would turn those into data streams Fluentd cannot write."""


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
