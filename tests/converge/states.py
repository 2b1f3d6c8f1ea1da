"""Small hand-built desired states for the convergence checks: one Application per wave."""

from __future__ import annotations

from functools import cache
from typing import Any

from homelabeazy.checks import load_config
from homelabeazy.desired.state import (
    ApplicationInfo,
    DesiredObject,
    DesiredState,
    Origin,
    SourceKind,
    StateBuilder,
)
from homelabeazy.model import Homelab, build
from tests.conftest import FIXTURES

CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterIssuer", "ClusterSecretStore"}
CLUSTER_SCOPED |= {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}


def doc(api: str, kind: str, name: str, namespace: str | None = None, **body: Any) -> dict[str, Any]:
    """A manifest; `annotations=` and `labels=` go into metadata."""
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    for key in ("annotations", "labels"):
        if key in body:
            meta[key] = body.pop(key)
    return {"apiVersion": api, "kind": kind, "metadata": meta, **body}


class StateFixture:
    """Applications and their objects, added in a few lines per test."""

    def __init__(self) -> None:
        self.builder = StateBuilder()
        for namespace in ("default", "kube-system"):  # K3s' own, as the builder ships them
            self.add("k3s", doc("v1", "Namespace", namespace), "(k3s)", -3, "cluster")
        # What `homelab up` bootstraps: ArgoCD's namespace and the Application CRD of its chart.
        self.add(
            "bootstrap",
            doc("v1", "Namespace", "argocd"),
            "kubernetes/bootstrap/argocd-install.yaml",
            -1,
            "bootstrap",
        )
        application_crd = crd("argoproj.io", "Application", "applications")
        self.add("bootstrap", application_crd, "argo-cd-9.1.4/templates/crds.yaml", -1, "bootstrap")

    def app(self, name: str, wave: int, namespace: str, owner: str | None = None) -> StateFixture:
        """An Application (with CreateNamespace=true, as ours are) applied by the root app."""
        self.builder.applications.append(
            ApplicationInfo(name, wave, namespace, f"kubernetes/apps/{name}.yaml", owner)
        )
        application = doc(
            "argoproj.io/v1alpha1",
            "Application",
            name,
            "argocd",
            spec={
                "destination": {"namespace": namespace},
                "syncPolicy": {"syncOptions": ["CreateNamespace=true", "SkipDryRunOnMissingResource=true"]},
            },
        )
        self.add("root", application, file=f"kubernetes/apps/{name}.yaml", wave=0)
        return self

    def add(
        self,
        app: str,
        manifest: dict[str, Any],
        file: str | None = None,
        wave: int | None = None,
        source: SourceKind = "manifest",
    ) -> StateFixture:
        """An object applied by `app` (its namespace defaults to the app's destination)."""
        info = next((a for a in self.builder.applications if a.name == app), None)
        app_wave = wave if wave is not None else (info.wave if info else -1)
        namespace: str | None = manifest["metadata"].get("namespace")
        if namespace is None and manifest["kind"] not in CLUSTER_SCOPED:
            namespace = info.namespace if info else "argocd"
        origin = Origin(app, app_wave, file or f"kubernetes/manifests/{app}/objects.yaml", source)
        self.builder.objects.append(DesiredObject(manifest, origin, namespace))
        return self

    def state(self) -> DesiredState:
        """The frozen state."""
        return self.builder.freeze()


def crd(group: str, kind: str, plural: str) -> dict[str, Any]:
    """A CustomResourceDefinition of `kind`."""
    return doc(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        f"{plural}.{group}",
        spec={"group": group, "names": {"kind": kind, "plural": plural}, "scope": "Namespaced"},
    )


def deployment(
    name: str, namespace: str | None = None, labels: dict[str, str] | None = None, **pod: Any
) -> dict[str, Any]:
    """A Deployment whose pod template has `labels` (default app=<name>) and spec `pod`."""
    pod.setdefault("containers", [{"name": name, "image": "example/app:1"}])
    template = {"metadata": {"labels": labels or {"app": name}}, "spec": pod}
    return doc("apps/v1", "Deployment", name, namespace, spec={"template": template})


def service(
    name: str, selector: dict[str, str], ports: list[dict[str, Any]], namespace: str | None = None
) -> dict[str, Any]:
    """A Service."""
    return doc("v1", "Service", name, namespace, spec={"selector": selector, "ports": ports})


@cache
def valid_homelab(name: str) -> Homelab:
    """The model of `tests/fixtures/config/valid/<name>.yaml` (`minimal`: an app from the user's own
    manifest folder; `three-hosts`: Longhorn enabled)."""
    return build(load_config((FIXTURES / "config" / "valid" / f"{name}.yaml").read_text()).config)
