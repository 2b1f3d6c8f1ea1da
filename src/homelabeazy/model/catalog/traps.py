"""Small readers of desired objects that the services' health checks share.

A service's known health traps live in its own catalog module; they read what would really be
applied (the DesiredState: chart output and our manifests), never the model, so a value the chart
ignores or a default it keeps is caught as well. This module only saves them from repeating how
to walk a pod template or build a finding (plain field access is converge.selectors').
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from homelabeazy.desired.selectors import as_list, as_map, dig
from homelabeazy.desired.state import DesiredObject, DesiredState, Finding


def health_finding(obj: DesiredObject, service: str, message: str, hint: str = "") -> Finding:
    """A `health` finding about `obj`, pointing at `services.<service>` in homelab.yaml."""
    return Finding(
        check="health",
        message=message,
        file=obj.origin.file,
        object=obj.ident,
        application=obj.origin.application,
        config_path=f"services.{service}",
        hint=hint,
    )


def pod_spec(obj: DesiredObject) -> Mapping[str, Any]:
    """spec.template.spec of a workload (empty when there is none)."""
    return as_map(dig(obj.doc, "spec", "template", "spec"))


def containers(obj: DesiredObject) -> list[Mapping[str, Any]]:
    """The workload's containers."""
    return [c for c in as_list(pod_spec(obj).get("containers")) if isinstance(c, Mapping)]


def env_value(container: Mapping[str, Any], name: str) -> str | None:
    """The literal value of env var `name` in `container`, None when unset or not literal."""
    for var in as_list(container.get("env")):
        if isinstance(var, Mapping) and var.get("name") == name and "value" in var:
            return str(var["value"])
    return None


def replicas(obj: DesiredObject) -> int:
    """spec.replicas of a workload (Kubernetes defaults it to 1)."""
    value = as_map(obj.doc.get("spec")).get("replicas", 1)
    return value if isinstance(value, int) else 1


def config_map_volumes(obj: DesiredObject) -> dict[str, str]:
    """Volume name -> ConfigMap name, for the workload's ConfigMap volumes."""
    result: dict[str, str] = {}
    for volume in as_list(pod_spec(obj).get("volumes")):
        config_map = as_map(as_map(volume).get("configMap"))
        if "name" in config_map:
            result[str(volume["name"])] = str(config_map["name"])
    return result


def config_map_data(state: DesiredState, namespace: str | None, name: str) -> Mapping[str, Any] | None:
    """data of the ConfigMap `namespace/name`, None when the state has no such ConfigMap."""
    found = state.find("ConfigMap", namespace, name)
    return None if found is None else as_map(found.doc.get("data"))


def json_documents(obj: DesiredObject) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(key, object) for each value of a ConfigMap's data that is a JSON object."""
    for key, text in as_map(obj.doc.get("data")).items():
        try:
            value = json.loads(str(text))
        except ValueError:
            continue
        if isinstance(value, Mapping):
            yield str(key), value


def mounted_secret(spec: Mapping[str, Any], container: Mapping[str, Any], path: str) -> str | None:
    """The Secret whose volume `container` mounts at `path` or at a folder above it (where a client
    reads a CA file from), None when no Secret volume is there."""
    volumes = {str(as_map(v).get("name")): as_map(v) for v in as_list(spec.get("volumes"))}
    for mount in (as_map(m) for m in as_list(container.get("volumeMounts"))):
        where = str(mount.get("mountPath", "")).rstrip("/")
        if not where or (path.rstrip("/") != where and not path.startswith(where + "/")):
            continue
        secret = as_map(volumes.get(str(mount.get("name")), {}).get("secret"))
        if secret.get("secretName"):
            return str(secret["secretName"])
    return None
