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
- Only these custom managers are enabled: Renovate's own helm, terraform, ansible-galaxy and
  github-actions managers would edit the rendered files, which `homelab render` regenerates from
  homelab.yaml (and `render --check` would then fail, and the CI's re-render refuse to overwrite
  the edit). So the CI workflows' actions are pins in homelab.yaml too (`ci.actions`, a tag and its
  commit in one scalar), found by the one regex manager (see `_actions_manager`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.model.catalog import REGISTRY, ChartPin

CONFIG_FILE = "homelab.yaml"
"""The rendered repository's input, at its root (where `homelab init` puts it)."""
PATH = "renovate.json"
CUSTOM_MANAGERS = ("custom.jsonata", "custom.regex")
RENDER_BOT_NAME = "homelab render"
RENDER_BOT_EMAIL = "homelab-render@users.noreply.homelabeazy.invalid"
"""Author of the commits CI adds to a pull request after re-rendering it. Renovate ignores
commits by this address, so it keeps rebasing its own branches after CI re-rendered them."""

RENOVATE_BRANCH_PREFIX = "renovate/"
"""Renovate's branches (its default, stated): the CI workflows check them through their pull requests."""

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
CORE = DepType("core-chart", "a core service's chart (`services.<service>.version`)")
K3S = DepType("k3s", "the K3s version (`cluster.k3s_version`)")
KUBE_VIP = DepType("kube-vip", "the kube-vip image holding the API VIP (`cluster.kube_vip_version`)")
PROVIDER = DepType("terraform-provider", "the bpg/proxmox Terraform provider (`proxmox.provider_version`)")
COLLECTION = DepType("ansible-collection", "the Ansible collections (`ansible.collections`)")
ACTION = DepType("ci-action", "the actions the CI workflows run (`ci.actions`), by release and commit")

KUBE_VIP_IMAGE = "ghcr.io/kube-vip/kube-vip"
"""The image `cluster.kube_vip_version` tags (the k3s_server role's default; a test keeps them equal)."""
PROVIDER_SOURCE = "bpg/proxmox"
"""The Terraform registry address of the provider `proxmox.provider_version` pins."""


def literal(value: str) -> str:
    """A JSONata string literal (JSONata reads JSON's string escapes)."""
    return json.dumps(value)


def dep_object(fields: dict[str, str]) -> str:
    """A JSONata object constructor: keys are literals, values are JSONata expressions."""
    return "{" + ", ".join(f"{literal(key)}: {expr}" for key, expr in fields.items()) + "}"


def chart_fields(repo: str, name: str) -> dict[str, str]:
    """A chart's datasource and names as JSONata expressions over `repo` and `name` (expressions too):
    a chart repository is Renovate's helm datasource; an OCI registry's charts are OCI artifacts
    (docker datasource, `registry/path/chart`)."""
    oci = f'$substringBefore({repo}, "://") = "oci"'
    image = f'$replace($substringAfter({repo}, "oci://"), /\\/+$/, "") & "/" & {name}'
    return {
        "datasource": f'{oci} ? "docker" : "helm"',
        "depName": f"{oci} ? {image} : {name}",
        "registryUrl": f"$not({oci}) ? {repo}",
    }


def _apps_query() -> str:
    """Every app with a chart, wherever its chart comes from."""
    fields = {**chart_fields("repo", "name"), "currentValue": "version", "depType": literal(APP.name)}
    return f"apps[$exists(chart.version)].chart.{dep_object(fields)}"


def _service_query(key: str, chart: ChartPin) -> str:
    """`services.<key>.version`: the chart and its repository are the catalog's."""
    fields = {
        **chart_fields(literal(chart.repo), literal(chart.name)),
        "currentValue": "version",
        "depType": literal(CORE.name),
    }
    return f"services.{key}[$exists(version)].{dep_object(fields)}"


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


def _kube_vip_query() -> str:
    """`cluster.kube_vip_version`: the tag of the image the API VIP's static pod runs."""
    fields = {
        "datasource": literal("docker"),
        "depName": literal(KUBE_VIP_IMAGE),
        "currentValue": "kube_vip_version",
        "depType": literal(KUBE_VIP.name),
    }
    return f"cluster[$exists(kube_vip_version)].{dep_object(fields)}"


def _provider_query() -> str:
    """`proxmox.provider_version`: the provider on the Terraform registry."""
    fields = {
        "datasource": literal("terraform-provider"),
        "depName": literal(PROVIDER_SOURCE),
        "currentValue": "provider_version",
        "depType": literal(PROVIDER.name),
    }
    return f"proxmox[$exists(provider_version)].{dep_object(fields)}"


def _collections_query() -> str:
    """`ansible.collections`: a mapping of collection name -> version, on Ansible Galaxy."""
    fields = {
        "datasource": literal("galaxy-collection"),
        "depName": "$k",
        "currentValue": "$v",
        "depType": literal(COLLECTION.name),
    }
    return f"$each(ansible.collections, function($v, $k) {{{dep_object(fields)}}})"


ACTION_PATTERN = (
    r"(?<depName>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)[\"']?\s*:\s*[\"']?"
    r"(?<currentValue>v[0-9]+(?:\.[0-9]+){0,2})@(?<currentDigest>[0-9a-f]{40})\b"
)
"""`owner/repo: <tag>@<commit>` of `ci.actions`, quoted or not, block or flow style."""


def _actions_manager() -> dict[str, Any]:
    """`ci.actions`: a regex manager, the one kind whose update rewrites a tag and its commit together.

    Renovate's JSONata managers give an update no string to replace but the version itself, so a
    digest beside it would be left behind (Renovate 39 then reports an update failure). Each pin
    is one scalar (`v4.4.0@<commit>`), so no key order or layout can hide it from the pattern.
    """
    return {
        "customType": "regex",
        "description": f"{CONFIG_FILE}: {ACTION.description}",
        "fileMatch": [f"^{CONFIG_FILE.replace('.', '[.]')}$"],
        "matchStrings": [ACTION_PATTERN],
        "datasourceTemplate": "github-tags",
        "depTypeTemplate": ACTION.name,
    }


def _manager(description: str, query: str) -> dict[str, Any]:
    return {
        "customType": "jsonata",
        "description": description,
        "fileFormat": "yaml",
        "fileMatch": [f"^{CONFIG_FILE.replace('.', '[.]')}$"],
        "matchStrings": [query],
    }


def core_charts(homelab: Homelab) -> list[tuple[str, ChartPin]]:
    """(key under `services:`, catalog chart) of every core service, enabled or not: a disabled one
    may still carry a `version:` in homelab.yaml, ready for the day it is switched on."""
    charts = []
    for key, make in REGISTRY.items():
        chart = make(homelab.config).chart
        if chart is not None:
            charts.append((key, chart))
    return charts


def managers(homelab: Homelab) -> list[dict[str, Any]]:
    """One custom manager per kind of pin in homelab.yaml, one per core service."""
    return [
        _manager(f"{CONFIG_FILE}: {APP.description}", _apps_query()),
        *(
            _manager(
                f"{CONFIG_FILE}: services.{key}.version, chart {chart.name} of {chart.repo}",
                _service_query(key, chart),
            )
            for key, chart in core_charts(homelab)
        ),
        _manager(f"{CONFIG_FILE}: {K3S.description}", _k3s_query()),
        _manager(f"{CONFIG_FILE}: {KUBE_VIP.description}", _kube_vip_query()),
        _manager(f"{CONFIG_FILE}: {PROVIDER.description}", _provider_query()),
        _manager(f"{CONFIG_FILE}: {COLLECTION.description}", _collections_query()),
        _actions_manager(),
    ]


def package_rules() -> list[dict[str, Any]]:
    """How updates are grouped: the core charts' minor and patch releases together (one re-render,
    one deep validation); each major, each app, K3s, kube-vip and the provider on their own."""
    return [
        {
            "description": "Minor and patch releases of the core services' charts in one pull request.",
            "matchDepTypes": [CORE.name],
            "matchUpdateTypes": ["minor", "patch"],
            "groupName": "core service charts",
        },
        {
            "description": "Ahead of homelabeazy's tested pins: CI's deep validation renders the new chart.",
            "matchDepTypes": [CORE.name],
            "prBodyNotes": [
                "homelabeazy is tested with the chart versions its release pins; this moves "
                "`services.<service>.version` past them. CI renders the new chart with your values "
                "through Helm (`homelab validate --deep`) before you merge."
            ],
        },
        {
            "description": "Each app's chart in its own pull request.",
            "matchDepTypes": [APP.name],
            "commitMessageTopic": "chart {{depName}}",
        },
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
            "description": "The Ansible collections the playbooks install, together.",
            "matchDepTypes": [COLLECTION.name],
            "groupName": "Ansible collections",
        },
        {
            "description": "The CI workflows' actions' minor, patch and digest updates together.",
            "matchDepTypes": [ACTION.name],
            "matchUpdateTypes": ["minor", "patch", "digest"],
            "groupName": "CI actions",
        },
        {
            "description": "What a CI action update needs beyond the merge.",
            "matchDepTypes": [ACTION.name],
            "prBodyNotes": [
                "The re-render changes the workflow files: GitHub lets only a token with the `workflows` "
                "permission push them, so set the secret `HOMELAB_CI_TOKEN` to one (or re-render locally). "
                "Forgejo and Gitea runners run these actions with the job container's Node: a major "
                "release that needs a newer Node than the container's fails there."
            ],
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
        "enabledManagers": list(CUSTOM_MANAGERS),
        "branchPrefix": RENOVATE_BRANCH_PREFIX,
        "customManagers": managers(homelab),
        "packageRules": package_rules(),
        "gitIgnoredAuthors": [RENDER_BOT_EMAIL],
    }


def render(homelab: Homelab) -> dict[str, str]:
    """renovate.json at the repository root."""
    return {PATH: json.dumps(config(homelab), indent=2, ensure_ascii=False) + "\n"}
