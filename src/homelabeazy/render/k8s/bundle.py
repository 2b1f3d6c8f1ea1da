"""What one ArgoCD Application deploys: a chart with generated values plus our own manifests.

Every file a service contributes hangs off its Bundle, so disabling the service removes exactly
its Application, values and manifest folder (plus the lines other services keep about it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from homelabeazy.model.service import ChartPin
from homelabeazy.render.k8s.objects import Manifest


@dataclass(frozen=True)
class Needs:
    """The traffic a service needs beyond its own namespace: turned into NetworkPolicies.

    Ingress from Traefik is not listed: it follows from the routes the service owns.
    """

    api: bool = False
    """Talks to the Kubernetes API (controllers, operators, token reviews)."""
    webhook: bool = False
    """Serves admission webhooks or API extensions the API server calls from the nodes."""
    internet_ports: tuple[int, ...] = ()
    """TCP ports it opens to addresses outside the cluster (Git, Helm repos, ACME, S3)."""
    internet_udp_ports: tuple[int, ...] = ()
    """UDP ports it opens outside the cluster (a Cloudflare tunnel's QUIC)."""
    egress_to: tuple[str, ...] = ()
    """Namespaces it connects to."""
    ingress_from: tuple[str, ...] = ()
    """Namespaces that connect to it (other than Traefik)."""
    world_ports: tuple[int, ...] = ()
    """Pod TCP ports anyone may reach (Traefik's entry points)."""
    world_udp_ports: tuple[int, ...] = ()
    """Pod UDP ports anyone may reach (the DNS gateway)."""
    node_ports: tuple[int, ...] = ()
    """TCP ports it opens on every node's address (Prometheus scraping node-exporter, the kubelet, etcd)."""


@dataclass
class Bundle:
    """One Application: its chart, its values, its extra manifests, its network needs."""

    name: str
    """Application and release name (Kubernetes spelling, `cert-manager`)."""
    owner: str
    """The model name routes and secrets are owned by (`cert_manager`, or an app's name)."""
    namespace: str
    chart: ChartPin | None
    values: dict[str, Any] | None = None
    manifests: dict[str, list[Manifest]] = field(default_factory=dict)
    """Manifest file stem -> documents, written to manifests/<name>/<stem>.yaml."""
    git_path: str | None = None
    """A folder of the user's own manifests in the GitOps repo (apps with `manifests:`)."""
    needs: Needs = field(default_factory=Needs)
    kind: str = "service"
    """`service` for a core service, `app` for a user app (route owners are looked up by both)."""
    wave: int = 0
    ignore_differences: list[dict[str, Any]] = field(default_factory=list)
    """ArgoCD `ignoreDifferences` entries: fields another controller writes into a chart's object
    (a token External Secrets merges into the Secret a chart renders). Respected on sync too."""
    """The Application's sync wave, set once every bundle is known (render/k8s/waves.py)."""

    def add(self, stem: str, *documents: Manifest) -> None:
        """Append documents to manifests/<name>/<stem>.yaml."""
        if documents:
            self.manifests.setdefault(stem, []).extend(documents)
