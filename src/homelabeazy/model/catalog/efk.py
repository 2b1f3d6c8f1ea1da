"""EFK: ECK-managed Elasticsearch and Kibana, Fluentd shipping every container's logs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.effective import Effective, command_line
from homelabeazy.desired.effective import containers as operator_containers
from homelabeazy.desired.made import made_beside
from homelabeazy.desired.needs import Clients, FlowNeed, need_from_url
from homelabeazy.desired.outcomes import Breach, Outcome, confined, flag_values, runs
from homelabeazy.desired.selectors import as_list, as_map, dig
from homelabeazy.desired.state import DesiredObject, DesiredState, Finding
from homelabeazy.model.catalog.traps import containers, health_finding, json_documents
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.service import STORAGE, ChartPin, OwnedValue, RouteSpec, ServiceEntry

CHART = ChartPin("https://helm.elastic.co", "eck-operator", "3.2.0")


OWNED_VALUES: tuple[OwnedValue, ...] = (
    OwnedValue(
        ("managedNamespaces",), "ECK must manage the namespace holding the homelab's Elasticsearch and Kibana"
    ),
    OwnedValue(("installCRDs",), "the homelab's Elasticsearch and Kibana need ECK's CRDs"),
)
"""Chart values the homelab depends on: `services.efk.values` may not set them."""


def entry(config: HomelabConfig) -> ServiceEntry:
    """ECK generates the elastic user's password itself, inside the cluster."""
    return ServiceEntry(
        name="efk",
        title="EFK logging",
        namespace="logging",
        chart=CHART,
        owned_values=OWNED_VALUES,
        crd_groups=("elasticsearch.k8s.elastic.co", "kibana.k8s.elastic.co"),
        description="Log collection (Fluentd), storage (Elasticsearch) and search (Kibana)",
        routes=(RouteSpec(config.services.efk.host, "kibana-kb-http", 5601, "group", ("admins",)),),
        health_checks=(replicas_fit_the_nodes,),
        depends_on=(STORAGE,),
        creates=eck_objects,
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
"""Elasticsearch's HTTP port (its Services' and pods')."""


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
    settings = as_map(as_map(template.get("template")).get("settings"))
    nested = as_map(settings.get("index"))
    for value in (settings.get("index.number_of_replicas"), nested.get("number_of_replicas")):
        if value is not None:
            return int(value)
    return 1


def replicas_fit_the_nodes(state: DesiredState) -> Iterator[Finding]:
    """Every index template in an Elasticsearch's namespace keeps no more replicas than it has
    other nodes; with no such template at all, a one-node cluster gets Elasticsearch's default 1."""
    for es in state.of_kind("Elasticsearch", ES_GROUP):
        node_sets = as_map(es.doc.get("spec")).get("nodeSets")
        nodes = sum(int(as_map(s).get("count", 1)) for s in node_sets or [])
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


# What ECK (3.2) creates from its custom resources, as its source has it. One derivation serves
# every check: the reference check (`creates`: the Services and Secrets Fluentd, the retention Job
# and the Kibana route name) and the flow check (`implied_objects`: the pods behind the Services).
ES_GROUP = "elasticsearch.k8s.elastic.co"
KB_GROUP = "kibana.k8s.elastic.co"
TRANSPORT_PORT = 9300
KIBANA_PORT = 5601
TYPE_LABEL = "common.k8s.elastic.co/type"
ES_CLUSTER_LABEL = "elasticsearch.k8s.elastic.co/cluster-name"
KIBANA_NAME_LABEL = "kibana.k8s.elastic.co/name"
OPERATOR_LABELS = {"app.kubernetes.io/name": "elastic-operator"}
"""The eck-operator chart's pods: the operator calls each cluster's API (the internal Service)."""
FLUENTD_LABELS = {"app.kubernetes.io/name": "fluentd"}
"""The Fluentd DaemonSet's pods (render/k8s/services/efk.py)."""


def _tls_enabled(owner: DesiredObject) -> bool:
    """ECK serves HTTPS with its self-signed certificate unless the resource disables it."""
    return dig(owner.doc, "spec", "http", "tls", "selfSignedCertificate", "disabled") is not True


def _scheme(owner: DesiredObject) -> str:
    """The scheme, and ECK's name of the HTTP port: `https` unless TLS is disabled."""
    return "https" if _tls_enabled(owner) else "http"


def eck_objects(state: DesiredState) -> Iterator[DesiredObject]:
    """The workloads, Services and Secrets ECK creates for each Elasticsearch and Kibana (its naming
    scheme: `<name>-es-<nodeSet>`, `<name>-es-http`, `<name>-es-elastic-user`, `<name>-kb-http`, ...),
    although no manifest declares them."""
    for es in state.of_kind("Elasticsearch", ES_GROUP):
        yield from _elasticsearch(es)
    for kb in state.of_kind("Kibana", KB_GROUP):
        labels = {KIBANA_NAME_LABEL: kb.name, TYPE_LABEL: "kibana"}
        yield _pods(kb, f"{kb.name}-kb", labels, ((_scheme(kb), KIBANA_PORT),))
        yield made_beside(
            kb, "Service", f"{kb.name}-kb-http", ports=((_scheme(kb), KIBANA_PORT),), selector=labels
        )
        yield made_beside(kb, "Secret", f"{kb.name}-kb-config")
        yield made_beside(kb, "Secret", f"{kb.name}-kb-http-certs-public", keys=("ca.crt", "tls.crt"))


def _elasticsearch(es: DesiredObject) -> Iterator[DesiredObject]:
    labels = {ES_CLUSTER_LABEL: es.name, TYPE_LABEL: "elasticsearch"}
    http = ((_scheme(es), HTTP_PORT),)
    for node_set in as_list(dig(es.doc, "spec", "nodeSets")):
        name = f"{es.name}-es-{as_map(node_set).get('name')}"
        set_labels = {**labels, "elasticsearch.k8s.elastic.co/statefulset-name": name}
        yield _pods(es, name, set_labels, (*http, ("transport", TRANSPORT_PORT)))
    yield made_beside(es, "Service", f"{es.name}-es-http", ports=http, selector=labels)
    yield made_beside(es, "Service", f"{es.name}-es-internal-http", ports=http, selector=labels)
    transport = (("tls-transport", TRANSPORT_PORT),)
    yield made_beside(es, "Service", f"{es.name}-es-transport", ports=transport, selector=labels)
    yield made_beside(es, "Secret", f"{es.name}-es-elastic-user", keys=("elastic",))
    yield made_beside(es, "Secret", f"{es.name}-es-http-certs-public", keys=("ca.crt", "tls.crt"))
    yield made_beside(
        es, "Secret", f"{es.name}-es-http-certs-internal", keys=("ca.crt", "tls.crt", "tls.key")
    )
    yield made_beside(es, "Secret", f"{es.name}-es-http-ca-internal", keys=("tls.crt", "tls.key"))


def _pods(
    owner: DesiredObject, name: str, labels: Mapping[str, str], ports: tuple[tuple[str, int], ...]
) -> DesiredObject:
    """The StatefulSet (Elasticsearch) or Deployment (Kibana) ECK runs, with the pod template's
    labels merged from the resource's own podTemplate."""
    own = as_map(dig(owner.doc, "spec", "podTemplate", "metadata", "labels"))
    container = {
        "name": owner.kind.lower(),
        "ports": [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in ports],
    }
    spec = {
        "selector": {"matchLabels": dict(labels)},
        "template": {"metadata": {"labels": {**labels, **own}}, "spec": {"containers": [container]}},
    }
    doc = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet" if owner.kind == "Elasticsearch" else "Deployment",
        "metadata": {"name": name, "namespace": owner.namespace},
        "spec": spec,
    }
    return DesiredObject(doc, owner.origin, owner.namespace)


def implied_objects(state: DesiredState, homelab: Homelab) -> Iterator[DesiredObject]:  # noqa: ARG001
    """The flow check's hook: what ECK creates (`eck_objects`), its pods and Services among it."""
    return eck_objects(state)


def certificate_names(state: DesiredState, homelab: Homelab) -> dict[tuple[str, str], tuple[str, ...]]:  # noqa: ARG001
    """The DNS names of ECK's self-signed HTTP certificate, per Service that serves it.

    ECK (pkg/controller/common/certificates/http_reconcile.go) names `<name>-es-http`,
    `<name>-es-http.<ns>.es.local`, `<svc>.<ns>` and `<svc>.<ns>.svc` for the external and the
    internal HTTP Service, `*.<statefulset>.<ns>.svc` per node set, and the subjectAltNames given
    in the resource. Not `...svc.cluster.local`. A user-provided certificate is not ECK's to name.
    """
    names: dict[tuple[str, str], tuple[str, ...]] = {}
    for es in state.of_kind("Elasticsearch", ES_GROUP):
        tls = as_map(dig(es.doc, "spec", "http", "tls"))
        if not _tls_enabled(es) or dig(tls, "certificate", "secretName"):
            continue
        ns, short = es.namespace, f"{es.name}-es-http"
        dns = [f"{short}.{ns}.es.local", short]
        for svc in (short, f"{es.name}-es-internal-http"):
            dns += [f"{svc}.{ns}.svc", f"{svc}.{ns}"]
        dns += [
            f"*.{es.name}-es-{as_map(n).get('name')}.{ns}.svc"
            for n in as_list(dig(es.doc, "spec", "nodeSets"))
        ]
        dns += [
            str(s["dns"])
            for s in (tls.get("selfSignedCertificate") or {}).get("subjectAltNames") or ()
            if s.get("dns")
        ]
        names[(ns or "", short)] = names[(ns or "", f"{es.name}-es-internal-http")] = tuple(dns)
    return names


_FLUENT_KEY = re.compile(r"^\s*(host|port|scheme|ssl_verify)\s+(\S+)\s*$", re.MULTILINE)
_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d+)?")


def flow_needs(state: DesiredState, homelab: Homelab) -> Iterator[FlowNeed]:
    """Fluentd, the retention Job, Kibana and the operator all call Elasticsearch."""
    namespace = entry(homelab.config).namespace
    for config_map in state.of_kind("ConfigMap", ""):
        text = str((config_map.doc.get("data") or {}).get("fluent.conf") or "")
        keys = dict(_FLUENT_KEY.findall(text))
        if config_map.namespace == namespace and "host" in keys:
            url = f"{keys.get('scheme', 'http')}://{keys['host']}:{keys.get('port', HTTP_PORT)}"
            clients = Clients(namespace, FLUENTD_LABELS, "Fluentd")
            verify = keys.get("scheme") == "https" and keys.get("ssl_verify", "true") == "true"
            yield need_from_url(url, clients, "log shipping to Elasticsearch", config_map, tls_verify=verify)
    for job in state.of_kind("Job", "batch"):
        if job.namespace != namespace:
            continue
        text = " ".join(
            str(a) for c in containers(job) for a in (*(c.get("command") or ()), *(c.get("args") or ()))
        )
        for url in dict.fromkeys(_URL.findall(text)):
            clients = Clients(namespace, what=job.ident, workload=job.ident)
            insecure = " -k " in f" {text} " or "--insecure" in text
            yield need_from_url(
                url, clients, "Elasticsearch API", job, tls_verify=url.startswith("https") and not insecure
            )
    for kb in state.of_kind("Kibana", KB_GROUP):
        ref = as_map(dig(kb.doc, "spec", "elasticsearchRef"))
        es = state.find("Elasticsearch", ref.get("namespace") or kb.namespace, str(ref.get("name", "")))
        if es is not None:
            url = f"{_scheme(es)}://{es.name}-es-http.{es.namespace}.svc:{HTTP_PORT}"
            clients = Clients(kb.namespace or "", {KIBANA_NAME_LABEL: kb.name}, kb.ident)
            yield need_from_url(url, clients, "Kibana's Elasticsearch", kb)
    for es in state.of_kind("Elasticsearch", ES_GROUP):
        url = f"{_scheme(es)}://{es.name}-es-internal-http.{es.namespace}.svc:{HTTP_PORT}"
        clients = Clients(namespace, OPERATOR_LABELS, "the ECK operator")
        yield need_from_url(url, clients, f"ECK managing {es.ident}", es)


# ---------------------------------------------------------------------------------- outcomes

OPERATOR = "elastic-operator"
"""The ECK operator's StatefulSet and the ConfigMap of its `eck.yaml`."""


def _manages_logging(namespace: str) -> Callable[[Effective], Iterator[Breach]]:
    """The operator reconciles the namespace holding our Elasticsearch and Kibana."""

    def test(view: Effective) -> Iterator[Breach]:
        import yaml  # noqa: PLC0415 - PyYAML only when the proof reads the configuration (fast start)

        for operator in view.named("StatefulSet", OPERATOR):
            for container in operator_containers(operator, init=False):
                words = command_line(container)
                places = [p for value in flag_values(words, "namespaces") for p in value.split(",") if p]
                if places and namespace not in places:
                    yield Breach(f"the operator manages only namespaces {', '.join(places)}", operator)
        for config_map in view.named("ConfigMap", OPERATOR):
            try:
                settings = as_map(yaml.safe_load(str(as_map(config_map.doc.get("data")).get("eck.yaml", ""))))
            except yaml.YAMLError:
                settings = {}
            managed = [str(n) for n in as_list(settings.get("namespaces"))]
            if managed and namespace not in managed:
                yield Breach(f"eck.yaml manages namespaces {', '.join(managed)}, not {namespace}", config_map)

    return test


def outcomes(homelab: Homelab) -> Iterator[Outcome]:
    """ECK runs the homelab's Elasticsearch and Kibana."""
    namespace = entry(homelab.config).namespace
    yield Outcome(
        f"the ECK operator manages namespace {namespace}, where the homelab's Elasticsearch and Kibana are",
        _manages_logging(namespace),
    )
    yield runs("StatefulSet", OPERATOR, what="the ECK operator")
    yield confined()
