"""ServiceMonitors for the metrics endpoints the catalog declares, when monitoring is on.

They live in each service's own bundle (stem `monitors`), so they go where the service goes; as
their CRD comes with monitoring, a service that syncs before monitoring has them moved to a
companion Application `<service>-monitors` synced after both (render/k8s/waves.py).
"""

from __future__ import annotations

from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.model.service import MetricsSpec, ServiceEntry
from homelabeazy.render.k8s.objects import Manifest, dashed, meta, obj

MONITORING = "monitoring"
SCRAPE_INTERVAL = "30s"


def monitoring_namespace(homelab: Homelab) -> str | None:
    """The namespace Prometheus runs in, None when monitoring is off."""
    entry = homelab.service(MONITORING)
    return entry.namespace if entry is not None else None


def scraped_namespaces(homelab: Homelab) -> list[str]:
    """Namespaces of the services whose metrics Prometheus scrapes (its own aside)."""
    own = monitoring_namespace(homelab)
    return sorted({e.namespace for e in homelab.services if e.metrics and e.namespace != own})


def _endpoint(spec: MetricsSpec) -> dict[str, Any]:
    endpoint: dict[str, Any] = {"port": spec.port, "path": spec.path, "interval": SCRAPE_INTERVAL}
    if spec.params:
        endpoint["params"] = {key: [value] for key, value in spec.params}
    return endpoint


def service_monitors(homelab: Homelab, entry: ServiceEntry) -> list[Manifest]:
    """One ServiceMonitor per metrics endpoint of `entry` (none when monitoring is off)."""
    if monitoring_namespace(homelab) is None:
        return []
    base = dashed(entry.name)
    return [
        obj(
            "monitoring.coreos.com/v1",
            "ServiceMonitor",
            meta(base if len(entry.metrics) == 1 else f"{base}-{spec.name}", entry.namespace),
            spec={
                "selector": {"matchLabels": dict(spec.service_labels)},
                "endpoints": [_endpoint(spec)],
            },
        )
        for spec in entry.metrics
    ]
