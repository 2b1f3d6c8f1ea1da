"""External Secrets Operator: turns Vault paths into Kubernetes Secrets the charts read."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.effective import Effective, command_line, containers, pod_spec
from homelabeazy.desired.needs import Clients, FlowNeed, need_from_url
from homelabeazy.desired.outcomes import Breach, Outcome, confined, flag_values, runs
from homelabeazy.desired.state import DesiredState
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.service import ChartPin, MetricsSpec, OwnedValue, ServiceEntry

CHART = ChartPin("https://charts.external-secrets.io", "external-secrets", "1.1.0")


OWNED_VALUES: tuple[OwnedValue, ...] = (
    OwnedValue(("fullnameOverride",), "the homelab's NetworkPolicies and health checks name its objects"),
    OwnedValue(("installCRDs",), "the homelab's ExternalSecrets and SecretStore need its CRDs"),
)
"""Chart values the homelab depends on: `services.external_secrets.values` may not set them."""


def entry(config: HomelabConfig) -> ServiceEntry:  # noqa: ARG001 - uniform catalog signature
    """Reads Vault through the Kubernetes auth role `homelab secrets init` configures."""
    return ServiceEntry(
        name="external_secrets",
        title="External Secrets",
        namespace=NAMESPACE,
        chart=CHART,
        owned_values=OWNED_VALUES,
        crd_groups=("external-secrets.io", "generators.external-secrets.io"),
        description="Syncs Vault secrets into Kubernetes Secrets",
        depends_on=("vault",),
        metrics=(
            MetricsSpec(
                "metrics",
                (
                    ("app.kubernetes.io/name", "external-secrets"),
                    ("app.kubernetes.io/instance", "external-secrets"),
                ),
                "metrics",
            ),
        ),
    )


NAMESPACE = "external-secrets"
"""Where the operator runs: the namespace Vault's Kubernetes auth role is bound to."""
SERVICE_ACCOUNT = "external-secrets"
"""The operator's service account (the chart names it after `fullnameOverride`): the identity
Vault's Kubernetes auth role is bound to."""
VAULT_AUTH_MOUNT = "kubernetes"
"""Vault auth mount of the Kubernetes method (`homelab secrets init` enables it)."""
VAULT_ROLE = "external-secrets"
"""Vault role the operator logs in with; its policies read every in-cluster consumer's secrets."""

CONTROLLER_LABELS = {"app.kubernetes.io/name": "external-secrets"}
"""The chart's controller pods (not its webhook or cert-controller): the ones that call Vault."""


def flow_needs(state: DesiredState, homelab: Homelab) -> Iterator[FlowNeed]:  # noqa: ARG001
    """The controller reads every (Cluster)SecretStore's Vault server."""
    clients = Clients(NAMESPACE, CONTROLLER_LABELS, "the External Secrets controller")
    for kind in ("ClusterSecretStore", "SecretStore"):
        for store in state.of_kind(kind, "external-secrets.io"):
            vault = ((store.doc.get("spec") or {}).get("provider") or {}).get("vault") or {}
            if vault.get("server"):
                yield need_from_url(str(vault["server"]), clients, "secrets from Vault", store)


# ---------------------------------------------------------------------------------- outcomes

CONTROLLER = "external-secrets"


def _reads_every_namespace(view: Effective) -> Iterator[Breach]:
    """The controller runs as the service account Vault's role is bound to, and reconciles the
    ClusterSecretStore and ExternalSecrets of every namespace."""
    for deployment in view.named("Deployment", CONTROLLER):
        account = pod_spec(deployment).get("serviceAccountName") or "default"
        if account != SERVICE_ACCOUNT:
            yield Breach(
                f"the controller runs as service account {account}, not {SERVICE_ACCOUNT}", deployment
            )
        for container in containers(deployment, init=False):
            words = command_line(container)
            for value in flag_values(words, "namespace"):
                if value:
                    yield Breach(f"the controller only watches namespace {value}", deployment)
            for flag in ("enable-cluster-store-reconciler",):
                for value in flag_values(words, flag):
                    if value.lower() == "false":
                        yield Breach(f"the controller runs with --{flag}=false", deployment)


def outcomes(homelab: Homelab) -> Iterator[Outcome]:  # noqa: ARG001 - a hook's signature
    """Every ExternalSecret of the homelab is filled from Vault."""
    yield Outcome(
        "External Secrets syncs every namespace's ExternalSecrets through the ClusterSecretStore, "
        f"logging in to Vault as service account {SERVICE_ACCOUNT}",
        _reads_every_namespace,
    )
    for name in (CONTROLLER, f"{CONTROLLER}-webhook", f"{CONTROLLER}-cert-controller"):
        yield runs("Deployment", name)
    yield confined()
