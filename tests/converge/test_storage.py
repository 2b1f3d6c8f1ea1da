"""The `storage` check: at most one default StorageClass once the cluster converges, counting K3s's
own local-path class (unless the servers disable it) and the classes operators create (Longhorn's,
from its chart's ConfigMap)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.converge.kube import k3s_objects
from homelabeazy.converge.storage import check_storage, default_classes, is_default
from homelabeazy.desired.state import ApplicationInfo, DesiredObject, DesiredState, Origin
from homelabeazy.model import Homelab, build

LONGHORN_CLASS = """kind: StorageClass
apiVersion: storage.k8s.io/v1
metadata:
  name: longhorn
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: driver.longhorn.io
"""


@pytest.fixture(scope="module")
def longhorn_homelab() -> Homelab:
    data = yaml.safe_load(example_text())
    data["services"]["longhorn"] = {"enabled": True, "replicas": 3}
    return build(load_config(yaml.safe_dump(data, sort_keys=False)).config)


def _k3s(disabled: frozenset[str]) -> list[DesiredObject]:
    origin = Origin("k3s", -3, "(k3s)", "cluster")
    return [DesiredObject(d, origin, None) for d in k3s_objects(disabled) if d["kind"] == "StorageClass"]


def _longhorn_configmap(text: str = LONGHORN_CLASS) -> DesiredObject:
    doc = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "longhorn-storageclass", "namespace": "longhorn-system"},
        "data": {"storageclass.yaml": text},
    }
    origin = Origin("longhorn", 0, "longhorn-1.10.1/templates/storageclass.yaml", "chart")
    return DesiredObject(doc, origin, "longhorn-system")


def _state(*objects: DesiredObject) -> DesiredState:
    apps = (
        ApplicationInfo("k3s", -3, "kube-system", "(k3s)"),
        ApplicationInfo("longhorn", 0, "longhorn-system", "kubernetes/apps/longhorn.yaml", "longhorn"),
        ApplicationInfo("homepage", 6, "homepage", "kubernetes/apps/homepage.yaml", "homepage"),
    )
    return DesiredState(apps, objects)


def test_k3s_local_path_beside_longhorn_is_a_finding_on_longhorn(longhorn_homelab: Homelab) -> None:
    """Issue 25, defect 13: K3s's local-path stayed a default next to Longhorn's class."""
    state = _state(*_k3s(frozenset()), _longhorn_configmap())
    assert sorted(c.name for c in default_classes(state, longhorn_homelab)) == ["local-path", "longhorn"]
    findings = check_storage(state, longhorn_homelab)
    assert [(f.check, f.object, f.file, f.config_path) for f in findings] == [
        (
            "storage",
            "StorageClass/longhorn",
            "longhorn-1.10.1/templates/storageclass.yaml",
            "services.longhorn",
        )
    ]
    assert findings[0].message == (
        "2 default StorageClasses: local-path (K3s), longhorn (longhorn); a claim without a class gets "
        "whichever is newest"
    )
    assert findings[0].hint.startswith("K3s re-annotates its local-path class as default on every start")


def test_longhorn_alone_is_fine(longhorn_homelab: Homelab) -> None:
    state = _state(*_k3s(frozenset({"local-storage"})), _longhorn_configmap())
    assert [c.name for c in default_classes(state, longhorn_homelab)] == ["longhorn"]
    assert check_storage(state, longhorn_homelab) == []


def test_k3s_alone_is_fine(example_homelab: Homelab) -> None:
    assert check_storage(_state(*_k3s(frozenset())), example_homelab) == []


def test_an_app_with_its_own_default_class_is_a_finding(example_homelab: Homelab) -> None:
    doc: dict[str, Any] = yaml.safe_load(LONGHORN_CLASS)
    doc["metadata"] = {
        "name": "fast",
        "annotations": {"storageclass.beta.kubernetes.io/is-default-class": "true"},
    }
    app_class = DesiredObject(
        doc, Origin("homepage", 6, "kubernetes/manifests/homepage/sc.yaml", "manifest"), None
    )
    findings = check_storage(_state(*_k3s(frozenset()), app_class), example_homelab)
    assert [(f.object, f.config_path) for f in findings] == [("StorageClass/fast", "apps[1]")]
    assert "local-storage" in findings[0].hint


@pytest.mark.parametrize(
    ("value", "default"), [("true", True), ("false", False), ("True", False), ("", False)]
)
def test_only_exactly_true_marks_a_default(value: str, default: bool) -> None:
    annotations = {"storageclass.kubernetes.io/is-default-class": value}
    doc = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "x", "annotations": annotations},
    }
    assert is_default(DesiredObject(doc, Origin("k3s", 0, "f", "cluster"), None)) is default


def test_an_unreadable_storageclass_configmap_makes_no_class(longhorn_homelab: Homelab) -> None:
    state = _state(*_k3s(frozenset()), _longhorn_configmap("kind: [unclosed"))
    assert [c.name for c in default_classes(state, longhorn_homelab)] == ["local-path"]
