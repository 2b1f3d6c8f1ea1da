"""cert-manager: issues every route's certificate (internal CA, or ACME DNS-01)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.effective import Effective, command_line, containers
from homelabeazy.desired.needs import Clients, FlowNeed, need_from_url, url_host_port
from homelabeazy.desired.outcomes import Breach, Outcome, confined, flag_values, runs
from homelabeazy.desired.state import DesiredState
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.service import ChartPin, MetricsSpec, OutsideName, OwnedValue, SecretSpec, ServiceEntry

CHART = ChartPin("https://charts.jetstack.io", "cert-manager", "v1.19.1")
DNS_PROVIDER_API = {"cloudflare": "api.cloudflare.com", "route53": "route53.amazonaws.com"}
"""The API each DNS-01 provider's solver calls to write the challenge record."""


OWNED_VALUES: tuple[OwnedValue, ...] = (
    OwnedValue(("crds", "enabled"), "the homelab's Certificates and Issuers need cert-manager's CRDs"),
)
"""Chart values the homelab depends on: `services.cert_manager.values` may not set them."""


def entry(config: HomelabConfig) -> ServiceEntry:
    """The ACME DNS provider token is the only secret, and only with `issuer: acme`."""
    cm = config.services.cert_manager
    secrets: tuple[SecretSpec, ...] = ()
    reaches: tuple[OutsideName, ...] = ()
    if cm.issuer == "acme" and cm.acme is not None:
        acme = ("services", "cert_manager", "acme")
        host, port = url_host_port(cm.acme.server)
        reaches = (
            OutsideName(host, port, (*acme, "server"), "cert-manager (ACME orders)"),
            OutsideName(
                DNS_PROVIDER_API[cm.acme.dns_provider], 443, (*acme, "dns_provider"), "cert-manager (DNS-01)"
            ),
        )
        # Cloudflare takes one API token; Route 53 an access key pair.
        keys = (
            ("api_token",) if cm.acme.dns_provider == "cloudflare" else ("access_key_id", "secret_access_key")
        )
        secrets = (
            SecretSpec(
                "cert-manager/dns",
                keys,
                "cert_manager",
                f"{cm.acme.dns_provider} credentials for DNS-01",
                "external",
            ),
        )
    return ServiceEntry(
        name="cert_manager",
        title="cert-manager",
        namespace="cert-manager",
        chart=CHART,
        owned_values=OWNED_VALUES,
        crd_groups=("cert-manager.io", "acme.cert-manager.io"),
        description="TLS certificates for every route",
        secrets=secrets,
        reaches=reaches,
        metrics=(
            MetricsSpec(
                "controller",
                (("app.kubernetes.io/name", "cert-manager"), ("app.kubernetes.io/component", "controller")),
                "tcp-prometheus-servicemonitor",
            ),
        ),
    )


CONTROLLER_LABELS = {"app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller"}
"""The chart's controller pods: they talk to the ACME server and the DNS provider."""
DNS_PROVIDER_APIS = {"cloudflare": "https://api.cloudflare.com", "route53": "https://route53.amazonaws.com"}
"""The API each DNS-01 solver calls to publish the challenge record."""


def flow_needs(state: DesiredState, homelab: Homelab) -> Iterator[FlowNeed]:
    """For each ACME issuer: its directory, its DNS-01 provider's API, and the self-check.

    Before asking the ACME server to validate, the controller checks the TXT record itself by
    asking the zone's authoritative name servers (outside addresses, port 53).
    """
    clients = Clients(entry(homelab.config).namespace, CONTROLLER_LABELS, "the cert-manager controller")
    for kind in ("ClusterIssuer", "Issuer"):
        for issuer in state.of_kind(kind, "cert-manager.io"):
            acme = (issuer.doc.get("spec") or {}).get("acme") or {}
            if not acme.get("server"):
                continue
            yield need_from_url(str(acme["server"]), clients, f"ACME directory of {issuer.ident}", issuer)
            for solver in acme.get("solvers") or ():
                for provider, api in DNS_PROVIDER_APIS.items():
                    if provider in (solver.get("dns01") or {}):
                        yield need_from_url(api, clients, f"{provider} DNS-01 API of {issuer.ident}", issuer)
                if solver.get("dns01"):
                    for protocol in ("UDP", "TCP"):
                        purpose = f"DNS-01 self-check of {issuer.ident}"
                        yield FlowNeed(clients, "authoritative name servers", 53, purpose, issuer, protocol)


def tls_secrets(state: DesiredState, homelab: Homelab) -> dict[tuple[str, str], tuple[str, ...]]:  # noqa: ARG001
    """(namespace, Secret) -> the DNS names of the certificate cert-manager keeps in that Secret.

    Only `dnsNames`: TLS clients (Go's since 1.15, browsers) ignore the common name.
    """
    names: dict[tuple[str, str], tuple[str, ...]] = {}
    for cert in state.of_kind("Certificate", "cert-manager.io"):
        spec = cert.doc.get("spec") or {}
        if spec.get("secretName") and cert.namespace:
            names[(cert.namespace, str(spec["secretName"]))] = tuple(
                str(n) for n in spec.get("dnsNames") or ()
            )
    return names


def tls_issuers(state: DesiredState, homelab: Homelab) -> dict[tuple[str, str], str]:  # noqa: ARG001
    """(namespace, Secret) -> the issuer of the certificate cert-manager keeps there
    (`ClusterIssuer/homelab-ca`, `Issuer/<namespace>/<name>`): its `ca.crt` is that issuer's CA."""
    issuers: dict[tuple[str, str], str] = {}
    for cert in state.of_kind("Certificate", "cert-manager.io"):
        spec = cert.doc.get("spec") or {}
        ref = spec.get("issuerRef") or {}
        if not spec.get("secretName") or not cert.namespace or not ref.get("name"):
            continue
        kind = str(ref.get("kind") or "Issuer")
        where = "" if kind == "ClusterIssuer" else f"{cert.namespace}/"
        issuers[(cert.namespace, str(spec["secretName"]))] = f"{kind}/{where}{ref['name']}"
    return issuers


# ---------------------------------------------------------------------------------- outcomes

CONTROLLER = "cert-manager"
COMPONENTS = (CONTROLLER, "cert-manager-webhook", "cert-manager-cainjector")
"""The controller issues, the webhook admits cert-manager's objects, the cainjector gives the
webhook's configurations their CA."""


def _issues_from_our_namespace(namespace: str) -> Callable[[Effective], Iterator[Breach]]:
    """ClusterIssuers read their Secrets (the CA key, the DNS provider's token) from cert-manager's
    own namespace, where the homelab keeps them; every controller stays on."""

    def test(view: Effective) -> Iterator[Breach]:
        for deployment in view.named("Deployment", CONTROLLER):
            for container in containers(deployment, init=False):
                words = command_line(container)
                places = flag_values(words, "cluster-resource-namespace")
                if len(places) != 1 or places[0] not in ("$(POD_NAMESPACE)", namespace):
                    shown = ", ".join(places) or "not given"
                    yield Breach(
                        f"the controller's --cluster-resource-namespace is {shown}, not {namespace}",
                        deployment,
                    )
                for value in flag_values(words, "controllers"):
                    if value.strip() not in ("*", ""):
                        yield Breach(f"the controller runs only controllers {value}", deployment)

    return test


def outcomes(homelab: Homelab) -> Iterator[Outcome]:
    """Every route's certificate is issued by the homelab's ClusterIssuer."""
    namespace = entry(homelab.config).namespace
    yield Outcome(
        f"cert-manager issues with the Secrets the homelab keeps in {namespace}, every controller on",
        _issues_from_our_namespace(namespace),
    )
    for name in COMPONENTS:
        yield runs("Deployment", name)
    yield confined()
