"""Vault: HA raft storage, UI behind Traefik; the store of every generated secret."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.effective import Effective, command_line, containers, env_source
from homelabeazy.desired.made import labelled_pod
from homelabeazy.desired.needs import Clients, FlowNeed, need_from_url
from homelabeazy.desired.outcomes import Breach, Outcome, confined, persists, runs
from homelabeazy.desired.selectors import as_list, as_map, dig
from homelabeazy.desired.state import DesiredObject, DesiredState, Finding
from homelabeazy.model.catalog.traps import (
    config_map_data,
    config_map_volumes,
    health_finding,
    replicas,
)
from homelabeazy.model.dr_backups import vault_snapshots_on
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.service import (
    STORAGE,
    ChartPin,
    MetricsSpec,
    OutsideName,
    OwnedValue,
    RouteSpec,
    ServiceEntry,
)
from homelabeazy.model.velero_bucket import s3_endpoint

CHART = ChartPin("https://helm.releases.hashicorp.com", "vault", "0.34.1")


OWNED_VALUES: tuple[OwnedValue, ...] = (
    OwnedValue(
        ("server", "ha", "raft", "config"),
        "`homelab secrets`, the unseal flow, the routes and NetworkPolicies rely on its listener "
        "(HTTP on 8200/8201) and raft storage",
    ),
    OwnedValue(("server", "ha", "enabled"), "the homelab runs Vault as an HA raft cluster"),
    OwnedValue(("server", "ha", "raft", "enabled"), "the homelab runs Vault as an HA raft cluster"),
    OwnedValue(
        ("server", "ha", "replicas"),
        "it has its own key",
        "set it through services.vault.replicas instead",
    ),
    OwnedValue(
        ("server", "dataStorage", "size"),
        "it has its own key",
        "set it through services.vault.storage instead",
    ),
)
"""Chart values the homelab depends on: `services.vault.values` may not set them."""


def entry(config: HomelabConfig) -> ServiceEntry:
    """Vault's own UI login is the gate; Authelia in front would break the API clients.

    It waits for Traefik: `homelab up` initialises and unseals Vault through its route, and Vault
    is not healthy (so the root app goes no further) until that has happened.
    """
    return ServiceEntry(
        name="vault",
        title="Vault",
        namespace="vault",
        chart=CHART,
        owned_values=OWNED_VALUES,
        description="Secrets store (HA raft)",
        routes=(RouteSpec(config.services.vault.host, "vault-ui", 8200, "public"),),
        depends_on=(STORAGE, "traefik"),
        health_checks=(raft_config_takes_effect,),
        creates=labelled_pods,
        metrics=(METRICS,),
        reaches=_snapshot_store(config),
    )


def _snapshot_store(config: HomelabConfig) -> tuple[OutsideName, ...]:
    """The raft snapshot CronJob uploads to Velero's S3 endpoint."""
    target = config.services.velero.target
    if target is None or not vault_snapshots_on(config):
        return ()
    host, port, path = s3_endpoint(target)
    return (OutsideName(host, port, path, "the Vault raft snapshot CronJob"),)


METRICS = MetricsSpec(
    "server",
    (("app.kubernetes.io/name", "vault"), ("vault-internal", "true")),
    "http",
    "/v1/sys/metrics",
    (("format", "prometheus"),),
)
"""Every member through the headless `vault-internal` Service (sealed or standby ones too: a sealed
member's failing scrape is what `HomelabVaultNotAnswering` sees)."""


CONFIG_KEY = "extraconfig-from-values.hcl"
"""The key of the chart's `<release>-config` ConfigMap the server starts from (JSON or HCL)."""


def _server_config(state: DesiredState, sts: DesiredObject) -> str | None:
    """The configuration text of a StatefulSet's ConfigMap volume holding the chart's key."""
    for config_map in config_map_volumes(sts).values():
        data = config_map_data(state, sts.namespace, config_map)
        if data is not None and CONFIG_KEY in data:
            return str(data[CONFIG_KEY])
    return None


def _json_object(text: str) -> Mapping[str, Any] | None:
    """The configuration as a JSON object, None when it is HCL."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, Mapping) else None


def _hcl_storage(text: str) -> list[str]:
    """The kinds of `storage "<kind>" {` blocks of an HCL configuration (comments skipped)."""
    return sorted(set(re.findall(r'(?m)^\s*storage\s+"([A-Za-z0-9_]+)"', text)))


def _missing_members(sts: DesiredObject, config: Mapping[str, Any]) -> list[str]:
    """Members (`<sts>-<i>`) whose stable address no retry_join entry names."""
    raft = as_map(as_map(config.get("storage")).get("raft"))
    joined = {
        urlsplit(str(as_map(j).get("leader_api_addr", ""))).hostname for j in raft.get("retry_join") or []
    }
    service = as_map(sts.doc.get("spec")).get("serviceName", "")
    members = [f"{sts.name}-{i}" for i in range(replicas(sts))]
    return [m for m in members if f"{m}.{service}.{sts.namespace}.svc" not in joined]


def raft_config_takes_effect(state: DesiredState) -> Iterator[Finding]:
    """The server really starts from this homelab's raft configuration, and every member joins.

    The chart wants `server.ha.raft.config` as a string (it fails on a structured value, which
    its own values schema allows) and falls back to its default Consul-backed `server.ha.config`
    when raft is off. `homelab up` initialises whichever member its route reaches, so retry_join
    must name every member for the others to join that one.
    """
    for app in (a for a in state.applications if a.owner == "vault"):
        objects = [o for o in state.objects if o.origin.application == app.name]
        servers = [o for o in objects if o.kind == "StatefulSet" and _server_config(state, o) is not None]
        if any(o.kind == "StatefulSet" and dev_mode(o) for o in objects):
            continue  # dev mode has no configuration at all: the outcome check reports it
        if objects and not servers:
            anchor = next((o for o in objects if o.kind == "StatefulSet"), objects[0])
            yield health_finding(
                anchor,
                "vault",
                "Vault's chart rendered no server configuration",
                "server.ha.raft.config must be a string (JSON or HCL), not a mapping",
            )
        for sts in servers:
            text = _server_config(state, sts) or ""
            config = _json_object(text)
            storage = sorted(as_map(config.get("storage"))) if config is not None else _hcl_storage(text)
            if "raft" not in storage:
                yield health_finding(
                    sts,
                    "vault",
                    f"the server would start with storage {', '.join(storage) or 'none'}, not raft",
                    "enable server.ha.raft and give its config",
                )
                continue
            if config is None:
                continue  # HCL: the storage kind is all this check reads of it
            missing = _missing_members(sts, config)
            if missing:
                yield health_finding(
                    sts,
                    "vault",
                    f"raft retry_join does not name {', '.join(missing)}: if Vault is initialised there, "
                    "the other members cannot join it",
                    "list every member's <pod>.<headless service>.<namespace>.svc in retry_join",
                )


SERVER_LABELS = {"app.kubernetes.io/name": "vault", "component": "server"}
"""The chart's server pods."""
_KUBERNETES_REGISTRATION = re.compile(r'service_registration"?\s*[:=]?\s*\{?\s*"kubernetes"')
_REGISTERED = {"vault-initialized": "true", "vault-sealed": "false"}
ROLES = {
    "active": {**_REGISTERED, "vault-active": "true"},
    "standby": {**_REGISTERED, "vault-active": "false"},
}
"""The labels a registered server gives its own pod once unsealed: `vault-active` is `true` on the
leader and `false` on the standbys. The chart's `vault-active` and `vault-standby` Services select
on it, so without the registration they select nothing."""


def registering_servers(state: DesiredState) -> Iterator[DesiredObject]:
    """Server StatefulSets in a namespace whose Vault configuration (a ConfigMap) enables Kubernetes
    service registration, as ours does: the one derivation behind both the reference check's pods
    and the flow check's labels."""
    registering = {
        cm.namespace
        for cm in state.of_kind("ConfigMap", "")
        if any(_KUBERNETES_REGISTRATION.search(str(t)) for t in as_map(cm.doc.get("data")).values())
    }
    for sts in state.of_kind("StatefulSet", "apps"):
        if sts.namespace in registering:
            yield sts


def labelled_pods(state: DesiredState) -> Iterator[DesiredObject]:
    """Each registering server's pod once in each role (`ROLES`), for the reference check."""
    for server in registering_servers(state):
        for role, labels in ROLES.items():
            yield labelled_pod(server, role, labels)


def runtime_labels(
    state: DesiredState,
    homelab: Homelab,  # noqa: ARG001 - a hook's signature
) -> Iterator[tuple[str, Mapping[str, str], tuple[Mapping[str, str], ...]]]:
    """The same roles for the flow check: the labels each registering server's pods give themselves."""
    for server in registering_servers(state):
        yield server.namespace or "", SERVER_LABELS, tuple(ROLES.values())


# ---------------------------------------------------------------------------- scheduled snapshots

SNAPSHOT_NAME = "vault-snapshot"
"""The CronJob, its service account, and the Vault Kubernetes-auth role and policy consumer it logs in as."""
SNAPSHOT_LABELS = {"app.kubernetes.io/name": SNAPSHOT_NAME}
"""The snapshot pods' labels (their NetworkPolicy and the flow check select on them)."""
SNAPSHOT_POLICY = 'path "sys/storage/raft/snapshot" {\n  capabilities = ["read"]\n}\n'
"""All the snapshot job may do: read a raft snapshot. No secret data path, no restore (that is
`update` on snapshot-force), nothing else."""
ACTIVE_ADDRESS = "http://vault-active.vault.svc:8200"
"""The leader, through the chart's `vault-active` Service: only the active node serves snapshots."""


def snapshots_enabled(config: HomelabConfig) -> bool:
    """Snapshots go to Velero's bucket beside its store: the one decision of model/dr_backups."""
    return vault_snapshots_on(config)


def _env(container: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(e.get("name")): str(e.get("value", "")) for e in as_list(container.get("env")) if "value" in e
    }


def flow_needs(state: DesiredState, homelab: Homelab) -> Iterator[FlowNeed]:
    """The snapshot CronJob reads Vault's leader and writes to the bucket (both named in its env)."""
    namespace = entry(homelab.config).namespace
    clients = Clients(namespace, SNAPSHOT_LABELS, "the Vault snapshot CronJob")
    for job in state.of_kind("CronJob", "batch"):
        pod = as_map(dig(job.doc, "spec", "jobTemplate", "spec", "template"))
        labels = as_map(dig(pod, "metadata", "labels"))
        if job.namespace != namespace or any(labels.get(k) != v for k, v in SNAPSHOT_LABELS.items()):
            continue
        spec = as_map(pod.get("spec"))
        for container in (
            as_map(c) for c in [*as_list(spec.get("initContainers")), *as_list(spec.get("containers"))]
        ):
            env = _env(container)
            if env.get("VAULT_ADDR"):
                yield need_from_url(env["VAULT_ADDR"], clients, "raft snapshots from Vault", job)
            if "S3_BUCKET" in env:
                url = (
                    env.get("S3_ENDPOINT")
                    or f"https://s3.{env.get('AWS_DEFAULT_REGION', 'us-east-1')}.amazonaws.com"
                )
                yield need_from_url(url, clients, "raft snapshots to S3", job)


# ---------------------------------------------------------------------------------- outcomes

SERVER = "vault"
"""The chart's server StatefulSet and its container."""
CONFIG_FILE = "/tmp/storageconfig.hcl"  # noqa: S108 - the path inside the pod the chart's script writes
"""Where the chart's start script copies our configuration; the server must read it and nothing else."""
DEV_FLAGS = re.compile(r"^-{1,2}(dev|recovery)([-=]|$)")
"""`vault server` flags that replace the sealed, raft-backed server: dev mode (in memory, unsealed,
a known root token) and recovery mode."""
DEV_ENV = ("VAULT_DEV_ROOT_TOKEN_ID", "VAULT_DEV_LISTEN_ADDRESS")
"""Environment variables of dev mode (the chart sets them with `server.dev.enabled`)."""
SEAL_ENV = ("VAULT_SEAL_TYPE",)
"""Environment variables that choose an auto-unseal seal: `homelab secrets init/unseal` rely on
Shamir keys."""
_SEAL_STANZA = re.compile(r'(?m)^\s*"?seal"?\s*[:={"]')


def server_words(sts: DesiredObject) -> list[str]:
    """The words of the server container's command line (the chart's `sh -ec` script included)."""
    for container in containers(sts):
        if container.get("name") == SERVER:
            return [w for part in command_line(container) for w in re.split(r"[\s;]+", part) if w]
    return []


def dev_mode(sts: DesiredObject) -> bool:
    """Whether the server container starts Vault in dev or recovery mode."""
    return any(DEV_FLAGS.match(word) for word in server_words(sts))


def _server_runs_our_configuration(view: Effective) -> Iterator[Breach]:
    for sts in view.named("StatefulSet", SERVER):
        words = server_words(sts)
        if "server" not in words:
            yield Breach("the vault container does not run `vault server`", sts)
            continue
        for word in words:
            if DEV_FLAGS.match(word):
                yield Breach(f"vault server is started with {word}", sts)
        configs = [w for w in words if w.startswith(("-config", "--config"))]
        if configs != [f"-config={CONFIG_FILE}"]:
            yield Breach(
                f"vault server reads {', '.join(configs) or 'no -config'}, not only {CONFIG_FILE}", sts
            )
    yield from _env_set(view, DEV_ENV)


def _env_set(view: Effective, variables: tuple[str, ...]) -> Iterator[Breach]:
    for sts in view.named("StatefulSet", SERVER):
        for container in containers(sts):
            for var in variables:
                source = env_source(view, sts, container, var)
                if source.kind != "unset":
                    yield Breach(
                        f"{var} is set in container {container.get('name')} (from {source.words()})", sts
                    )


def _shamir_seal(view: Effective) -> Iterator[Breach]:
    yield from _env_set(view, SEAL_ENV)
    for config_map in view.named("ConfigMap", f"{SERVER}-config"):
        text = str(as_map(config_map.doc.get("data")).get(CONFIG_KEY, ""))
        if _SEAL_STANZA.search(text):
            yield Breach("the server configuration has a seal stanza", config_map)


def outcomes(homelab: Homelab) -> Iterator[Outcome]:
    """Vault is the sealed, raft-backed store `homelab secrets` initialises and unseals."""
    yield Outcome(
        f"Vault runs `vault server` from the homelab's configuration ({CONFIG_FILE}) alone, never in dev "
        "or recovery mode (in memory, unsealed, with a known root token)",
        _server_runs_our_configuration,
    )
    yield Outcome(
        "Vault is sealed by Shamir keys, which `homelab secrets init` creates and "
        "`homelab secrets unseal` uses",
        _shamir_seal,
    )
    yield runs("StatefulSet", SERVER, homelab.config.services.vault.replicas, what="the Vault raft cluster")
    yield persists("StatefulSet", SERVER, "/vault/data", what="Vault's raft storage")
    yield confined()
