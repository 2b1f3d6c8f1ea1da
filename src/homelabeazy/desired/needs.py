"""The flows a service needs, as its catalog module declares them (a leaf: imports only `state`).

A service's catalog module may define any of these hooks, which `converge.flows` looks up by name:

- `flow_needs(state, homelab) -> Iterable[FlowNeed]`: the connections its pods open (read from the
  desired state where a config names the server: a URL in a ConfigMap, a custom resource's field);
- `implied_objects(state, homelab) -> Iterable[DesiredObject]`: the pods and Services an operator creates
  from the custom resources in the state (they are not in any manifest, yet policies must admit
  them);
- `certificate_names(state, homelab) -> Mapping[(namespace, service), tuple[str, ...]]`: the DNS names in the
  certificate the pods behind a Service present, so TLS clients can be checked against them;
- `runtime_labels(state, homelab) -> Iterable[(namespace, pod labels, variants)]`: labels pods give
  themselves once running, which Services may select on (see `podnet.RuntimeLabels`);
- `tls_secrets(state, homelab) -> Mapping[(namespace, secret), names]`: the DNS names of the
  certificates a controller keeps in Secrets (cert-manager); pods mounting one serve those names;
- `tls_issuers(state, homelab) -> Mapping[(namespace, secret), issuer]`: which issuer signed the
  certificate a controller keeps in a Secret (`ClusterIssuer/homelab-ca`); the Secret's `ca.crt` is
  that issuer's CA, so a client trusting it trusts exactly what that issuer signs;
- `served_hosts(state, homelab) -> Iterable[(object, host, namespace, secret)]`: host names a proxy
  answers with the certificate in a Secret (Traefik's IngressRoutes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from homelabeazy.desired.state import DesiredObject

DEFAULT_PORTS: Mapping[str, int] = {
    "http": 80,
    "https": 443,
    "ldap": 389,
    "ldaps": 636,
    "ssh": 22,
    "git": 9418,
}
"""The port a URL scheme implies when the URL names none."""


@dataclass(frozen=True)
class Clients:
    """The pods that open a flow: those of `namespace` carrying every label of `labels`."""

    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    """matchLabels; empty means every pod of the namespace."""
    what: str = ""
    """In words, for messages (`the External Secrets controller`)."""
    workload: str | None = None
    """Only the pods of this object (`Job/logging/log-retention`), when its pods carry no label."""


@dataclass(frozen=True)
class FlowNeed:
    """One connection a service needs, to a Service (by DNS name) or to an outside host."""

    clients: Clients
    host: str
    """`vault-active.vault.svc.cluster.local`, `minio.home.example.com` or an address."""
    port: int | str
    """A number, or the name of a Service port."""
    purpose: str
    declared_by: DesiredObject | None = None
    """The object whose configuration names the server (where a user looks first)."""
    protocol: str = "TCP"
    tls_verify: bool = False
    """The client verifies the server certificate against `host`."""
    trusts: tuple[tuple[str, str], ...] | None = None
    """(namespace, Secret) whose `ca.crt` the client verifies the server's certificate with; None
    when it trusts roots the state cannot show (the system's, an outside CA's)."""


def url_host_port(url: str) -> tuple[str, int]:
    """The server a URL names and the port it implies (`git@host:path` is SSH on 22)."""
    if "://" not in url and "@" in url and ":" in url:
        return url.split("@", 1)[1].split(":", 1)[0], 22
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    if parts.hostname is None or port is None:
        raise ValueError(f"'{url}' names no host and port")
    return parts.hostname, port


def need_from_url(
    url: str,
    clients: Clients,
    purpose: str,
    declared_by: DesiredObject | None = None,
    *,
    tls_verify: bool | None = None,
    trusts: tuple[tuple[str, str], ...] | None = None,
) -> FlowNeed:
    """A FlowNeed from a URL (`https://host:port/path`, `ldap://host`, `git@host:path`).

    HTTPS verifies the server's name unless told otherwise; the port defaults by scheme.
    """
    if "://" not in url and "@" in url and ":" in url:
        # scp-like git address: git@github.com:owner/repo.git goes over SSH
        return FlowNeed(clients, url.split("@", 1)[1].split(":", 1)[0], 22, purpose, declared_by)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or DEFAULT_PORTS.get(scheme)
    if parts.hostname is None or port is None:
        raise ValueError(f"'{url}' names no host and port")
    verify = scheme == "https" if tls_verify is None else tls_verify
    return FlowNeed(clients, parts.hostname, port, purpose, declared_by, tls_verify=verify, trusts=trusts)
