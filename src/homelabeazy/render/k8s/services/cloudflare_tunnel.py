"""cloudflared from cloudflare-tunnel-remote 0.1.2, its token merged in from Vault.

The chart has no existing-Secret option: it always renders Secret `<fullname>` with key
`tunnelToken` from the value `cloudflare.tunnel_token`, and the Deployment reads exactly that
Secret. So the value holds a placeholder (never the token), an ExternalSecret with
`creationPolicy: Merge` writes the real token into that Secret, and the Application tells ArgoCD
to ignore the Secret's data (and respect that on sync), so self-heal does not put the placeholder back.
"""

from __future__ import annotations

from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.model.catalog.cloudflare_tunnel import CONNECTOR, EDGE_PORT, TOKEN_PATH
from homelabeazy.model.service import ServiceEntry
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.objects import Manifest, external_secret
from homelabeazy.render.k8s.services.common import new_bundle, secret_spec

FULLNAME = CONNECTOR
"""The chart's fullname, hence its Secret's and Deployment's name."""
CHART_SECRET_KEY = "tunnelToken"  # noqa: S105 - a name, not a secret
IMAGE_TAG = "2025.8.0"
"""cloudflared's image: the chart's default is `latest`, which would change under a re-sync (the tag is
one Renovate proposed for cloudflare/cloudflared; not pulled here)."""
PLACEHOLDER = "replaced-from-vault-by-external-secrets"
"""What the chart renders into its Secret until External Secrets merges the token in."""


def values(homelab: Homelab) -> dict[str, Any]:  # noqa: ARG001 - uniform renderer signature
    """A fixed name, a pinned image, the placeholder token, the chart's locked-down defaults otherwise."""
    return {
        "fullnameOverride": FULLNAME,
        "image": {"tag": IMAGE_TAG},
        "cloudflare": {"tunnel_token": PLACEHOLDER},
    }


def token_secret(entry: ServiceEntry) -> Manifest:
    """The ExternalSecret merging the Vault token into the chart's Secret."""
    spec = secret_spec(entry, TOKEN_PATH)
    doc = external_secret(FULLNAME, entry.namespace, spec.path, {CHART_SECRET_KEY: spec.keys[0]})
    doc["spec"]["target"]["creationPolicy"] = "Merge"
    return doc


def bundle(homelab: Homelab, entry: ServiceEntry) -> Bundle:
    """Out to Cloudflare's edge (7844 UDP and TCP) and API (443); into Traefik's namespace."""
    traefik = homelab.service("traefik")
    result = new_bundle(
        entry,
        Needs(
            internet_ports=(443, EDGE_PORT),
            internet_udp_ports=(EDGE_PORT,),
            egress_to=(traefik.namespace,) if traefik is not None else (),
        ),
    )
    result.values = values(homelab)
    result.add("secrets", token_secret(entry))
    result.ignore_differences = [
        {
            "kind": "Secret",
            "name": FULLNAME,
            "namespace": entry.namespace,
            "jsonPointers": ["/data", "/stringData"],
        }
    ]
    return result
