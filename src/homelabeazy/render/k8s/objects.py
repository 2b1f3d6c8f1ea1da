"""Small builders for the Kubernetes objects every part of the GitOps tree repeats.

Each returns a plain dict in the key order Kubernetes documents use, so dumps stay readable and
byte-stable; nothing here knows about a particular service.
"""

from __future__ import annotations

from typing import Any

Manifest = dict[str, Any]

MANAGED_BY = {"app.kubernetes.io/managed-by": "homelabeazy"}
CLUSTER_ISSUER_CA = "homelab-ca"
CLUSTER_ISSUER_ACME = "letsencrypt"
SECRET_STORE = "vault"  # noqa: S105 - a resource name
"""Name of the ClusterSecretStore every ExternalSecret reads from."""


def meta(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    """Object metadata with our managed-by label; `extra` adds annotations and the like."""
    data: dict[str, Any] = {"name": name}
    if namespace is not None:
        data["namespace"] = namespace
    data["labels"] = dict(MANAGED_BY)
    data.update(extra)
    return data


def obj(api_version: str, kind: str, metadata: dict[str, Any], **body: Any) -> Manifest:
    """An object: apiVersion, kind, metadata, then its body keys in the order given."""
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **body}


def dashed(name: str) -> str:
    """Catalog names use `_` (cert_manager); Kubernetes names need `-` (cert-manager)."""
    return name.replace("_", "-")


def host_name(host: str) -> str:
    """An object name unique per route host: `whoami.home.example.com` -> `whoami-home-example-com`."""
    return host.replace(".", "-")


def external_secret(
    name: str,
    namespace: str,
    vault_path: str,
    keys: dict[str, str],
    template: dict[str, str] | None = None,
) -> Manifest:
    """An ExternalSecret making Secret `name` from Vault `<mount>/<vault_path>`.

    `keys` maps the Kubernetes Secret key to the Vault key. With `template`, the Secret's data are
    rendered by the operator from those keys (a credentials file, say); the template holds only
    placeholders, never a value.
    """
    target: dict[str, Any] = {"name": name, "creationPolicy": "Owner", "deletionPolicy": "Retain"}
    if template is not None:
        target["template"] = {"engineVersion": "v2", "data": template}
    return obj(
        "external-secrets.io/v1",
        "ExternalSecret",
        meta(name, namespace),
        spec={
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": SECRET_STORE},
            "target": target,
            "data": [
                {"secretKey": secret_key, "remoteRef": {"key": vault_path, "property": vault_key}}
                for secret_key, vault_key in keys.items()
            ],
        },
    )


def secret_key_ref(secret: str, key: str) -> dict[str, Any]:
    """`valueFrom` for an env var read from a Secret."""
    return {"secretKeyRef": {"name": secret, "key": key}}
