"""ArgoCD: installed once by `homelab up` with these values, then syncs itself from Git."""

from __future__ import annotations

from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.model.catalog.argocd import APPLICATION_HEALTH_KEY
from homelabeazy.model.service import ServiceEntry
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.services.common import new_bundle

APPLICATION_HEALTH = """\
-- Since ArgoCD 1.8 an Application is healthy as soon as it exists; sync waves of the
-- app-of-apps only hold if the parent waits for each child's own health.
hs = {status = "Progressing", message = ""}
if obj.status ~= nil and obj.status.health ~= nil then
  hs.status = obj.status.health.status
  if obj.status.health.message ~= nil then
    hs.message = obj.status.health.message
  end
end
return hs
"""


def values(homelab: Homelab) -> dict[str, Any]:
    """Install values: Traefik terminates TLS, so the server speaks plain HTTP inside the cluster."""
    route = next((r for r in homelab.routes if r.owner == "argocd" and r.kind == "service"), None)
    cm: dict[str, Any] = {
        APPLICATION_HEALTH_KEY: APPLICATION_HEALTH,
        "timeout.reconciliation": "180s",
    }
    if route is not None:
        cm["url"] = f"https://{route.host}"
    return {
        "fullnameOverride": "argocd",
        "crds": {"install": True, "keep": True},
        "global": {"domain": route.host if route is not None else f"argocd.{homelab.domain}"},
        "configs": {"params": {"server.insecure": True}, "cm": cm},
        "dex": {"enabled": False},
        "notifications": {"enabled": False},
        # the application controller's metrics (argocd_app_info: health and sync of every app)
        "controller": {"metrics": {"enabled": True}},
    }


def bundle(homelab: Homelab, entry: ServiceEntry) -> Bundle:
    """Git over HTTPS or SSH, chart repositories over HTTPS."""
    result = new_bundle(entry, Needs(api=True, internet_ports=(22, 443)))
    result.values = values(homelab)
    return result
