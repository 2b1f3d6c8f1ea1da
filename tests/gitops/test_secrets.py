"""No secret material in the rendered tree: a real scanner finds nothing, seeded values never appear."""

from __future__ import annotations

import secrets as random_source
from pathlib import Path

import pytest
import yaml
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings, transient_settings

from homelabeazy.model import Homelab
from homelabeazy.render import render_all
from tests.gitops.conftest import documents, render_k8s

REFERENCE_LINES = [  # detect-secrets matches YAML lines as it re-writes them: values quoted
    r'^\s*-?\s*(secretName|secretKey|existingSecret):\s*"?[A-Za-z0-9_.-]+"?$',
    r'^\s*secret:\s*"?[a-z0-9-]+-tls"?$',  # the openldap chart's initTLSSecret.secret: a Secret's name
    r'^\s*homelabeazy/configuration-sha256:\s*"?[0-9a-f]{64}"?$',
    r'^\s*HOMELABEAZY_DIGEST:\s*"?[0-9a-f]{64}"?$',  # the CI's check of the homelabeazy it installs
    r"^\s*configuration\.yaml:",
    r'^\s*cidr: "?0\.0\.0\.0/0"?$',
]
"""Lines that *name* a Secret or key (KeywordDetector cannot tell a name from a value), the
configuration hash, the sha256 of the homelabeazy build the CI workflows install, "any address"
(IPPublicDetector reads 0.0.0.0/0 as one), and the ConfigMap
entry holding Authelia's configuration, which is scanned line by line as a file of its own."""


def _with_authelia_configuration(files: dict[str, str]) -> dict[str, str]:
    path = "kubernetes/manifests/authelia/configuration.yaml"
    config = next(yaml.safe_load_all(files[path]))["data"]["configuration.yaml"]
    return {**files, "authelia-configuration.yml": config}


def _scan(root: Path, files: dict[str, str]) -> dict[str, list[dict[str, object]]]:
    """detect-secrets with its default plugins (as `detect-secrets scan` runs) plus REFERENCE_LINES."""
    files = _with_authelia_configuration(files)
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    with default_settings() as defaults:
        plugins = defaults.json()["plugins_used"]
    settings = {
        "plugins_used": plugins,
        "filters_used": [
            {"path": "detect_secrets.filters.regex.should_exclude_line", "pattern": REFERENCE_LINES}
        ],
    }
    found = SecretsCollection(root=str(root))
    with transient_settings(settings):
        for rel in sorted(files):
            found.scan_file(rel)
    return found.json()


@pytest.mark.slow  # detect-secrets over the whole rendered tree
def test_detect_secrets_finds_nothing(example_homelab: Homelab, tmp_path: Path) -> None:
    """The whole rendered repository, every target, not only kubernetes/."""
    assert _scan(tmp_path, render_all(example_homelab)) == {}


@pytest.mark.slow  # detect-secrets over the whole rendered tree
def test_detect_secrets_would_find_a_planted_secret(example_homelab: Homelab, tmp_path: Path) -> None:
    """The scan above can fail: the same scan flags a password written into a values file."""
    files = render_k8s(example_homelab)
    values = yaml.safe_load(files["kubernetes/values/openldap.yaml"])
    values["global"]["adminPassword"] = "pV7#kq2Lr9!xWm4Tz8Qe"
    files["kubernetes/values/openldap.yaml"] = yaml.safe_dump(values)
    assert "kubernetes/values/openldap.yaml" in _scan(tmp_path, files)


def test_seeded_secret_values_never_appear(example_homelab: Homelab) -> None:
    """Whatever `homelab secrets seed` generates stays in Vault: the tree only names paths."""
    seeded = {
        (spec.path, key): random_source.token_urlsafe(24)
        for spec in example_homelab.secrets
        for key in spec.keys
    }
    tree = "\n".join(render_all(example_homelab).values())
    assert not [where for where, value in seeded.items() if value in tree]


def test_no_secret_objects_and_every_synced_secret_names_a_model_path(monitored_homelab: Homelab) -> None:
    docs = documents(render_k8s(monitored_homelab))
    assert not [path for path, doc in docs if doc.get("kind") == "Secret"]
    model_paths = {spec.path: set(spec.keys) for spec in monitored_homelab.secrets}
    synced = [doc for _, doc in docs if doc.get("kind") == "ExternalSecret"]
    assert {d["metadata"]["name"] for d in synced} == {
        "authelia-keys",
        "authelia-ldap",
        "consul-gossip",
        "openldap-admin",
        "velero-s3",
        "monitoring-grafana-admin",
        "vault-snapshot-s3",  # the bucket keys of the scheduled raft snapshots
        "ldap-export-velero-s3",  # and of the scheduled LDIF exports
    }
    for doc in synced:
        assert doc["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "vault"}
        for item in doc["spec"]["data"]:
            ref = item["remoteRef"]
            assert ref["property"] in model_paths[ref["key"]], ref


def test_store_reads_the_models_kv_mount(example_homelab: Homelab) -> None:
    store = next(
        d for _, d in documents(render_k8s(example_homelab)) if d.get("kind") == "ClusterSecretStore"
    )
    vault = store["spec"]["provider"]["vault"]
    assert vault["path"] == example_homelab.vault_kv_mount
    assert vault["version"] == "v2"
    assert vault["server"] == "http://vault-active.vault.svc.cluster.local:8200"
