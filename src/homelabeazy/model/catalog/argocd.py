"""ArgoCD: installed once by `homelab up`, then manages itself from Git (app-of-apps)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.effective import Effective, command_line, containers, env_source
from homelabeazy.desired.made import made_beside
from homelabeazy.desired.needs import Clients, FlowNeed, need_from_url, url_host_port
from homelabeazy.desired.outcomes import Breach, Outcome, confined, flag_values, runs
from homelabeazy.desired.selectors import as_list, as_map, dig
from homelabeazy.desired.state import DesiredObject, DesiredState, Finding
from homelabeazy.model.catalog.traps import health_finding
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.service import ChartPin, MetricsSpec, OutsideName, OwnedValue, RouteSpec, ServiceEntry

CHART = ChartPin("https://argoproj.github.io/argo-helm", "argo-cd", "9.1.4")


OWNED_VALUES: tuple[OwnedValue, ...] = (
    OwnedValue(
        ("fullnameOverride",), "the homelab's routes and NetworkPolicies name ArgoCD's objects `argocd-*`"
    ),
    OwnedValue(("global", "domain"), "it is the UI's host", "set it through services.argocd.host instead"),
    OwnedValue(
        ("configs", "cm", "url"), "it is the UI's address", "set it through services.argocd.host instead"
    ),
    OwnedValue(
        ("configs", "params", "server.insecure"),
        "Traefik terminates TLS and its IngressRoute sends plain HTTP to argocd-server",
    ),
    OwnedValue(
        ("configs", "cm", "resource.customizations.health.argoproj.io_Application"),
        "the app-of-apps' sync waves wait for each Application's health through it",
    ),
    OwnedValue(("crds", "install"), "every Application the homelab renders needs ArgoCD's CRDs"),
)
"""Chart values the homelab depends on: `services.argocd.values` may not set them."""


def entry(config: HomelabConfig) -> ServiceEntry:
    """ArgoCD's UI sits behind SSO for the admins group; it has its own login as well."""
    return ServiceEntry(
        name="argocd",
        title="ArgoCD",
        namespace="argocd",
        chart=CHART,
        owned_values=OWNED_VALUES,
        crd_groups=("argoproj.io",),
        description="GitOps controller syncing this repository into the cluster",
        routes=(RouteSpec(config.services.argocd.host, "argocd-server", 80, "group", ("admins",)),),
        health_checks=(application_health_restored,),
        creates=redis_secret,
        metrics=(MetricsSpec("controller", (("app.kubernetes.io/name", "argocd-metrics"),), "http-metrics"),),
        reaches=(
            OutsideName(
                *url_host_port(config.gitops.repo_url), ("gitops", "repo_url"), "ArgoCD (repo server)"
            ),
        ),
    )


APPLICATION_HEALTH_KEY = "resource.customizations.health.argoproj.io_Application"
"""argocd-cm key of a Lua health check for Applications (none is built in since ArgoCD 1.8)."""
SETTINGS_CONFIGMAP = "argocd-cm"


def application_health_restored(state: DesiredState) -> Iterator[Finding]:
    """argocd-cm assesses a child Application's health from its own status.

    Without that, ArgoCD calls an Application healthy as soon as it exists, so the root app runs
    through every sync wave at once and a CR may arrive before the CRD a previous wave installs.
    """
    for config_map in state.of_kind("ConfigMap", ""):
        if config_map.name != SETTINGS_CONFIGMAP:
            continue
        script = str(as_map(config_map.doc.get("data")).get(APPLICATION_HEALTH_KEY, ""))
        if "obj.status.health" not in script:
            yield health_finding(
                config_map,
                "argocd",
                "no health check for argoproj.io/Application: the root app does not wait for one sync "
                "wave to be healthy before the next",
                f"set {APPLICATION_HEALTH_KEY} to a Lua check returning obj.status.health",
            )


REDIS_SECRET = "argocd-redis"  # noqa: S105 - a resource name
"""The Secret `argocd admin redis-initial-password` creates (key `auth`); every ArgoCD component
reads Redis' password from it."""


def redis_secret(state: DesiredState) -> Iterator[DesiredObject]:
    """The chart's `redis-secret-init` hook Job runs `argocd admin redis-initial-password`, which
    creates the Redis password Secret before the components start."""
    for job in state.of_kind("Job", "batch"):
        for container in as_list(dig(job.doc, "spec", "template", "spec", "containers")):
            if "redis-initial-password" in [str(a) for a in as_list(dig(container, "command"))]:
                yield made_beside(job, "Secret", REDIS_SECRET, keys=("auth",))


REPO_SERVER_LABELS = {"app.kubernetes.io/name": "argocd-repo-server"}
"""The chart's repo-server pods: they clone Git sources and pull Helm charts."""


def flow_needs(state: DesiredState, homelab: Homelab) -> Iterator[FlowNeed]:
    """The repo-server fetches every Application source: Git repositories and Helm repositories."""
    clients = Clients(entry(homelab.config).namespace, REPO_SERVER_LABELS, "the ArgoCD repo-server")
    seen: set[str] = set()
    for app in state.of_kind("Application", "argoproj.io"):
        spec = app.doc.get("spec") or {}
        sources = [spec["source"]] if spec.get("source") else list(spec.get("sources") or ())
        for source in sources:
            url = str(source.get("repoURL") or "")
            if not url or url.startswith("oci://") or url in seen:
                continue
            seen.add(url)
            kind = "Helm repository" if source.get("chart") else "Git repository"
            yield need_from_url(url, clients, f"{kind} {url}", app)


# ---------------------------------------------------------------------------------- outcomes

PARAMS_CONFIGMAP = "argocd-cmd-params-cm"
RBAC_CONFIGMAP = "argocd-rbac-cm"
SERVER = "argocd-server"
CRDS = ("applications.argoproj.io", "appprojects.argoproj.io")
"""The CRDs of the Applications and the project the root app-of-apps consists of."""


def _serves_plain_http(view: Effective) -> Iterator[Breach]:
    """argocd-server speaks plain HTTP: Traefik terminates TLS and sends plain HTTP to it."""
    for config_map in view.named("ConfigMap", PARAMS_CONFIGMAP):
        value = as_map(config_map.doc.get("data")).get("server.insecure")
        if str(value).lower() != "true":
            yield Breach(f"{PARAMS_CONFIGMAP} sets server.insecure to {value!r}, not true", config_map)
    for deployment in view.named("Deployment", SERVER):
        for container in containers(deployment, init=False):
            if container.get("name") != "server":
                continue
            source = env_source(view, deployment, container, "ARGOCD_SERVER_INSECURE")
            if source.kind != "ConfigMap" or source.name != PARAMS_CONFIGMAP:
                yield Breach(
                    f"ARGOCD_SERVER_INSECURE of argocd-server comes from {source.words()}", deployment
                )
            for value in flag_values(command_line(container), "insecure"):
                if value.lower() != "true":
                    yield Breach(f"argocd-server is started with --insecure={value}", deployment)


def _settings_hold(homelab: Homelab) -> Callable[[Effective], Iterator[Breach]]:
    """The UI's address, its own login, and the Application health the sync waves wait on."""
    route = next((r for r in homelab.routes if r.owner == "argocd" and r.kind == "service"), None)

    def test(view: Effective) -> Iterator[Breach]:
        for config_map in view.named("ConfigMap", SETTINGS_CONFIGMAP):
            data = as_map(config_map.doc.get("data"))
            if route is not None and data.get("url") != f"https://{route.host}":
                yield Breach(f"{SETTINGS_CONFIGMAP} sets url to {data.get('url')!r}", config_map)
            if str(data.get("users.anonymous.enabled", "false")).lower() == "true":
                yield Breach(f"{SETTINGS_CONFIGMAP} enables the anonymous user", config_map)
        for config_map in view.named("ConfigMap", RBAC_CONFIGMAP):
            default = str(as_map(config_map.doc.get("data")).get("policy.default", "")).strip()
            if default == "role:admin":
                yield Breach(f"{RBAC_CONFIGMAP} gives every logged-in user role:admin by default", config_map)

    return test


def _crds_in_every_render(view: Effective) -> Iterator[Breach]:
    """Both ArgoCD renders (the bootstrap HelmChart and the self-managed Application) install the
    CRDs: the self-managed one would otherwise prune them, and every Application with them."""
    renders = {o.origin.application for o in view.objects if o.origin.source == "chart"}
    for application in sorted(renders):
        have = {
            o.name for o in view.of_kind("CustomResourceDefinition") if o.origin.application == application
        }
        for crd in CRDS:
            if crd not in have:
                yield Breach(f"the {application} render of ArgoCD's chart installs no CRD {crd}")


def outcomes(homelab: Homelab) -> Iterator[Outcome]:
    """ArgoCD, as the bootstrap installs it and as it then manages itself."""
    yield Outcome("argocd-server serves plain HTTP to Traefik, which terminates TLS", _serves_plain_http)
    yield Outcome(
        "ArgoCD knows its address, keeps its own login (no anonymous user, no admin by default) and waits "
        "for each Application's health between sync waves",
        _settings_hold(homelab),
    )
    yield Outcome("ArgoCD's CRDs stay installed by every render of its chart", _crds_in_every_render)
    for kind, name in (
        ("Deployment", SERVER),
        ("Deployment", "argocd-repo-server"),
        ("Deployment", "argocd-redis"),
        ("StatefulSet", "argocd-application-controller"),
    ):
        yield runs(kind, name)
    yield confined()
