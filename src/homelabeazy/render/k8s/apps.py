"""User apps: one Application each, after every core service, with a route of their own."""

from __future__ import annotations

from homelabeazy.model import App, Homelab
from homelabeazy.model.catalog.base import ChartPin
from homelabeazy.render.k8s.bundle import Bundle


def app_wave(homelab: Homelab) -> int:
    """One wave after the last core service, so SSO, certificates and secrets exist first."""
    return max((entry.wave for entry in homelab.services), default=0) + 1


def app_bundle(homelab: Homelab, app: App) -> Bundle:
    """A chart app gets its values from the model; a manifests app points at its folder in the repo."""
    chart = app.config.chart
    return Bundle(
        name=app.name,
        owner=app.name,
        namespace=app.namespace,
        wave=app_wave(homelab),
        chart=ChartPin(chart.repo, chart.name, chart.version) if chart is not None else None,
        values=app.values,
        git_path=app.config.manifests.path if app.config.manifests is not None else None,
        kind="app",
    )
