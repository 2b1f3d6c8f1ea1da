"""The derived model: `build(config) -> Homelab`."""

from homelabeazy.model.build import build
from homelabeazy.model.homelab import App, Cluster, DnsRecord, Homelab, Node, Route, Zone

__all__ = ["App", "Cluster", "DnsRecord", "Homelab", "Node", "Route", "Zone", "build"]
