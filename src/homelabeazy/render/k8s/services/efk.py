"""EFK: ECK operator (chart), Elasticsearch and Kibana resources, Fluentd on every node.

Retention is an index lifecycle policy: Fluentd writes one index per day, the policy deletes an
index once it is `retention_days` old. A Job applies the policy and the index template through
the Elasticsearch API on every sync (idempotent PUTs), with the password ECK generated.
"""

from __future__ import annotations

import json
from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.model.catalog.efk import (
    ELASTIC_VERSION,
    ELASTICSEARCH,
    ELASTICSEARCH_HTTP_SERVICE,
    FLUENTD_IMAGE,
    HTTP_PORT,
    INDEX_PREFIX,
    index_replicas,
)
from homelabeazy.model.service import ServiceEntry
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.endpoints import elasticsearch_host
from homelabeazy.render.k8s.objects import Manifest, meta, obj, secret_key_ref
from homelabeazy.render.k8s.services.common import new_bundle
from homelabeazy.render.k8s.services.fluentd_conf import Directive, render_conf
from homelabeazy.render.k8s.waves import AFTER_WEBHOOK, WAVE_ANNOTATION

ES = ELASTICSEARCH
KIBANA = "kibana"
FLUENTD = "fluentd"
ELASTIC_USER_SECRET = f"{ES}-es-elastic-user"
CA_SECRET = f"{ELASTICSEARCH_HTTP_SERVICE}-certs-public"
CA_DIR = "/etc/elasticsearch/certs"
RETENTION_JOB_IMAGE = "curlimages/curl:8.17.0"
POLICY = "homelab-logs"
RETENTION_WAVE = AFTER_WEBHOOK + 1
"""The retention Job runs once Elasticsearch (validated by ECK's webhook) is healthy..."""
FLUENTD_WAVE = RETENTION_WAVE + 1
"""...and Fluentd starts after it, so no log index exists before the template sets its replicas."""


def elasticsearch(homelab: Homelab, namespace: str) -> Manifest:
    """mmap off: K3s nodes keep the default vm.max_map_count, which Elasticsearch's mmap would exceed."""
    config = homelab.config.services.efk
    return obj(
        "elasticsearch.k8s.elastic.co/v1",
        "Elasticsearch",
        meta(ES, namespace),
        spec={
            "version": ELASTIC_VERSION,
            "nodeSets": [
                {
                    "name": "default",
                    "count": config.elasticsearch_nodes,
                    "config": {"node.store.allow_mmap": False},
                    "volumeClaimTemplates": [
                        {
                            "metadata": {"name": "elasticsearch-data"},
                            "spec": {
                                "accessModes": ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": config.storage}},
                            },
                        }
                    ],
                }
            ],
        },
    )


def kibana(namespace: str) -> Manifest:
    """Plain HTTP inside the cluster: Traefik terminates TLS for the Kibana route."""
    return obj(
        "kibana.k8s.elastic.co/v1",
        "Kibana",
        meta(KIBANA, namespace),
        spec={
            "version": ELASTIC_VERSION,
            "count": 1,
            "elasticsearchRef": {"name": ES},
            "http": {"tls": {"selfSignedCertificate": {"disabled": True}}},
        },
    )


def fluentd_configuration(homelab: Homelab) -> str:
    """Tail every container log (CRI format under containerd), add pod metadata, ship daily indices."""
    source = Directive(
        "source",
        params=(
            ("@type", "tail"),
            ("path", "/var/log/containers/*.log"),
            ("exclude_path", '["/var/log/containers/fluentd-*"]'),
            ("pos_file", "/var/log/fluentd-containers.log.pos"),
            ("tag", "kubernetes.*"),
            ("read_from_head", "true"),
        ),
        children=(Directive("parse", params=(("@type", "cri"),)),),
    )
    metadata = Directive("filter", "kubernetes.**", params=(("@type", "kubernetes_metadata"),))
    output = Directive(
        "match",
        "**",
        params=(
            ("@type", "elasticsearch"),
            ("host", elasticsearch_host(homelab)),
            ("port", str(HTTP_PORT)),
            ("scheme", "https"),
            ("ssl_verify", "true"),
            ("ca_file", f"{CA_DIR}/ca.crt"),
            ("user", "elastic"),
            ("password", "\"#{ENV['ELASTIC_PASSWORD']}\""),
            ("logstash_format", "true"),
            ("logstash_prefix", INDEX_PREFIX),
            ("include_timestamp", "true"),
        ),
        children=(
            Directive(
                "buffer",
                params=(("@type", "file"), ("path", "/var/log/fluentd-buffers"), ("flush_interval", "10s")),
            ),
        ),
    )
    return render_conf([source, metadata, output])


def _fluentd_rbac(namespace: str) -> list[Manifest]:
    rules = [{"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "list", "watch"]}]
    subject = {"kind": "ServiceAccount", "name": FLUENTD, "namespace": namespace}
    return [
        obj("v1", "ServiceAccount", meta(FLUENTD, namespace)),
        obj("rbac.authorization.k8s.io/v1", "ClusterRole", meta(FLUENTD), rules=rules),
        obj(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            meta(FLUENTD),
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": FLUENTD},
            subjects=[subject],
        ),
    ]


def fluentd(homelab: Homelab, namespace: str) -> list[Manifest]:
    """The DaemonSet runs on servers too (their pods log as well), reading the host's /var/log."""
    labels = {"app.kubernetes.io/name": FLUENTD}
    container = {
        "name": FLUENTD,
        "image": FLUENTD_IMAGE,
        "env": [
            {"name": "ELASTIC_PASSWORD", "valueFrom": secret_key_ref(ELASTIC_USER_SECRET, "elastic")},
            {"name": "FLUENTD_SYSTEMD_CONF", "value": "disable"},
        ],
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
        "volumeMounts": [
            {"name": "varlog", "mountPath": "/var/log"},
            {"name": "config", "mountPath": "/fluentd/etc/fluent.conf", "subPath": "fluent.conf"},
            {"name": "ca", "mountPath": CA_DIR, "readOnly": True},
        ],
    }
    pod_spec = {
        "serviceAccountName": FLUENTD,
        "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}],
        "containers": [container],
        "volumes": [
            {"name": "varlog", "hostPath": {"path": "/var/log"}},
            {"name": "config", "configMap": {"name": FLUENTD}},
            {"name": "ca", "secret": {"secretName": CA_SECRET}},
        ],
    }
    return [
        *_fluentd_rbac(namespace),
        obj(
            "v1", "ConfigMap", meta(FLUENTD, namespace), data={"fluent.conf": fluentd_configuration(homelab)}
        ),
        obj(
            "apps/v1",
            "DaemonSet",
            meta(FLUENTD, namespace, annotations={WAVE_ANNOTATION: str(FLUENTD_WAVE)}),
            spec={
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": pod_spec},
            },
        ),
    ]


def lifecycle_requests(homelab: Homelab) -> dict[str, Any]:
    """The ILM policy, the index template that attaches it (and the replica count the node count
    allows) to the daily indices, and that replica count for indices made before the template."""
    efk = homelab.config.services.efk
    days = efk.retention_days
    replicas = index_replicas(efk.elasticsearch_nodes)
    return {
        "policy.json": {
            "policy": {
                "phases": {
                    "hot": {"min_age": "0ms", "actions": {}},
                    "delete": {"min_age": f"{days}d", "actions": {"delete": {}}},
                }
            }
        },
        "template.json": {
            "index_patterns": [f"{INDEX_PREFIX}-*"],
            "template": {"settings": {"index.lifecycle.name": POLICY, "index.number_of_replicas": replicas}},
        },
        "replicas.json": {"index.number_of_replicas": replicas},
    }


def retention(homelab: Homelab, namespace: str) -> list[Manifest]:
    """A Sync-hook Job (recreated on each sync) PUTting the policy, then the template.

    Fluentd may write today's index before the template exists, so the Job then sets the
    replica count on every existing log index as well (no index yet is fine).
    """
    base = f"https://{elasticsearch_host(homelab)}:{HTTP_PORT}"
    curl = (
        "curl -sSf --retry 60 --retry-all-errors --retry-delay 10 --cacert /ca/ca.crt "
        '-u "elastic:$ELASTIC_PASSWORD" '
        "-H 'Content-Type: application/json' -X PUT"
    )
    script = (
        f"{curl} {base}/_ilm/policy/{POLICY} --data-binary @/requests/policy.json && "
        f"{curl} {base}/_index_template/{POLICY} --data-binary @/requests/template.json && "
        f"{curl} '{base}/{INDEX_PREFIX}-*/_settings?allow_no_indices=true' "
        "--data-binary @/requests/replicas.json"
    )
    requests = {name: json.dumps(body, sort_keys=True) for name, body in lifecycle_requests(homelab).items()}
    job_meta = meta(
        "log-retention",
        namespace,
        annotations={
            "argocd.argoproj.io/hook": "Sync",
            "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
            WAVE_ANNOTATION: str(RETENTION_WAVE),
        },
    )
    return [
        obj("v1", "ConfigMap", meta("log-retention", namespace), data=requests),
        obj(
            "batch/v1",
            "Job",
            job_meta,
            spec={
                "backoffLimit": 3,
                "template": {
                    "spec": {
                        "restartPolicy": "OnFailure",
                        "containers": [
                            {
                                "name": "apply",
                                "image": RETENTION_JOB_IMAGE,
                                "command": ["/bin/sh", "-c", script],
                                "env": [
                                    {
                                        "name": "ELASTIC_PASSWORD",
                                        "valueFrom": secret_key_ref(ELASTIC_USER_SECRET, "elastic"),
                                    }
                                ],
                                "volumeMounts": [
                                    {"name": "requests", "mountPath": "/requests", "readOnly": True},
                                    {"name": "ca", "mountPath": "/ca", "readOnly": True},
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "requests", "configMap": {"name": "log-retention"}},
                            {"name": "ca", "secret": {"secretName": CA_SECRET}},
                        ],
                    }
                },
            },
        ),
    ]


def bundle(homelab: Homelab, entry: ServiceEntry) -> Bundle:
    """The operator serves a webhook; it and Fluentd (pod metadata) talk to the API."""
    result = new_bundle(entry, Needs(api=True, webhook=True))
    result.values = {"installCRDs": True, "managedNamespaces": [entry.namespace]}
    result.add("elastic", elasticsearch(homelab, entry.namespace), kibana(entry.namespace))
    result.add("fluentd", *fluentd(homelab, entry.namespace))
    result.add("retention", *retention(homelab, entry.namespace))
    return result
