"""renovate.json: Renovate finds every version pin in `homelab.yaml` and proposes bumps as pull requests.

Why these managers look the way they do:
- The pins live in one YAML file the user edits by hand, in any key order and in block or flow
  style, so each manager is Renovate's JSONata custom manager over the parsed YAML (never a regex
  over lines, which a reordered mapping would silently defeat). Renovate writes an update by
  finding the old value in the file and re-extracting to confirm it changed the right dependency.
- Each query returns complete dependencies (datasource, depName, registryUrl, depType), built here
  from the model and the catalog, so the file names no fact twice.
- One query per manager: Renovate drops all of a manager's results when one of its queries
  matches nothing, and a homelab without apps must still get its K3s updates.
- Only these custom managers are enabled: Renovate's own helm, terraform and ansible-galaxy
  managers would edit the rendered files, which `homelab render` regenerates from homelab.yaml.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from homelabeazy.model import Homelab

CONFIG_FILE = "homelab.yaml"
"""The rendered repository's input, at its root (where `homelab init` puts it)."""
PATH = "renovate.json"
CUSTOM_MANAGER = "custom.jsonata"
RENDER_BOT_NAME = "homelab render"
RENDER_BOT_EMAIL = "homelab-render@users.noreply.homelabeazy.invalid"
"""Author of the commits CI adds to a pull request after re-rendering it. Renovate ignores
commits by this address, so it keeps rebasing its own branches after CI re-rendered them."""

K3S_REPO = "k3s-io/k3s"
K3S_VERSIONING = r"regex:^v(?<major>\d+)\.(?<minor>\d+)\.(?<patch>\d+)\+k3s(?<build>\d+)$"
"""K3s tags are `v1.31.4+k3s1`: semver would ignore the `+k3sN` part (build metadata), yet a new
`k3sN` is a real release of the same Kubernetes version."""


@dataclass(frozen=True)
class DepType:
    """A kind of pin: Renovate's `depType`, which the package rules group and label by."""

    name: str
    description: str


APP = DepType("app-chart", "an app's chart (`apps[].chart`)")
K3S = DepType("k3s", "the K3s version (`cluster.k3s_version`)")


def literal(value: str) -> str:
    """A JSONata string literal (JSONata reads JSON's string escapes)."""
    return json.dumps(value)


def dep_object(fields: dict[str, str]) -> str:
    """A JSONata object constructor: keys are literals, values are JSONata expressions."""
    return "{" + ", ".join(f"{literal(key)}: {expr}" for key, expr in fields.items()) + "}"


def _apps_query() -> str:
    """Every app with a chart: a chart repository (helm datasource) or an OCI registry, whose
    charts Renovate looks up as OCI artifacts (docker datasource, `registry/path/chart`)."""
    helm = dep_object(
        {
            "datasource": literal("helm"),
            "depName": "name",
            "registryUrl": "repo",
            "currentValue": "version",
            "depType": literal(APP.name),
        }
    )
    oci = dep_object(
        {
            "datasource": literal("docker"),
            "depName": '$replace($substringAfter(repo, "oci://"), /\\/+$/, "") & "/" & name',
            "currentValue": "version",
            "depType": literal(APP.name),
        }
    )
    return f'apps[$exists(chart.version)].chart.($substringBefore(repo, "://") = "oci" ? {oci} : {helm})'


def _k3s_query() -> str:
    """`cluster.k3s_version`: K3s releases on GitHub."""
    fields = {
        "datasource": literal("github-releases"),
        "depName": literal(K3S_REPO),
        "currentValue": "k3s_version",
        "versioning": literal(K3S_VERSIONING),
        "depType": literal(K3S.name),
    }
    return f"cluster[$exists(k3s_version)].{dep_object(fields)}"


def _manager(description: str, query: str) -> dict[str, Any]:
    return {
        "customType": "jsonata",
        "description": description,
        "fileFormat": "yaml",
        "fileMatch": [f"^{CONFIG_FILE.replace('.', '[.]')}$"],
        "matchStrings": [query],
    }


def managers(homelab: Homelab) -> list[dict[str, Any]]:
    """One custom manager per kind of pin in homelab.yaml."""
    del homelab  # the pins' shapes are the schema's; later kinds read the catalog through it
    return [
        _manager(f"{CONFIG_FILE}: {APP.description}", _apps_query()),
        _manager(f"{CONFIG_FILE}: {K3S.description}", _k3s_query()),
    ]


def package_rules() -> list[dict[str, Any]]:
    """How updates are grouped: each app on its own (they are yours); K3s one minor at a time."""
    return [
        {
            "description": "K3s supports upgrading one minor version at a time: one pull request per minor.",
            "matchDepTypes": [K3S.name],
            "separateMultipleMinor": True,
            "commitMessageTopic": "K3s",
            "prBodyNotes": [
                "Merging changes `homelab.yaml` only. Roll the cluster onto the new version with "
                "`homelab upgrade k3s --to {{{newVersion}}}` (one node at a time, etcd snapshot first)."
            ],
        },
        {
            "description": "Each app's chart in its own pull request, named after the app's chart.",
            "matchDepTypes": [APP.name],
            "commitMessageTopic": "chart {{depName}}",
        },
    ]


def config(homelab: Homelab) -> dict[str, Any]:
    """The whole renovate.json as data."""
    return {
        "$schema": "https://docs.renovatebot.com/renovate-schema.json",
        "description": [
            f"Generated by homelabeazy from {CONFIG_FILE}: edit {CONFIG_FILE} and re-render instead of "
            "this file.",
            f"Renovate updates only the version pins in {CONFIG_FILE}; every other generated file is derived "
            "from it, so Renovate's own managers are off.",
            "This repository's CI re-renders each pull request (`homelab render`, committed to the pull "
            "request's branch), then checks it (`homelab render --check`, `homelab validate --deep`).",
        ],
        "extends": ["config:recommended"],
        "enabledManagers": [CUSTOM_MANAGER],
        "customManagers": managers(homelab),
        "packageRules": package_rules(),
        "gitIgnoredAuthors": [RENDER_BOT_EMAIL],
    }


def render(homelab: Homelab) -> dict[str, str]:
    """renovate.json at the repository root."""
    return {PATH: json.dumps(config(homelab), indent=2, ensure_ascii=False) + "\n"}
