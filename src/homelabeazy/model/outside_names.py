"""Every name outside the cluster that some part of the homelab must reach, and who needs it.

Each catalog module declares its own (`ServiceEntry.reaches`: Velero's S3 endpoint, cert-manager's
ACME server, ArgoCD's Git repository, Alertmanager's receivers, Authelia's mail server); K3s
itself adds the S3 endpoint its servers upload etcd snapshots to. The `dns-path` check resolves
each one as its client would.
"""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.catalog import enabled_entries
from homelabeazy.model.etcd_snapshots import plan
from homelabeazy.model.service import OutsideName
from homelabeazy.model.velero_bucket import s3_endpoint


def outside_names(config: HomelabConfig) -> tuple[OutsideName, ...]:
    """The outside names of the enabled services, then the cluster's own, in that order."""
    names = [name for entry in enabled_entries(config) for name in entry.reaches]
    target = config.services.velero.target
    if plan(config).s3 is not None and target is not None:
        host, port, path = s3_endpoint(target)
        names.append(OutsideName(host, port, path, "K3s etcd snapshots (servers)", "node"))
    return tuple(names)
