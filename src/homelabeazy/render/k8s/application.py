"""ArgoCD Applications: the root (app-of-apps) and one per bundle.

A bundle's Application has up to three sources: the pinned Helm chart with its values file from
this repository (`$values`), the bundle's own manifest folder, and for manifest apps the user's
folder. Sync is automated with prune and self-heal, namespaces are created, failures retried.
"""

from __future__ import annotations

from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.render.k8s.bundle import Bundle
from homelabeazy.render.k8s.objects import Manifest, meta, obj
from homelabeazy.render.serialize import to_yaml_kube

IN_CLUSTER = "https://kubernetes.default.svc"
PROJECT = "default"
FINALIZER = "resources-finalizer.argocd.argoproj.io"
VALUES_REF = "values"


def argocd_namespace(homelab: Homelab) -> str:
    """Where Applications live: ArgoCD's namespace (`argocd` when it is managed elsewhere)."""
    entry = homelab.service("argocd")
    return entry.namespace if entry is not None else "argocd"


def sync_policy(server_side: bool = False, respect_ignored: bool = False) -> dict[str, Any]:
    """Automated, pruning, self-healing; CRs may wait for CRDs their chart installs in the same sync."""
    options = ["CreateNamespace=true", "SkipDryRunOnMissingResource=true"]
    if server_side:
        options.append("ServerSideApply=true")
    if respect_ignored:
        options.append("RespectIgnoreDifferences=true")
    return {
        "automated": {"prune": True, "selfHeal": True},
        "syncOptions": options,
        "retry": {"limit": 10, "backoff": {"duration": "15s", "factor": 2, "maxDuration": "5m"}},
    }


def _git(homelab: Homelab) -> dict[str, str]:
    gitops = homelab.config.gitops
    return {"repoURL": gitops.repo_url, "targetRevision": gitops.revision}


def _chart_repo(repo: str) -> str:
    """ArgoCD names OCI Helm repositories without the scheme."""
    return repo.removeprefix("oci://")


def application(
    homelab: Homelab, bundle: Bundle, values_file: str | None, manifests_dir: str | None
) -> Manifest:
    """The Application for one bundle; paths are relative to the repository root."""
    sources: list[dict[str, Any]] = []
    if bundle.chart is not None:
        helm: dict[str, Any] = {"releaseName": bundle.name}
        if values_file is not None:
            helm["valueFiles"] = [f"${VALUES_REF}/{values_file}"]
        sources.append(
            {
                "repoURL": _chart_repo(bundle.chart.repo),
                "chart": bundle.chart.name,
                "targetRevision": bundle.chart.version,
                "helm": helm,
            }
        )
        if values_file is not None:
            sources.append({**_git(homelab), "ref": VALUES_REF})
    if manifests_dir is not None:
        sources.append({**_git(homelab), "path": manifests_dir})
    if bundle.git_path is not None:
        sources.append({**_git(homelab), "path": bundle.git_path})
    spec: dict[str, Any] = {
        "project": PROJECT,
        "destination": {"server": IN_CLUSTER, "namespace": bundle.namespace},
        "sources": sources,
        "syncPolicy": sync_policy(
            server_side=bundle.chart is not None, respect_ignored=bool(bundle.ignore_differences)
        ),
    }
    if bundle.ignore_differences:
        spec["ignoreDifferences"] = bundle.ignore_differences
    return obj(
        "argoproj.io/v1alpha1",
        "Application",
        meta(
            bundle.name,
            argocd_namespace(homelab),
            annotations={"argocd.argoproj.io/sync-wave": str(bundle.wave)},
            finalizers=[FINALIZER],
        ),
        spec=spec,
    )


def root_application(homelab: Homelab, apps_dir: str) -> Manifest:
    """The app-of-apps: every file in apps/ is an Application; ArgoCD's own is one of them."""
    namespace = argocd_namespace(homelab)
    return obj(
        "argoproj.io/v1alpha1",
        "Application",
        meta("root", namespace, finalizers=[FINALIZER]),
        spec={
            "project": PROJECT,
            "destination": {"server": IN_CLUSTER, "namespace": namespace},
            "source": {**_git(homelab), "path": apps_dir},
            "syncPolicy": sync_policy(),
        },
    )


def argocd_install(homelab: Homelab, values: dict[str, Any]) -> Manifest:
    """K3s's helm-controller installs ArgoCD at its pinned chart version: no helm binary needed.

    `homelab up` applies this HelmChart once; from then on ArgoCD's own Application (in apps/)
    manages ArgoCD from Git. helm-controller only acts when this object changes, so the two never
    fight; deleting it would uninstall ArgoCD, which is why `up` never deletes it.
    """
    entry = homelab.service("argocd")
    assert entry is not None  # the argocd bundle exists only when the service is enabled
    assert entry.chart is not None
    return obj(
        "helm.cattle.io/v1",
        "HelmChart",
        meta("argocd", "kube-system"),
        spec={
            "repo": entry.chart.repo,
            "chart": entry.chart.name,
            "version": entry.chart.version,
            "targetNamespace": argocd_namespace(homelab),
            "createNamespace": True,
            "valuesContent": to_yaml_kube(values),
        },
    )
