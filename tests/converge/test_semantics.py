"""ArgoCD's sync semantics the state models: hooks -> phases, waves (gitops-engine's rules)."""

from __future__ import annotations

import pytest

from homelabeazy.desired.state import DesiredObject, Origin, hook_phases


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        ({}, ("Sync",)),
        ({"helm.sh/hook": "pre-install"}, ("PreSync",)),
        ({"helm.sh/hook": "pre-install,pre-upgrade"}, ("PreSync",)),
        ({"helm.sh/hook": "post-install, post-upgrade"}, ("PostSync",)),
        ({"helm.sh/hook": "pre-install,post-install"}, ("PreSync", "PostSync")),
        # Helm test and delete hooks are hooks without an ArgoCD phase: never applied by a sync.
        ({"helm.sh/hook": "test"}, None),
        ({"helm.sh/hook": "test-success"}, None),
        ({"helm.sh/hook": "pre-delete"}, None),
        # crd-install is not a hook for gitops-engine: applied as a plain resource.
        ({"helm.sh/hook": "crd-install"}, ("Sync",)),
        # An ArgoCD hook wins over Helm's.
        ({"argocd.argoproj.io/hook": "PostSync", "helm.sh/hook": "pre-install"}, ("PostSync",)),
        ({"argocd.argoproj.io/hook": "Skip"}, None),
        ({"argocd.argoproj.io/hook": "SyncFail"}, None),
        ({"argocd.argoproj.io/hook": "PreSync,Skip"}, ("PreSync",)),
        ({"argocd.argoproj.io/hook": "Sync"}, ("Sync",)),
    ],
)
def test_hook_phases_follow_gitops_engine(annotations, expected) -> None:
    assert hook_phases(annotations) == expected


def _obj(annotations: dict[str, str]) -> DesiredObject:
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "annotations": annotations}}
    return DesiredObject(doc, Origin("app", 0, "f.yaml", "manifest"), "ns")


def test_resource_wave_prefers_argocd_then_helm_weight() -> None:
    assert _obj({}).resource_wave == 0
    assert _obj({"argocd.argoproj.io/sync-wave": "-5"}).resource_wave == -5
    assert _obj({"helm.sh/hook-weight": "3"}).resource_wave == 3
    both = {"argocd.argoproj.io/sync-wave": "2", "helm.sh/hook-weight": "9"}
    assert _obj(both).resource_wave == 2
    assert _obj({"argocd.argoproj.io/sync-wave": "soon"}).resource_wave == 0
    assert _obj({"helm.sh/hook": "post-install"}).phase == "PostSync"
    assert _obj({}).ident == "ConfigMap/ns/x"


def test_schemeless_chart_repository_is_oci() -> None:
    from homelabeazy.converge.build import _helm_repo

    assert _helm_repo("ghcr.io/org/charts") == "oci://ghcr.io/org/charts"
    assert _helm_repo("https://charts.example.com") == "https://charts.example.com"
