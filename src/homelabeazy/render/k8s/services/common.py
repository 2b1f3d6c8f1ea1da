"""What several service modules share: a Bundle from a catalog entry, Secrets from Vault paths."""

from __future__ import annotations

from homelabeazy.model.service import SecretSpec, ServiceEntry, secret_name
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.objects import Manifest, dashed, external_secret


def new_bundle(entry: ServiceEntry, needs: Needs) -> Bundle:
    """A bundle named after the entry, in its namespace, with its chart pin (waves come later)."""
    return Bundle(
        name=dashed(entry.name),
        owner=entry.name,
        namespace=entry.namespace,
        chart=entry.chart,
        needs=needs,
    )


def secret_spec(entry: ServiceEntry, path: str) -> SecretSpec:
    """The entry's SecretSpec at `path`: the catalog names it, the renderer never invents one."""
    for spec in entry.secrets:
        if spec.path == path:
            return spec
    raise KeyError(f"catalog entry {entry.name} declares no secret at {path}")


def synced_secret(
    entry: ServiceEntry,
    path: str,
    keys: dict[str, str] | None = None,
    template: dict[str, str] | None = None,
) -> Manifest:
    """An ExternalSecret in the entry's namespace for its Vault path.

    `keys` maps Secret key -> Vault key (default: the Vault keys, unchanged); every Vault key named
    must be one the catalog declares, so a typo fails the render instead of the pod.
    """
    spec = secret_spec(entry, path)
    mapping = keys if keys is not None else {key: key for key in spec.keys}
    unknown = sorted(set(mapping.values()) - set(spec.keys))
    if unknown:
        raise KeyError(f"{entry.name}: Vault path {path} has no key(s) {', '.join(unknown)}")
    return external_secret(secret_name(spec), entry.namespace, spec.path, mapping, template)
