"""What the model knows of one service: chart pin, namespace, routes, secrets, what it depends on
and provides, what its nodes' operating system must have, and the health traps it is known for
(`ServiceEntry` and its parts).

Each service's catalog module (model/catalog/) fills one in; the Homelab holds the enabled ones.
Adding a service is one catalog module plus one line in the catalog's registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from homelabeazy.desired.state import DesiredObject, DesiredState, HealthCheck

STORAGE = "longhorn"
"""The service providing the default StorageClass when enabled: stateful services wait for it, so
their volumes are replicated from the start."""

COMPANION_PARTS = ("routes", "issuers", "monitors", "backups")
"""Parts of a service it runs without (its routes, cert-manager's ACME issuer, the ServiceMonitors
Prometheus scrapes it by, the CronJobs backing its data up with keys from External Secrets): when they
need a service that syncs later, they sync in a companion Application `<service>-<part>`."""

Access = Literal["public", "one_factor", "two_factor", "group"]

CreatedObjects = Callable[[DesiredState], Iterable[DesiredObject]]
"""What a service's operator creates in the cluster from the desired state (ECK makes a Secret and a
Service per Elasticsearch, say): objects no manifest holds, that others may still reference."""


@dataclass(frozen=True)
class ChartPin:
    """A Helm chart pinned to an exact version."""

    repo: str
    name: str
    version: str
    schema_refs: tuple[tuple[str, str], ...] = ()
    """(URL, file in homelabeazy/converge/data) for each document the chart's values.schema.json
    `$ref`s by URL. Helm would fetch them (and fail offline), so `validate --deep` renders such a
    chart with `--skip-schema-validation` and checks its values against the shipped copies."""


@dataclass(frozen=True)
class RouteSpec:
    """A host the service exposes through Traefik."""

    host: str
    backend: str
    port: int
    access: Access
    groups: tuple[str, ...] = ()
    field: str = "host"
    """The key under `services.<name>` the host was written at (errors point there)."""


@dataclass(frozen=True)
class SecretSpec:
    """A secret the service reads, stored in Vault at `<kv_mount>/<path>`.

    `generate` secrets are created by `homelab secrets seed` with strong randomness; `external`
    ones (cloud credentials) must be provided by the user and are only checked for presence.
    """

    path: str
    keys: tuple[str, ...]
    consumer: str
    description: str
    generate: Literal["random", "external"] = "random"


def secret_name(spec: SecretSpec) -> str:
    """The Kubernetes Secret an ExternalSecret makes from a Vault path: `authelia/keys` -> `authelia-keys`.

    The one derivation: the renderers name the ExternalSecret's target with it, and the catalog's
    outcomes name the Secret a workload must read with it."""
    return spec.path.replace("/", "-").replace("_", "-")


@dataclass(frozen=True)
class MetricsSpec:
    """A metrics endpoint of the service's chart, which Prometheus scrapes through a ServiceMonitor
    (rendered when monitoring is on, with the NetworkPolicy letting Prometheus in)."""

    name: str
    """ServiceMonitor name (`<service>-<name>` if the service has several)."""
    service_labels: tuple[tuple[str, str], ...]
    """Labels of the chart's metrics Service (the ServiceMonitor selects on them)."""
    port: str
    """Name of that Service's metrics port."""
    path: str = "/metrics"
    params: tuple[tuple[str, str], ...] = ()
    """Query parameters of the scrape (Vault's `format=prometheus`)."""


@dataclass(frozen=True)
class OutsideName:
    """A name outside the cluster a component opens connections to, and where homelab.yaml says it.

    The `dns-path` check resolves each one the way its client would (a pod through CoreDNS and
    every `network.dns_servers` entry, a node through the first), so a name that would be NXDOMAIN
    is reported on the line that wrote it.
    """

    host: str
    """A DNS name or an IPv4 address."""
    port: int
    path: tuple[str | int, ...]
    """The homelab.yaml field the name comes from (`services.velero.target.s3_url`)."""
    who: str
    """The component, for messages (`Velero`, `the Vault snapshot CronJob`)."""
    client: Literal["pod", "node"] = "pod"
    """A pod resolves through CoreDNS; a node (K3s itself) through its own resolv.conf."""


@dataclass(frozen=True)
class OwnedValue:
    """A chart value the homelab renders and depends on: `services.<name>.values` must not set it.

    `path` is a key path into the chart's values; setting that key (to anything, an empty mapping
    or `null` included), anything below it, or replacing a mapping above it with a non-mapping is
    a conflict `homelab validate` reports. That is the fast path; what the homelab relies on in
    the rendered objects, whichever key of the chart changes it, is each catalog module's
    `outcomes` (desired.outcomes), which `validate --deep` checks.
    """

    path: tuple[str, ...]
    why: str
    """What depends on it, completing "... because <why>"."""
    fix: str = "remove it"
    """What to do instead, e.g. `set it through services.traefik.replicas instead`."""


@dataclass(frozen=True)
class HostNeeds:
    """What a service needs from every K3s node's operating system, which no chart can install.

    Longhorn's pods call the host's `iscsiadm` and `mount.nfs`: without open-iscsi and a running
    iscsid its volumes never attach, however healthy the chart is. The node role installs exactly the
    union of the enabled services' needs (model/node_setup.py computes it, the renderer writes it into
    group_vars as data) and `validate --deep` refuses an enabled service whose needs the rendered
    variables do not cover.
    """

    packages: tuple[str, ...] = ()
    """Distribution packages (Debian/Ubuntu names: the node role supports only those)."""
    services: tuple[str, ...] = ()
    """systemd units enabled at boot and started (`iscsid.service`)."""
    kernel_modules: tuple[str, ...] = ()
    """Modules loaded now and at every boot (/etc/modules-load.d)."""
    sysctls: tuple[tuple[str, str], ...] = ()
    """(key, value) kernel settings written to /etc/sysctl.d and applied."""

    def items(self) -> tuple[tuple[str, str], ...]:
        """Every need as (kind, what): `("package", "open-iscsi")`, `("sysctl", "vm.x=1")`."""
        return (
            *(("package", p) for p in self.packages),
            *(("service", s) for s in self.services),
            *(("kernel module", m) for m in self.kernel_modules),
            *(("sysctl", f"{k}={v}") for k, v in self.sysctls),
        )

    def __bool__(self) -> bool:
        return bool(self.items())

    def union(self, other: HostNeeds) -> HostNeeds:
        """Both services' needs, each list sorted and without repeats.

        Two services wanting one sysctl at different values cannot both be satisfied: that is a
        catalog bug (no user input reaches these values), so it raises instead of picking one.
        """
        sysctls = dict(self.sysctls)
        for key, value in other.sysctls:
            if sysctls.setdefault(key, value) != value:
                raise ValueError(f"sysctl {key} is needed as both {sysctls[key]} and {value}")
        return HostNeeds(
            packages=tuple(sorted({*self.packages, *other.packages})),
            services=tuple(sorted({*self.services, *other.services})),
            kernel_modules=tuple(sorted({*self.kernel_modules, *other.kernel_modules})),
            sysctls=tuple(sorted(sysctls.items())),
        )


@dataclass(frozen=True)
class ImageValue:
    """Where the service's chart takes one container's image from: its values key (the mapping
    holding `repository` and `tag`), so a finding about that image names the line to change."""

    container: str
    path: tuple[str, ...]


@dataclass(frozen=True)
class ServiceEntry:
    """A resolved core service, as the model and every renderer see it."""

    name: str
    title: str
    namespace: str
    chart: ChartPin | None
    description: str
    routes: tuple[RouteSpec, ...] = ()
    secrets: tuple[SecretSpec, ...] = ()
    depends_on: tuple[str, ...] = field(default=())
    """Services that must be up before this one syncs (its sync wave is derived from these and
    from the CRDs its manifests use; a disabled one is simply not waited for)."""
    crd_groups: tuple[str, ...] = ()
    """API groups whose CRDs its chart installs, as far as this homelab's manifests use them."""
    health_checks: tuple[HealthCheck, ...] = ()
    """Known traps of this service, checked on the desired cluster state (`validate --deep`)."""
    creates: CreatedObjects | None = None
    """Objects its operator creates at run time, for the convergence proof's reference check."""
    metrics: tuple[MetricsSpec, ...] = ()
    """Metrics endpoints its chart serves (the service's renderer turns them on in the values)."""
    owned_values: tuple[OwnedValue, ...] = ()
    """Chart values the homelab depends on, which `services.<name>.values` may not override."""
    host_needs: HostNeeds = HostNeeds()
    """What every node's operating system must have for it to work (packages, units, modules)."""
    k3s_disable: tuple[str, ...] = ()
    """K3s packaged components it replaces (`local-storage`): K3s must not deploy them, so they go
    into the servers' `disable` list."""
    image_values: tuple[ImageValue, ...] = ()
    """The values keys of the images its chart runs, for containers whose key is not obvious."""
    reaches: tuple[OutsideName, ...] = ()
    """Names outside the cluster its pods connect to (an S3 endpoint, the ACME server, SMTP)."""
