"""The `schema` check on synthetic states: strict core kinds, CRs against the state's own CRDs."""

from __future__ import annotations

from typing import Any

import pytest

from homelabeazy.converge.schema import check_schema, strict_schema
from homelabeazy.desired.state import DesiredObject, DesiredState, Origin
from homelabeazy.model import Homelab

GADGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["port"],
            "properties": {
                "port": {"x-kubernetes-int-or-string": True},
                "size": {"type": "integer", "nullable": True},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "properties": {"spec": {"type": "object"}},
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}


def _crd(scope: str = "Namespaced", versions: tuple[str, ...] = ("v1",)) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": scope,
            "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget", "listKind": "GadgetList"},
            "versions": [
                {"name": v, "served": True, "storage": i == 0, "schema": {"openAPIV3Schema": GADGET_SCHEMA}}
                for i, v in enumerate(versions)
            ],
        },
    }


def _gadget(spec: dict[str, Any], api: str = "example.com/v1") -> dict[str, Any]:
    return {"apiVersion": api, "kind": "Gadget", "metadata": {"name": "g", "namespace": "apps"}, "spec": spec}


def _state(*docs: dict[str, Any]) -> DesiredState:
    objects = tuple(
        DesiredObject(doc, Origin("app", 1, f"file{i}.yaml", "manifest"), doc["metadata"].get("namespace"))
        for i, doc in enumerate(docs)
    )
    return DesiredState((), objects)


def _messages(state: DesiredState, homelab: Homelab) -> list[str]:
    return [f"{f.file}: {f.object}: {f.message}" for f in check_schema(state, homelab)]


def test_valid_custom_resource_passes(example_homelab: Homelab) -> None:
    spec = {
        "port": "http",
        "size": None,
        "extra": {"anything": {"goes": 1}},
        "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}},
        "labels": {"a": "b"},
    }
    assert _messages(_state(_crd(), _gadget(spec)), example_homelab) == []
    assert _messages(_state(_crd(), _gadget({"port": 8080})), example_homelab) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"port": 1, "colour": "red"},
            "spec: Additional properties are not allowed ('colour' was unexpected)",
        ),
        ({"port": 1.5}, "spec.port: 1.5 is not of type 'integer', 'string'"),
        ({}, "spec: 'port' is a required property"),
        ({"port": 1, "size": "big"}, "spec.size: 'big' is not of type 'integer', 'null'"),
        ({"port": 1, "template": {"spec": {}, "oops": 1}}, "spec.template: Additional properties are not"),
    ],
    ids=["unknown-field", "int-or-string", "required", "nullable", "embedded-resource"],
)
def test_custom_resource_is_strict(example_homelab: Homelab, spec, expected) -> None:
    messages = _messages(_state(_crd(), _gadget(spec)), example_homelab)
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"file1.yaml: Gadget/apps/g: {expected}")


def test_custom_resource_without_crd_or_version(example_homelab: Homelab) -> None:
    assert _messages(_state(_gadget({"port": 1})), example_homelab) == [
        "file0.yaml: Gadget/apps/g: no CRD in the desired state installs Gadget of example.com"
    ]
    assert _messages(_state(_crd(), _gadget({"port": 1}, "example.com/v2")), example_homelab) == [
        "file1.yaml: Gadget/apps/g: the CRD gadgets.example.com does not serve example.com/v2"
    ]


def test_core_kinds_strict_and_served(example_homelab: Homelab) -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "a"},
        "data": {"k": 1},
    }
    pdb = {
        "apiVersion": "policy/v1beta1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "p", "namespace": "a"},
        "spec": {"maxUnavailable": 1},
    }
    netpol = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "n", "namespace": "a"},
        "spec": {"podSelecter": {}},
    }
    assert _messages(_state(cm, pdb, netpol), example_homelab) == [
        "file0.yaml: ConfigMap/a/c: data.k: 1 is not of type 'string', 'null'",
        "file1.yaml: PodDisruptionBudget/a/p: "
        "PodDisruptionBudget policy/v1beta1 is not served by Kubernetes 1.33",
        "file2.yaml: NetworkPolicy/a/n: spec: 'podSelector' is a required property",
        "file2.yaml: NetworkPolicy/a/n: "
        "spec: Additional properties are not allowed ('podSelecter' was unexpected)",
    ]


def test_authelia_configuration_checked_against_shipped_schema(example_homelab: Homelab) -> None:
    config = "access_control:\n  default_policy: allow\n"
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "authelia-configuration", "namespace": "authelia"},
        "data": {"configuration.yaml": config},
    }
    messages = _messages(_state(cm), example_homelab)
    assert len(messages) == 1
    assert messages[0].startswith(
        "file0.yaml: ConfigMap/authelia/authelia-configuration: Authelia configuration: "
        "access_control.default_policy: 'allow' is not one of"
    )


def test_strict_schema_keeps_open_maps_open() -> None:
    converted = strict_schema(GADGET_SCHEMA, root=True)
    assert converted["additionalProperties"] is False
    assert set(converted["properties"]) == {"spec", "apiVersion", "kind", "metadata"}
    spec = converted["properties"]["spec"]["properties"]
    assert "additionalProperties" not in spec["extra"]
    assert spec["labels"]["additionalProperties"] == {"type": "string"}
    assert spec["port"] == {"type": ["integer", "string"]}


def test_custom_resource_metadata_is_checked_as_object_meta(example_homelab: Homelab) -> None:
    gadget = _gadget({"port": 1})
    gadget["metadata"] = {**gadget["metadata"], "labels": {"a": 1}, "lables": {}}
    assert _messages(_state(_crd(), gadget), example_homelab) == [
        "file1.yaml: Gadget/apps/g: "
        "metadata: Additional properties are not allowed ('lables' was unexpected)",
        "file1.yaml: Gadget/apps/g: metadata.labels.a: 1 is not of type 'string', 'null'",
    ]
