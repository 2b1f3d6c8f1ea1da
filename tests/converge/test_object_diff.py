"""The object diff engine: identity, field-level changes, lists by name, Secrets never shown, order."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from homelabeazy.converge.object_diff import REDACTED, ObjectId, diff_object, diff_states, redacted
from homelabeazy.converge.object_dump import object_files
from homelabeazy.desired.state import ApplicationInfo, DesiredObject, DesiredState, Origin
from tests.converge.states import doc

SECRET_VALUE = "s3cr3t-do-not-print"


def state(*objects: tuple[str, dict[str, Any]], waves: dict[str, int] | None = None) -> DesiredState:
    """Objects as (application, document); namespaced kinds in their metadata's namespace."""
    waves = waves or {}
    apps = sorted({app for app, _ in objects} | set(waves))
    return DesiredState(
        tuple(ApplicationInfo(a, waves.get(a, 0), a, f"kubernetes/apps/{a}.yaml") for a in apps),
        tuple(
            DesiredObject(
                d, Origin(app, waves.get(app, 0), "x.yaml", "chart"), d["metadata"].get("namespace")
            )
            for app, d in objects
        ),
    )


def deployment(replicas: int = 2, image: str = "traefik:v3.1", **extra: Any) -> dict[str, Any]:
    containers = extra.pop("containers", [{"name": "traefik", "image": image, "args": ["--a", "--b"]}])
    return doc(
        "apps/v1", "Deployment", "traefik", "traefik",
        spec={"replicas": replicas, "template": {"spec": {"containers": containers}}}, **extra,
    )  # fmt: skip


def secret(**data: str) -> dict[str, Any]:
    return doc("v1", "Secret", "creds", "traefik", data=dict(data))


def test_no_difference_is_empty() -> None:
    one = state(("traefik", deployment()))
    assert diff_states(one, state(("traefik", deployment()))).empty


def test_a_changed_field_is_named_with_both_values() -> None:
    result = diff_states(state(("traefik", deployment(2))), state(("traefik", deployment(3))))
    (app,) = result.applications
    assert (app.name, app.added, app.removed) == ("traefik", (), ())
    (changed,) = app.changed
    assert changed.ident == ObjectId("apps", "Deployment", "traefik", "traefik")
    assert [c.text for c in changed.changes] == ["spec.replicas: 2 → 3"]
    assert result.counts() == {"applications": 1, "added": 0, "removed": 0, "changed": 1}


def test_only_the_application_that_changes_is_listed() -> None:
    other = doc("v1", "ConfigMap", "x", "vault", data={"a": "1"})
    before = state(("traefik", deployment(2)), ("vault", other))
    after = state(("traefik", deployment(3)), ("vault", other))
    assert [a.name for a in diff_states(before, after).applications] == ["traefik"]


def test_added_and_removed_objects_and_applications() -> None:
    keep = doc("v1", "ConfigMap", "keep", "a")
    gone = doc("v1", "ConfigMap", "gone", "a")
    new = doc("v1", "Service", "new", "a")
    app_b = doc("v1", "ConfigMap", "b", "b")
    result = diff_states(state(("a", keep), ("a", gone)), state(("a", keep), ("a", new), ("b", app_b)))
    a, b = result.applications
    assert a.status == "changed"
    assert [i.text for i in a.added] == ["Service a/new"]
    assert [i.text for i in a.removed] == ["ConfigMap a/gone"]
    assert (b.name, b.status, [i.text for i in b.added]) == ("b", "added", ["ConfigMap b/b"])
    removed = diff_states(state(("a", keep), ("b", app_b)), state(("a", keep))).applications
    assert [(r.name, r.status, [i.text for i in r.removed]) for r in removed] == [
        ("b", "removed", ["ConfigMap b/b"])
    ]


def test_identity_is_group_kind_namespace_name_not_the_version() -> None:
    old = doc("policy/v1beta1", "PodDisruptionBudget", "p", "a", spec={"minAvailable": 1})
    new = doc("policy/v1", "PodDisruptionBudget", "p", "a", spec={"minAvailable": 1})
    (app,) = diff_states(state(("a", old)), state(("a", new))).applications
    assert [c.text for c in app.changed[0].changes] == ['apiVersion: "policy/v1beta1" → "policy/v1"']
    # the same name in another namespace, or another group, is another object
    moved = doc("policy/v1", "PodDisruptionBudget", "p", "b", spec={"minAvailable": 1})
    (app,) = diff_states(state(("a", new)), state(("a", moved))).applications
    assert ([i.text for i in app.added], [i.text for i in app.removed]) == (
        ["policy/PodDisruptionBudget b/p"],
        ["policy/PodDisruptionBudget a/p"],
    )


def test_lists_of_named_mappings_are_compared_by_name() -> None:
    sidecar = {"name": "aaa-sidecar", "image": "busybox"}
    main = {"name": "traefik", "image": "traefik:v3.1"}
    changes = diff_object(
        ObjectId("apps", "Deployment", "t", "t"),
        deployment(containers=[main]),
        deployment(containers=[sidecar, {**main, "image": "traefik:v3.2"}]),
    )
    assert [c.text for c in changes] == [
        "spec.template.spec.containers[name=aaa-sidecar]: (none) → "
        '{"image": "busybox", "name": "aaa-sidecar"}',
        'spec.template.spec.containers[name=traefik].image: "traefik:v3.1" → "traefik:v3.2"',
    ]


def test_other_lists_by_index_and_duplicate_names_by_index() -> None:
    ident = ObjectId("apps", "Deployment", "t", "t")
    old = deployment(containers=[{"name": "c", "args": ["--a", "--b"]}])
    new = deployment(containers=[{"name": "c", "args": ["--a", "--c", "--d"]}])
    assert [c.text for c in diff_object(ident, old, new)] == [
        'spec.template.spec.containers[name=c].args[1]: "--b" → "--c"',
        'spec.template.spec.containers[name=c].args[2]: (none) → "--d"',
    ]
    twice = [{"name": "x", "v": 1}, {"name": "x", "v": 2}]
    changed = [{"name": "x", "v": 1}, {"name": "x", "v": 3}]
    assert [c.text for c in diff_object(ident, {"l": twice}, {"l": changed})] == ["l[1].v: 2 → 3"]


def test_keys_that_are_not_words_are_quoted() -> None:
    ident = ObjectId("", "ConfigMap", "a", "a")
    old = doc("v1", "ConfigMap", "a", "a", labels={"helm.sh/chart": "traefik-41.3.0"})
    new = doc("v1", "ConfigMap", "a", "a", labels={"helm.sh/chart": "traefik-41.4.0"})
    assert [c.text for c in diff_object(ident, old, new)] == [
        'metadata.labels["helm.sh/chart"]: "traefik-41.3.0" → "traefik-41.4.0"'
    ]


def test_a_long_value_is_cut_in_text_but_whole_in_json() -> None:
    ident = ObjectId("", "ConfigMap", "a", "a")
    (change,) = diff_object(ident, {"data": {"k": "x"}}, {"data": {"k": "y" * 300}})
    assert change.text.endswith("…")
    assert len(change.text) < 140
    assert change.as_json() == {"path": "data.k", "op": "changed", "before": "x", "after": "y" * 300}


def test_secret_values_are_never_in_the_result() -> None:
    before = state(("a", secret(user="YWRtaW4=", password="b2xk", gone="eA==")))
    after = state(("a", secret(user="YWRtaW4=", password=SECRET_VALUE, token=SECRET_VALUE)))
    result = diff_states(before, after)
    (changed,) = result.applications[0].changed
    assert [c.text for c in changed.changes] == [
        "data.gone: removed (value hidden)",
        "data.password: changed (value hidden)",
        "data.token: added (value hidden)",
    ]
    dumped = json.dumps(result.as_json())
    for value in (SECRET_VALUE, "b2xk", "eA=="):
        assert value not in dumped
    assert all(c.before is None and c.after is None and c.hidden for c in changed.changes)


def test_secret_string_data_and_a_whole_data_section_are_hidden() -> None:
    ident = ObjectId("", "Secret", "a", "s")
    old = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "v1"}}
    new = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": SECRET_VALUE}}
    changes = diff_object(ident, old, new)
    assert [c.text for c in changes] == [
        "data.k: added (value hidden)",
        "stringData.k: removed (value hidden)",
    ]
    # A Secret-like object of another group is not a Secret: its fields are shown (bad fixture guard).
    other = diff_object(ObjectId("example.com", "Secret", "a", "s"), old, new)
    assert any(not c.hidden for c in other)


def test_order_is_deterministic_by_wave_then_name() -> None:
    objects = [("b", doc("v1", "ConfigMap", "z", "b")), ("a", doc("v1", "ConfigMap", "y", "a"))]
    objects += [("c", doc("v1", "ConfigMap", "x", "c")), ("a", doc("v1", "Service", "a", "a"))]
    waves = {"a": 2, "b": 1, "c": 1}
    forward = diff_states(state(waves=waves), state(*objects, waves=waves))
    backward = diff_states(state(waves=waves), state(*reversed(objects), waves=waves))
    assert forward == backward
    assert [a.name for a in forward.applications] == ["b", "c", "a"]
    assert [i.text for i in forward.applications[2].added] == ["ConfigMap a/y", "Service a/a"]


def test_dump_redacts_secret_values_and_orders_objects() -> None:
    built = state(
        ("a", doc("v1", "Service", "b", "a")),
        ("a", secret(password=SECRET_VALUE)),
        ("a", doc("v1", "ConfigMap", "c", "a")),
        ("traefik", deployment()),
    )
    files = object_files(built)
    assert sorted(files) == ["a.yaml", "traefik.yaml"]
    assert SECRET_VALUE not in files["a.yaml"]
    docs = list(yaml.safe_load_all(files["a.yaml"]))
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("ConfigMap", "c"), ("Secret", "creds"), ("Service", "b"),
    ]  # fmt: skip
    assert docs[1]["data"] == {"password": REDACTED}
    assert object_files(built) == files


@pytest.mark.parametrize("kind", ["ConfigMap", "Secret"])
def test_redacted_leaves_the_input_alone(kind: str) -> None:
    original = doc("v1", kind, "s", "a", data={"k": SECRET_VALUE})
    copy = json.loads(json.dumps(original))
    out = redacted(original)
    assert original == copy
    assert (out["data"]["k"] == REDACTED) == (kind == "Secret")


def test_embedded_yaml_text_is_compared_by_key() -> None:
    ident = ObjectId("helm.cattle.io", "HelmChart", "kube-system", "argocd")
    old = {"spec": {"valuesContent": "a: 1\nb:\n  c: [x]\n"}}
    new = {"spec": {"valuesContent": "a: 1\nb:\n  c: [x, y]\n"}}
    assert [c.text for c in diff_object(ident, old, new)] == ['spec.valuesContent(yaml).b.c[1]: (none) → "y"']
    # Text that is not a YAML mapping on both sides stays one value.
    (change,) = diff_object(ident, {"s": "- a\n- b\n"}, {"s": "a: 1\nb: 2\n"})
    assert change.path == "s"
    (change,) = diff_object(ident, {"s": "one line"}, {"s": "other: line"})
    assert change.path == "s"
