"""The user's Helm values over ours: the deep merge and the conflict rule, without any renderer."""

from __future__ import annotations

from homelabeazy.model.catalog import REGISTRY, OwnedValue
from homelabeazy.model.catalog.overrides import conflicts, deep_merge, dotted, leaves

OURS = {
    "deployment": {"replicas": 2, "podAnnotations": {"a": "1"}},
    "ports": {"web": {"port": 8000}, "websecure": {"port": 8443}},
    "env": [{"name": "X", "value": "1"}],
}
OWNED = (
    OwnedValue(("ports", "web", "port"), "policies open 8000"),
    OwnedValue(
        ("deployment", "replicas"), "it has its own key", "set it through services.traefik.replicas instead"
    ),
)


def test_mappings_merge_key_by_key_and_ours_keep_their_order() -> None:
    user = {"deployment": {"podAnnotations": {"b": "2"}, "minReadySeconds": 5}, "extra": True}
    merged = deep_merge(OURS, user)
    expected = {"replicas": 2, "podAnnotations": {"a": "1", "b": "2"}, "minReadySeconds": 5}
    assert merged["deployment"] == expected
    assert list(merged) == ["deployment", "ports", "env", "extra"]
    assert OURS["deployment"]["podAnnotations"] == {"a": "1"}, "the base must not change"


def test_lists_scalars_and_null_replace_what_was_there() -> None:
    merged = deep_merge(OURS, {"env": [{"name": "Y"}], "ports": {"websecure": None}, "deployment": 3})
    assert merged["env"] == [{"name": "Y"}]
    assert merged["ports"] == {"web": {"port": 8000}, "websecure": None}
    assert merged["deployment"] == 3


def test_merge_is_deterministic_in_the_users_order() -> None:
    first = deep_merge(OURS, {"z": 1, "a": 2})
    assert list(first)[-2:] == ["z", "a"]
    assert deep_merge(OURS, {"z": 1, "a": 2}) == first


def test_leaves_skip_empty_mappings() -> None:
    assert list(leaves({"a": {"b": 1, "c": {}}, "d": [1]})) == [("a", "b"), ("d",)]


def test_a_key_at_below_or_replacing_an_owned_value_conflicts() -> None:
    def found(values: dict[str, object]) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
        return [(path, owned.path) for path, owned in conflicts(values, OWNED)]

    replicas = ("deployment", "replicas")
    web_port = ("ports", "web", "port")
    assert found({"deployment": {"replicas": 3}}) == [(replicas, replicas)]
    assert found({"ports": {"web": {"port": {"x": 1}}}}) == [((*web_port, "x"), web_port)]
    assert found({"deployment": {"replicas": None}}) == [(replicas, replicas)]
    assert found({"deployment": {"replicas": "3"}}) == [(replicas, replicas)]
    assert found({"ports": None}) == [(("ports",), ("ports", "web", "port"))]
    assert found({"ports": {"web": []}}) == [(("ports", "web"), ("ports", "web", "port"))]


def test_keys_beside_an_owned_value_do_not_conflict() -> None:
    values = {
        "deployment": {"podAnnotations": {"x": "y"}},
        "ports": {"web": {"expose": {"default": True}}, "websecure": {"port": 9443}},
        "replicas": 5,
        "ports2": None,
        "env": [],
    }
    assert list(conflicts(values, OWNED)) == []
    assert list(conflicts({"ports": {}}, OWNED)) == [], "an empty mapping sets nothing"


def test_dotted_keys_are_quoted() -> None:
    assert dotted(("configs", "params", "server.insecure")) == 'configs.params."server.insecure"'


def test_every_catalog_module_declares_its_owned_values_with_a_reason(example_loaded) -> None:
    config = example_loaded.config
    declared = {name: make(config).owned_values for name, make in REGISTRY.items()}
    assert all(declared[name] for name in ("vault", "traefik", "argocd"))
    for name, owned in declared.items():
        for value in owned:
            assert all((value.path, value.why, value.fix)), (name, value)
            if "own key" in value.why:
                assert value.fix.startswith("set it through "), (name, value)


SECRET = (OwnedValue(("global", "existingSecret"), "the admin password is the one kept in Vault"),)


def test_an_empty_mapping_at_or_inside_an_owned_value_conflicts() -> None:
    """Issue 26: merged over our Secret name, `{}` replaced it and the chart made its own Secret."""
    assert [p for p, _ in conflicts({"global": {"existingSecret": {}}}, SECRET)] == [
        ("global", "existingSecret")
    ]
    assert [p for p, _ in conflicts({"ports": {"web": {"port": {}}}}, OWNED)] == [("ports", "web", "port")]
    assert [p for p, _ in conflicts({"deployment": {"replicas": {"a": {}}}}, OWNED)] == [
        ("deployment", "replicas", "a")
    ]


def test_an_empty_mapping_above_an_owned_value_changes_nothing() -> None:
    ours = {"global": {"existingSecret": "openldap-admin", "ldapDomain": "x"}}
    for user in ({"global": {}}, {"global": {"other": {}}}):
        assert list(conflicts(user, SECRET)) == [], user
        assert deep_merge(ours, user)["global"]["existingSecret"] == "openldap-admin"


def test_null_or_another_type_at_or_above_an_owned_value_conflicts() -> None:
    for user in (
        {"global": {"existingSecret": None}},
        {"global": {"existingSecret": 5}},
        {"global": {"existingSecret": ["a"]}},
        {"global": None},
        {"global": "x"},
        {"global": []},
    ):
        assert len(list(conflicts(user, SECRET))) == 1, user
