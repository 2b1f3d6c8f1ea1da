"""The monitoring bundle as homelab.yaml shapes it: sizes, the switch, the secrets it reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from homelabeazy.checks import load_config
from homelabeazy.errors import ConfigError
from homelabeazy.model import Homelab
from homelabeazy.render.k8s.services.monitoring import retention_size
from tests.conftest import monitored_example_data
from tests.gitops.conftest import render_k8s
from tests.monitoring.conftest import rendered_values


def _monitoring(**settings: Any) -> dict[str, Any]:
    data = monitored_example_data()
    data["services"]["monitoring"] = {"enabled": True, **settings}
    return data


@pytest.mark.parametrize(
    ("storage", "size"), [("20Gi", "18432MiB"), ("1Ti", "943718MiB"), ("100Mi", "90MiB")]
)
def test_retention_size_keeps_a_tenth_of_the_volume_free(storage: str, size: str) -> None:
    assert retention_size(storage) == size


def test_retention_and_volume_come_from_homelab_yaml(
    homelab_from: Callable[[dict[str, Any]], Homelab],
) -> None:
    values = rendered_values(homelab_from(_monitoring(retention_days=30, storage="50Gi")))
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "30d"
    assert spec["retentionSize"] == "46080MiB"
    assert spec["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "50Gi"


def test_monitoring_can_be_turned_off(homelab_from: Callable[[dict[str, Any]], Homelab]) -> None:
    files = render_k8s(homelab_from(_monitoring(enabled=False)))
    assert not [p for p in files if "monitoring" in p]


def test_etcd_is_scraped_on_every_server(monitored_homelab: Homelab) -> None:
    etcd = rendered_values(monitored_homelab)["kubeEtcd"]
    assert etcd["endpoints"] == [str(s.ip) for s in monitored_homelab.servers]


def test_receiver_secrets_are_external_and_only_those_configured(
    homelab_from: Callable[[dict[str, Any]], Homelab],
) -> None:
    homelab = homelab_from(
        _monitoring(
            notify={"ntfy": {"topic": "lab", "token": True}, "webhook": {"url": "https://h.example.com/x"}}
        )
    )
    specs = {s.path: s for s in homelab.secrets}
    assert specs["monitoring/notify"].keys == ("ntfy_token",)
    assert specs["monitoring/notify"].generate == "external"
    assert specs["monitoring/grafana_admin"].generate == "random"
    secrets = [
        d
        for d in yaml.safe_load_all(render_k8s(homelab)["kubernetes/manifests/monitoring/secrets.yaml"])
        if d
    ]
    assert sorted(d["metadata"]["name"] for d in secrets) == ["monitoring-grafana-admin", "monitoring-notify"]


def test_a_webhook_url_with_a_query_is_refused_with_its_line() -> None:
    data = _monitoring(notify={"webhook": {"url": "https://h.example.com/x?token=abc"}})
    with pytest.raises(ConfigError) as error:
        load_config(yaml.safe_dump(data, sort_keys=False))
    assert "services.monitoring.notify.webhook.url" in str(error.value)
