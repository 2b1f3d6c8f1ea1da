"""User apps: one Application each, with a route of their own (synced after every core service)."""

from __future__ import annotations

from homelabeazy.model import App
from homelabeazy.model.service import ChartPin
from homelabeazy.render.k8s.bundle import Bundle


def app_bundle(app: App) -> Bundle:
    """A chart app gets its values from the model; a manifests app points at its folder in the repo."""
    chart = app.config.chart
    return Bundle(
        name=app.name,
        owner=app.name,
        namespace=app.namespace,
        chart=ChartPin(chart.repo, chart.name, chart.version) if chart is not None else None,
        values=app.values,
        git_path=app.config.manifests.path if app.config.manifests is not None else None,
        kind="app",
    )
