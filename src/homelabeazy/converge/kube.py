"""What a K3s API server serves: its API versions, its cluster-scoped kinds, its built-in objects.

The served core API versions come from the OpenAPI definitions kubernetes-validate ships for the
cluster's minor version; the built-in objects and K3s' own CRDs ship as package data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

CLUSTER_SCOPED_CORE: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("storage.k8s.io", "VolumeAttributesClass"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("networking.k8s.io", "IngressClass"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("node.k8s.io", "RuntimeClass"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("resource.k8s.io", "DeviceClass"),
        ("resource.k8s.io", "ResourceSlice"),
        ("authentication.k8s.io", "TokenReview"),
        ("authentication.k8s.io", "SelfSubjectReview"),
        ("authorization.k8s.io", "SubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectRulesReview"),
    }
)
"""(group, kind) of the built-in kinds that have no namespace."""

BUILTIN_PRIORITY_CLASSES = frozenset({"system-cluster-critical", "system-node-critical"})
"""PriorityClasses every Kubernetes API server creates itself."""


def node_labels(name: str, server: bool) -> dict[str, str]:
    """The labels K3s gives a node it registers (the homelab adds none): the kubelet's well-known
    ones, K3s' instance type, and on servers the roles `kubectl get nodes` shows
    (control-plane, etcd, master)."""
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": "k3s",
    }
    if server:
        for role in ("control-plane", "etcd", "master"):
            labels[f"node-role.kubernetes.io/{role}"] = "true"
    return labels


_NOT_RESOURCES = frozenset(
    {"DeleteOptions", "WatchEvent", "Status", "APIGroup", "APIGroupList", "APIResourceList", "APIVersions"}
)


def data_path(name: str) -> Path:
    """A file shipped in converge/data (never read from outside the installed package)."""
    return Path(str(resources.files("homelabeazy.converge").joinpath("data", name)))


def load_documents(text: str) -> list[Any]:
    """Every non-empty YAML document of a stream (libyaml when present: charts render thousands)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [doc for doc in yaml.load_all(text, Loader=loader) if doc is not None]


K3S_PACKAGED = ("local-storage",)
"""K3s packaged components the proof models (k3s-<component>.yaml): present unless disabled.
Traefik and servicelb are not modelled: the homelab always disables them."""


@cache
def k3s_objects(disabled: frozenset[str] = frozenset()) -> tuple[dict[str, Any], ...]:
    """K3s' built-in objects, the CRDs it installs itself (helm.cattle.io, k3s.cattle.io) and the
    packaged components the servers' `disable` list does not name."""
    names = ["k3s-cluster.yaml", "k3s-crds.yaml"]
    names += [f"k3s-{component}.yaml" for component in K3S_PACKAGED if component not in disabled]
    docs = []
    for name in names:
        docs.extend(load_documents(data_path(name).read_text(encoding="utf-8")))
    return tuple(docs)


def kube_schema_root() -> Path:
    """The kubernetes-validate package's schema folder."""
    return Path(str(resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")))


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def shipped_versions() -> list[str]:
    """`1.33`-style versions kubernetes-validate has strict schemas for, oldest first."""
    found = set()
    for entry in kube_schema_root().iterdir():
        match = re.match(r"^v(\d+\.\d+)\.\d+-local-strict$", entry.name)
        if match:
            found.add(match.group(1))
    return sorted(found, key=_minor)


def schema_version(wanted: str) -> tuple[str, str | None]:
    """The schema version to use for Kubernetes `wanted` (`1.33.5`), and a note when it is not that one."""
    versions = shipped_versions()
    minor = ".".join(wanted.split(".")[:2])
    if minor in versions:
        return minor, None
    newest = versions[-1]
    return newest, (
        f"kubernetes-validate ships no schemas for Kubernetes {minor}; core kinds were validated "
        f"against {newest}, the newest it has"
    )


@cache
def kube_definitions(version: str) -> Mapping[str, Any]:
    """The `_definitions.json` of one schema version (parsed once)."""
    folder = kube_schema_root() / f"v{version}.0-local-strict"
    data: Mapping[str, Any] = json.loads((folder / "_definitions.json").read_text(encoding="utf-8"))
    return data


@cache
def served_kinds(version: str) -> frozenset[tuple[str, str, str]]:
    """(group, version, kind) the API server serves by default at that minor version.

    The OpenAPI definitions also carry versions a cluster does not serve (alpha ones, off by
    default; betas kept for old objects). Served: every GA version, and a beta only for a kind
    that has no GA version yet — true for every release since 1.32, when the last default-on
    beta (flowcontrol v1beta3) was removed.
    """
    gvks: set[tuple[str, str, str]] = set()
    for definition in kube_definitions(version).get("$defs", {}).values():
        for gvk in definition.get("x-kubernetes-group-version-kind", []):
            kind = gvk["kind"]
            if kind in _NOT_RESOURCES or kind.endswith("List"):
                continue
            gvks.add((gvk["group"], gvk["version"], kind))
    ga = {(g, k) for g, v, k in gvks if re.fullmatch(r"v\d+", v)}
    return frozenset(
        (g, v, k) for g, v, k in gvks if re.fullmatch(r"v\d+", v) or ("alpha" not in v and (g, k) not in ga)
    )


def api_version_strings(gvks: Iterable[tuple[str, str, str]]) -> tuple[str, ...]:
    """`--api-versions` entries, as ArgoCD passes them: every `group/version` and `group/version/Kind`."""
    out: set[str] = set()
    for group, version, kind in gvks:
        gv = f"{group}/{version}" if group else version
        out.add(gv)
        out.add(f"{gv}/{kind}")
    return tuple(sorted(out))
