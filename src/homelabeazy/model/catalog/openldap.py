"""OpenLDAP: the user directory Authelia authenticates against."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.desired.effective import Effective, env_source, env_text
from homelabeazy.desired.effective import containers as workload_containers
from homelabeazy.desired.needs import Clients, FlowNeed, need_from_url
from homelabeazy.desired.outcomes import Breach, Outcome, confined, env_from_secret, persists, runs
from homelabeazy.desired.selectors import as_list, as_map, dig
from homelabeazy.desired.state import DesiredObject, DesiredState, Finding
from homelabeazy.model.catalog.traps import containers, env_value, health_finding, mounted_secret, replicas
from homelabeazy.model.dr_backups import ldap_exports_on
from homelabeazy.model.homelab import Homelab
from homelabeazy.model.service import (
    STORAGE,
    ChartPin,
    ImageValue,
    OutsideName,
    OwnedValue,
    SecretSpec,
    ServiceEntry,
    secret_name,
)
from homelabeazy.model.velero_bucket import s3_endpoint

CHART = ChartPin("https://jp-gouin.github.io/helm-openldap", "openldap-stack-ha", "4.3.3")
NAMESPACE = "openldap"
ADMIN_PATH = "openldap/admin"
"""The Vault path of the directory's admin passwords."""


OWNED_VALUES: tuple[OwnedValue, ...] = (
    OwnedValue(
        ("fullnameOverride",), "Authelia and `homelab users` reach the directory at Service `openldap`"
    ),
    OwnedValue(("global", "ldapDomain"), "Authelia's and `homelab users`' base DN is derived from `domain`"),
    OwnedValue(
        ("global", "existingSecret"), "the admin password is the one kept in Vault (`openldap-admin`)"
    ),
    OwnedValue(
        ("customLdifFiles",), "Authelia and `homelab users` use the ou=people/groups/services tree it creates"
    ),
    OwnedValue(
        ("initTLSSecret", "tls_enabled"),
        "the directory serves the certificate cert-manager issues for its Service, which Authelia verifies",
    ),
    OwnedValue(
        ("initTLSSecret", "secret"),
        "the directory serves the certificate cert-manager issues for its Service, which Authelia verifies",
    ),
    OwnedValue(
        ("persistence", "size"),
        "it has its own key",
        "set it through services.openldap.storage instead",
    ),
)
"""Chart values the homelab depends on: `services.openldap.values` may not set them."""
IMAGE_VALUES = (
    ImageValue("openldap-stack-ha", ("image",)),
    ImageValue("init-schema", ("initSchema", "image")),
    ImageValue("init-tls-secret", ("initTLSSecret", "image")),
)
"""The chart's containers and the values key of each one's image (the init images are pinned by
the renderer: the chart defaults them to `latest`)."""


def entry(config: HomelabConfig) -> ServiceEntry:
    """No web route: only Authelia, the export and `homelab users` talk LDAP (over TLS)."""
    return ServiceEntry(
        name="openldap",
        title="OpenLDAP",
        namespace=NAMESPACE,
        chart=CHART,
        owned_values=OWNED_VALUES,
        image_values=IMAGE_VALUES,
        description="User and group directory",
        secrets=(
            SecretSpec(ADMIN_PATH, ("password", "config_password"), "openldap", "directory admin passwords"),
        ),
        # cert-manager: the server certificate must be issued before the pod can start.
        depends_on=(STORAGE, "cert_manager"),
        health_checks=(replication_follows_replicas, export_reads_over_tls),
        reaches=_export_store(config),
    )


def _export_store(config: HomelabConfig) -> tuple[OutsideName, ...]:
    """The LDIF export CronJob uploads to Velero's S3 endpoint."""
    target = config.services.velero.target
    if target is None or not ldap_exports_on(config):
        return ()
    host, port, path = s3_endpoint(target)
    return (OutsideName(host, port, path, "the LDAP export CronJob"),)


REPLICAS = 1
"""Directory pods. One: Authelia's reads are light and Velero backs the volume up."""
REPLICATION_SCHEMAS = ("syncprov", "rep")
"""Schema files the chart loads only with `replication.enabled` (multi-master sync): a single
server configured so keeps retrying a sync with itself."""


def replication_enabled(count: int) -> bool:
    """Multi-master replication needs a second server to sync with."""
    return count > 1


SCHEMAS_ENV = "LDAP_EXTRA_SCHEMAS"
"""The env var the chart lists its schema files in: how its StatefulSet is told apart, and where
replication shows (its schemas are loaded only with `replication.enabled`)."""


def replication_follows_replicas(state: DesiredState) -> Iterator[Finding]:
    """Multi-master replication exactly when there is more than one server.

    On one server the chart's replication makes it sync with itself forever; on several servers
    without it each holds its own directory and the Service answers from any of them.
    """
    for sts in state.of_kind("StatefulSet", "apps"):
        for container in containers(sts):
            schemas = env_value(container, SCHEMAS_ENV)
            if schemas is None:
                continue
            loaded = sorted(set(schemas.split(",")) & set(REPLICATION_SCHEMAS))
            count = replicas(sts)
            if loaded and not replication_enabled(count):
                yield health_finding(
                    sts,
                    "openldap",
                    f"replication is on ({SCHEMAS_ENV} loads {', '.join(loaded)}) with {count} replica: "
                    "the server keeps trying to sync with itself",
                    "set replication.enabled: false for a single server",
                )
            elif not loaded and replication_enabled(count):
                yield health_finding(
                    sts,
                    "openldap",
                    f"{count} replicas without replication: each holds a directory of its own",
                    "set replication.enabled: true",
                )


EXPORT_NAME = "ldap-export"
"""The scheduled LDIF export (a CronJob in the directory's namespace)."""
EXPORT_LABELS: Mapping[str, str] = {
    "app.kubernetes.io/name": EXPORT_NAME,
    "app.kubernetes.io/part-of": "openldap",
}
"""Its pods' labels: what its own egress policy selects (nothing the chart's Service selects)."""
EXPORT_TRAILER = "# homelab users export: {count} entries"
"""The last line of every export, written by the CronJob and by `homelab users export`, checked by
`homelab users import`: an LDIF cut short at an entry boundary is still valid LDIF."""
EXPORT_LDAP_URL_ENV = "LDAP_URL"
EXPORT_CA_ENV = "LDAPTLS_CACERT"
EXPORT_REQCERT_ENV = "LDAPTLS_REQCERT"
EXPORT_REQCERT = "demand"
"""libldap's client settings (ldap.conf(5)): the CA file, and that a certificate it cannot verify
for the URL's host ends the connection."""
EXPORT_S3_ENDPOINT_ENV = "AWS_ENDPOINT_URL"
"""The bucket endpoint the AWS CLI uses (absent: AWS itself)."""


def _export_pod(job: DesiredObject) -> Mapping[str, Any]:
    return as_map(dig(job.doc, "spec", "jobTemplate", "spec", "template", "spec"))


def _export_containers(job: DesiredObject) -> list[Mapping[str, Any]]:
    spec = _export_pod(job)
    found = [*as_list(spec.get("initContainers")), *as_list(spec.get("containers"))]
    return [c for c in found if isinstance(c, Mapping)]


def _exports(state: DesiredState) -> Iterator[DesiredObject]:
    for job in state.of_kind("CronJob", "batch"):
        if job.namespace == NAMESPACE and job.name == EXPORT_NAME:
            yield job


def _verifies(container: Mapping[str, Any]) -> bool:
    """libldap is told to end the connection on a certificate it cannot verify for the URL's host.

    Said explicitly: its default is `demand`, but an image's own ldap.conf may say otherwise.
    """
    return (env_value(container, EXPORT_REQCERT_ENV) or "").lower() in ("demand", "hard")


def flow_needs(state: DesiredState, homelab: Homelab) -> Iterator[FlowNeed]:
    """The export reads the directory at the URL its export container names (verifying it with the
    CA file LDAPTLS_CACERT names) and writes to the bucket endpoint its upload container names
    (AWS itself when none)."""
    del homelab
    for job in _exports(state):
        clients = Clients(NAMESPACE, EXPORT_LABELS, f"the directory export {job.ident}", workload=job.ident)
        for container in _export_containers(job):
            url = env_value(container, EXPORT_LDAP_URL_ENV)
            if url:
                ca_file = env_value(container, EXPORT_CA_ENV)
                secret = mounted_secret(_export_pod(job), container, ca_file) if ca_file else None
                trusts = ((NAMESPACE, secret),) if secret else ()
                yield need_from_url(
                    url,
                    clients,
                    "LDIF export of the directory",
                    job,
                    tls_verify=_verifies(container),
                    trusts=trusts,
                )
            region = env_value(container, "AWS_DEFAULT_REGION")
            if region is not None:
                endpoint = (
                    env_value(container, EXPORT_S3_ENDPOINT_ENV) or f"https://s3.{region}.amazonaws.com"
                )
                yield need_from_url(endpoint, clients, "upload of the export to S3", job)


STARTTLS_FLAG = "-ZZ"
"""ldapsearch's "StartTLS, and fail if it cannot" (`-Z` alone goes on in clear)."""


def export_reads_over_tls(state: DesiredState) -> Iterator[Finding]:
    """The export binds as the directory admin and reads every password hash: StartTLS (or
    ldaps://) with the certificate verified, never in clear."""
    for job in _exports(state):
        for container in _export_containers(job):
            url = env_value(container, EXPORT_LDAP_URL_ENV)
            if not url:
                continue
            script = " ".join(str(part) for part in as_list(container.get("command")))
            if not url.lower().startswith("ldaps://") and STARTTLS_FLAG not in script.split():
                yield health_finding(
                    job,
                    "openldap",
                    f"the directory export reads {url} without StartTLS: the admin password and every "
                    "password hash cross the cluster network in clear",
                    f"run ldapsearch with {STARTTLS_FLAG}",
                )
            elif not _verifies(container):
                yield health_finding(
                    job,
                    "openldap",
                    f"the directory export does not verify the certificate of {url}",
                    f"set {EXPORT_REQCERT_ENV}={EXPORT_REQCERT} and {EXPORT_CA_ENV} to the directory's CA",
                )


# ---------------------------------------------------------------------------------- outcomes

SERVER = "openldap"
"""The chart's StatefulSet (its `fullnameOverride`) and the Service Authelia and `homelab users` reach."""
LDIF_VOLUME = "cm-custom-ldif-files"
"""The chart's volume of the custom LDIF files its init container copies into the directory."""


def _admin_is_the_layouts(homelab: Homelab) -> Callable[[Effective], Iterator[Breach]]:
    """The directory's admin is `cn=admin` under the base DN of the domain (the image takes both
    from its environment): `homelab users` and the export bind as it."""

    def test(view: Effective) -> Iterator[Breach]:
        expected = {"LDAP_ROOT": homelab.ldap.base_dn, "LDAP_ADMIN_USERNAME": ADMIN_USER}
        for sts in view.named("StatefulSet", SERVER):
            for container in workload_containers(sts, init=False):
                for var, wanted in expected.items():
                    source = env_source(view, sts, container, var)
                    have = env_text(view, sts, container, var)
                    if source.kind == "unset" and var == "LDAP_ADMIN_USERNAME":
                        continue  # the image's default is `admin`
                    if have != wanted:
                        shown = have if have is not None else source.words()
                        yield Breach(
                            f"{var} of container {container.get('name')} is {shown}, not {wanted}", sts
                        )

    return test


ADMIN_USER = "admin"
"""The image's default admin name, which the layout's admin DN (`cn=admin,<base>`) assumes."""


def _image_sets_it_up(view: Effective) -> Iterator[Breach]:
    """The image's own entrypoint starts slapd: it is what turns the environment (the admin
    passwords, the base DN) and the LDIF files into the directory; a command or arguments of the
    chart's values replace it."""
    for sts in view.named("StatefulSet", SERVER):
        for container in workload_containers(sts, init=False):
            for field in ("command", "args"):
                if as_list(container.get(field)):
                    shown = " ".join(str(a) for a in as_list(container.get(field)))
                    yield Breach(f"container {container.get('name')} runs {field} {shown}", sts)


def _structure_is_ours(homelab: Homelab) -> Callable[[Effective], Iterator[Breach]]:
    """The LDIF the init container loads creates the base entry and the three organisational units."""
    needed = [homelab.ldap.base_dn, homelab.ldap.people_dn, homelab.ldap.groups_dn, homelab.ldap.services_dn]

    def test(view: Effective) -> Iterator[Breach]:
        for sts in view.named("StatefulSet", SERVER):
            template = as_list(dig(sts.doc, "spec", "template", "spec", "volumes"))
            volumes = {str(as_map(v).get("name")): as_map(v) for v in template}
            name = dig(volumes.get(LDIF_VOLUME, {}), "configMap", "name")
            found = (
                [o for o in view.named("ConfigMap", str(name)) if o.namespace == sts.namespace]
                if name
                else []
            )
            if not found:
                yield Breach(f"{sts.kind} {sts.name} loads no custom LDIF ConfigMap", sts)
                continue
            text = "\n".join(str(v) for v in as_map(found[0].doc.get("data")).values())
            missing = [dn for dn in needed if f"dn: {dn}\n" not in text]
            if missing:
                yield Breach(f"ConfigMap {found[0].name} creates no {', '.join(missing)}", found[0])

    return test


def outcomes(homelab: Homelab) -> Iterator[Outcome]:
    """The directory Authelia and `homelab users` rely on: its admin, its tree, its data."""
    admin = secret_name(next(s for s in entry(homelab.config).secrets if s.path == ADMIN_PATH))
    yield env_from_secret(
        "StatefulSet",
        SERVER,
        ("LDAP_ADMIN_PASSWORD", "LDAP_CONFIG_ADMIN_PASSWORD"),
        admin,
        what="the directory's admin passwords (never the chart's public defaults)",
    )
    yield Outcome(
        f"the directory's base DN is {homelab.ldap.base_dn} and its admin {homelab.ldap.admin_dn}, "
        "which Authelia, `homelab users` and the export bind with",
        _admin_is_the_layouts(homelab),
    )
    yield Outcome(
        "the image's entrypoint sets the directory up from that environment and the LDIF files",
        _image_sets_it_up,
    )
    yield Outcome(
        "the directory starts with the people, groups and services units Authelia searches",
        _structure_is_ours(homelab),
    )
    yield runs("StatefulSet", SERVER, REPLICAS, what="the directory")
    yield persists("StatefulSet", SERVER, "/bitnami/openldap", what="the directory")
    yield confined()
