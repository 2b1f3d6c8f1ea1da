"""`apps:` your own applications, from a Helm chart or a folder of manifests."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from homelabeazy.config.schema.fields import ChartVersion, HostName, Label, RepoPath, Section, pattern, url
from homelabeazy.config.schema.services import Access


class HelmSource(Section):
    """A Helm chart from a chart repository."""

    repo: Annotated[
        str,
        url(
            "https",
            "oci",
            secrets_go="a private chart repository's credentials go into an ArgoCD repository Secret you "
            "create in the cluster, never into homelab.yaml",
        ),
    ]
    """Chart repository URL (https:// or oci://)."""
    name: Annotated[
        str,
        pattern(
            r"^[a-z0-9][a-z0-9._-]{0,99}$",
            "must be a chart name: lowercase letters, digits, '.', '_' and '-'",
        ),
    ]
    """Chart name."""
    version: ChartVersion
    """Exact chart version (pinned: ranges make renders non-reproducible)."""
    values: dict[str, object] = Field(default_factory=dict)
    """Values passed to the chart, exactly as in a Helm values file; written to
    `<gitops.path>/values/<app>.yaml` and given to the app's ArgoCD Application as its value file.
    For a few well-known charts the homelab adds what they need behind its routes (Homepage:
    `HOMEPAGE_ALLOWED_HOSTS` = the app's host) unless these values already set it."""


class ManifestSource(Section):
    """Plain manifests kept in your Git repository."""

    path: RepoPath
    """Folder in the GitOps repository holding the manifests."""


class AppConfig(Section):
    """One of your own applications."""

    name: Label
    """App name; also the default namespace and Service name."""
    namespace: Label | None = None
    """Namespace; defaults to the app name."""
    chart: HelmSource | None = None
    """Deploy from a Helm chart. Exactly one of `chart` and `manifests`."""
    manifests: ManifestSource | None = None
    """Deploy from manifests in Git."""
    host: HostName | None = None
    """Public host; omit for an app with no route."""
    service: Label | None = None
    """Kubernetes Service the route points at; defaults to the app name."""
    port: int = Field(default=80, ge=1, le=65535)
    """Service port."""
    access: Access = "two_factor"
    """Who may reach the route: `public`, `one_factor`, `two_factor`, or `group` (needs `groups`)."""
    groups: list[Label] = Field(default_factory=list)
    """Groups allowed when `access: group`."""
    public: bool = False
    """Publish the route on the internet: a DNS record at Cloudflare and the Cloudflare tunnel into
    Traefik (needs `services.external_dns` and `services.cloudflare_tunnel`). Authelia still guards it."""
    public_without_sso: bool = False
    """Say yes to publishing a route with `access: public` (no login at all); refused otherwise."""
