"""External Secrets Operator and the one ClusterSecretStore every ExternalSecret reads from."""

from __future__ import annotations

from homelabeazy.model import Homelab
from homelabeazy.model.catalog.external_secrets import SERVICE_ACCOUNT, VAULT_AUTH_MOUNT, VAULT_ROLE
from homelabeazy.model.service import ServiceEntry
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.endpoints import vault_url
from homelabeazy.render.k8s.objects import SECRET_STORE, meta, obj
from homelabeazy.render.k8s.services.common import new_bundle


def bundle(homelab: Homelab, entry: ServiceEntry) -> Bundle:
    """Vault's Kubernetes auth role and mount are the ones `homelab secrets init` configures."""
    vault = homelab.service("vault")
    egress = (vault.namespace,) if vault is not None else ()
    result = new_bundle(entry, Needs(api=True, webhook=True, egress_to=egress))
    result.values = {
        "fullnameOverride": SERVICE_ACCOUNT,
        "installCRDs": True,
        "metrics": {"service": {"enabled": True}},
    }
    result.add(
        "store",
        obj(
            "external-secrets.io/v1",
            "ClusterSecretStore",
            meta(SECRET_STORE),
            spec={
                "provider": {
                    "vault": {
                        "server": vault_url(homelab),
                        "path": homelab.vault_kv_mount,
                        "version": "v2",
                        "auth": {
                            "kubernetes": {
                                "mountPath": VAULT_AUTH_MOUNT,
                                "role": VAULT_ROLE,
                                "serviceAccountRef": {"name": SERVICE_ACCOUNT, "namespace": entry.namespace},
                            }
                        },
                    }
                }
            },
        ),
    )
    return result
