"""Authelia's notifier: the filesystem by default, SMTP when configured, its password only in Vault."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from homelabeazy.converge.schema import authelia_problems
from homelabeazy.errors import ConfigError
from homelabeazy.model import Homelab
from homelabeazy.model.secrets_plan import consumer_policies, plan_seed
from homelabeazy.render import render_all
from homelabeazy.render.k8s.services.authelia import CONFIG_KEY, CONFIG_MAP
from tests.gitops.conftest import example_data, render_k8s
from tests.support.chart_cache import shared_dir
from tests.support.integration import need_binary, require_tool

PASSWORD_ENV = "AUTHELIA_NOTIFIER_SMTP_PASSWORD_FILE"
SMTP = {
    "host": "smtp.example.com",
    "sender": "auth@example.com",
    "username": "auth@example.com",
}


def _with_smtp(homelab_from: Callable[[dict[str, Any]], Homelab], **smtp: Any) -> Homelab:
    data = example_data()
    data["services"]["authelia"]["smtp"] = smtp
    return homelab_from(data)


def _docs(files: dict[str, str], path: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(files[path]) if d]


def _configuration(files: dict[str, str]) -> dict[str, Any]:
    (config_map,) = _docs(files, "kubernetes/manifests/authelia/configuration.yaml")
    return yaml.safe_load(config_map["data"]["configuration.yaml"])


def test_default_is_the_filesystem_notifier(example_homelab: Homelab) -> None:
    files = render_k8s(example_homelab)
    assert _configuration(files)["notifier"] == {"filesystem": {"filename": "/config/notification.txt"}}
    values = _docs(files, "kubernetes/values/authelia.yaml")[0]
    assert PASSWORD_ENV not in {e["name"] for e in values["pod"]["env"]}
    assert all(s.path != "authelia/smtp" for s in example_homelab.secrets)


def test_smtp_with_login_mails_codes_and_reads_the_password_from_vault(homelab_from) -> None:
    homelab = _with_smtp(homelab_from, **SMTP)
    files = render_k8s(homelab)
    assert _configuration(files)["notifier"] == {
        "smtp": {
            "address": "submission://smtp.example.com:587",
            "sender": "auth@example.com",
            "identifier": "auth.home.example.com",
            "tls": {"skip_verify": False, "minimum_version": "TLS1.2"},
            "username": "auth@example.com",
        }
    }
    spec = next(s for s in homelab.secrets if s.path == "authelia/smtp")
    assert (spec.keys, spec.generate, spec.consumer) == (("password",), "external", "authelia")
    # the seeding plan asks the user for it rather than inventing one
    plan = plan_seed(homelab.secrets, {})
    assert ("authelia/smtp", ("password",)) in plan.missing_external
    assert all(a.path != "authelia/smtp" for a in plan.generate)
    # ... and Authelia's Vault policy lets External Secrets read it for Authelia
    assert 'path "homelab/data/authelia/smtp"' in consumer_policies(homelab)["homelab-authelia"]
    synced = [
        d for d in _docs(files, "kubernetes/manifests/authelia/secrets.yaml") if d["kind"] == "ExternalSecret"
    ]
    smtp_secret = next(d for d in synced if d["metadata"]["name"] == "authelia-smtp")
    assert smtp_secret["spec"]["data"][0]["remoteRef"]["key"] == "authelia/smtp"
    values = _docs(files, "kubernetes/values/authelia.yaml")[0]
    env = {e["name"]: e["value"] for e in values["pod"]["env"]}
    assert env[PASSWORD_ENV] == "/homelab-secrets/authelia-smtp/password"
    assert {"name": "authelia-smtp", "secret": {"secretName": "authelia-smtp"}} in values["pod"][
        "extraVolumes"
    ]
    # nothing secret in the tree: the password only exists in Vault
    assert not any(
        "password: " in text and "authelia/smtp" in text
        for text in files.values()
        if "kind: Secret\n" in text
    )


def test_smtp_egress_is_allowed_on_its_port(homelab_from) -> None:
    homelab = _with_smtp(homelab_from, **SMTP, security="tls")
    files = render_k8s(homelab)
    assert _configuration(files)["notifier"]["smtp"]["address"] == "submissions://smtp.example.com:465"
    policies = _docs(files, "kubernetes/manifests/authelia/network-policies.yaml")
    internet = next(p for p in policies if p["metadata"]["name"].endswith("-internet"))
    assert internet["spec"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": 465}]


def test_relay_without_login_reads_no_password(homelab_from) -> None:
    homelab = _with_smtp(
        homelab_from, host="10.10.30.5", port=2525, sender="auth@example.com", tls={"server_name": "mail.lan"}
    )
    files = render_k8s(homelab)
    smtp = _configuration(files)["notifier"]["smtp"]
    assert smtp["address"] == "submission://10.10.30.5:2525"
    assert "username" not in smtp
    assert smtp["tls"]["server_name"] == "mail.lan"
    assert all(s.path != "authelia/smtp" for s in homelab.secrets)
    values = _docs(files, "kubernetes/values/authelia.yaml")[0]
    assert PASSWORD_ENV not in {e["name"] for e in values["pod"]["env"]}


def test_docs_say_where_codes_go(example_homelab: Homelab, homelab_from) -> None:
    default = render_all(example_homelab, ["docs"])["docs/ARCHITECTURE.md"]
    assert "kubectl -n authelia exec deploy/authelia -- cat /config/notification.txt" in default
    mailed = render_all(_with_smtp(homelab_from, **SMTP), ["docs"])["docs/ARCHITECTURE.md"]
    assert "e-mailed through `submission://smtp.example.com:587`" in mailed
    assert "| `homelab/authelia/smtp` | password | authelia | provided by you" in mailed


def test_sender_with_a_display_name_is_refused(homelab_from) -> None:
    data = example_data()
    data["services"]["authelia"]["smtp"] = {**SMTP, "sender": "Homelab <auth@example.com>"}
    with pytest.raises(ConfigError) as caught:
        homelab_from(data)
    assert "services.authelia.smtp.sender" in str(caught.value)


def _authelia_configuration(files: dict[str, str]) -> str:
    for text in files.values():
        for doc in yaml.safe_load_all(text):
            if (
                isinstance(doc, dict)
                and doc.get("kind") == "ConfigMap"
                and doc["metadata"]["name"] == CONFIG_MAP
            ):
                return str(doc["data"][CONFIG_KEY])
    raise AssertionError("no Authelia configuration rendered")


def test_smtp_configuration_passes_authelias_schema(homelab_from) -> None:
    for smtp in (SMTP, {"host": "10.10.30.5", "sender": "auth@example.com", "security": "tls"}):
        homelab = _with_smtp(homelab_from, **smtp)
        configuration = _authelia_configuration(render_k8s(homelab))
        assert "smtp" in configuration, smtp
        assert authelia_problems(configuration) == [], smtp


def _charts_dir() -> Path:
    """Upstream charts: $HOMELAB_CHARTS, else the shared charts ($HOMELAB_SHARED or ../shared)."""
    return Path(os.environ["HOMELAB_CHARTS"]) if "HOMELAB_CHARTS" in os.environ else shared_dir() / "charts"


@pytest.mark.integration
def test_real_chart_mounts_the_password_our_configuration_names(homelab_from, tmp_path: Path) -> None:
    """authelia 0.11.5 rendered by Helm with our values: the env points into a mounted Secret volume,
    and the chart adds no SMTP wiring of its own (the configuration is ours, in our ConfigMap)."""
    helm = need_binary("helm", "Helm 4: see ../shared/charts/README.md, `Helm offline`")
    chart = _charts_dir() / "authelia-0.11.5"
    if not chart.is_dir():
        require_tool(f"chart {chart} missing (set HOMELAB_CHARTS)")
    homelab = _with_smtp(homelab_from, **SMTP)
    values = tmp_path / "authelia.yaml"
    values.write_text(render_k8s(homelab)["kubernetes/values/authelia.yaml"])
    out = subprocess.run(
        [
            helm,
            "template",
            "authelia",
            str(chart),
            "--namespace",
            "authelia",
            "--skip-schema-validation",
            "-f",
            str(values),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    objects = [d for d in yaml.safe_load_all(out) if d]
    (deployment,) = (o for o in objects if o["kind"] == "Deployment")
    assert deployment["metadata"]["name"] == "authelia"  # the docs' kubectl exec target
    pod = deployment["spec"]["template"]["spec"]
    (container,) = (c for c in pod["containers"] if c["name"] == "authelia")
    env = [e for e in container["env"] if e["name"] == PASSWORD_ENV]
    assert env == [{"name": PASSWORD_ENV, "value": "/homelab-secrets/authelia-smtp/password"}]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/homelab-secrets/authelia-smtp"]]["secret"]["secretName"] == "authelia-smtp"
    # the chart's own Secret (it always renders one) carries no SMTP password
    chart_secrets = [o for o in objects if o["kind"] == "Secret"]
    assert not [k for o in chart_secrets for k in (o.get("data") or {}) if "smtp" in k.lower()]
