"""`k3s kubectl` for the stand-in K3s of the chroot hosts: the few commands upgrade.yml runs, against
the fake Kubernetes API the test starts on loopback (the chroots share the host's network).

Copied into each host as /var/lib/k3s-standin/kubectl.py and run by the host's python3 (standard
library only). It behaves as kubectl 1.33 does for these commands, with one difference: it never
waits. Where kubectl would retry an eviction the budget refuses (every 5 s until --timeout) or wait
for a node to become Ready, it answers at once with what kubectl prints when the time is up. The
API's address and token are in api.json beside it.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def api(method: str, path: str, body: Any = None, content_type: str = "application/json") -> tuple[int, Any]:
    config = json.loads((HERE / "api.json").read_text())
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{config['url']}{path}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {config['token']}")
    request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 1


def cordon(node: str, unschedulable: bool) -> int:
    status, _ = api(
        "PATCH",
        f"/api/v1/nodes/{node}",
        {"spec": {"unschedulable": unschedulable}},
        "application/strategic-merge-patch+json",
    )
    if status != 200:
        return fail(f'Error from server (NotFound): nodes "{node}" not found')
    print(f"node/{node} {'cordoned' if unschedulable else 'uncordoned'}")
    return 0


def drain(node: str, timeout: str) -> int:
    if cordon(node, True):
        return 1
    _, pods = api("GET", "/api/v1/pods")
    mine = [p for p in pods["items"] if (p.get("spec") or {}).get("nodeName") == node]
    daemons = [
        p for p in mine if any(o.get("kind") == "DaemonSet" for o in p["metadata"].get("ownerReferences", []))
    ]
    if daemons:
        names = ", ".join(f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in daemons)
        print(f"Warning: ignoring DaemonSet-managed Pods: {names}", file=sys.stderr)
    for pod in (p for p in mine if p not in daemons):
        name, namespace = pod["metadata"]["name"], pod["metadata"]["namespace"]
        print(f"evicting pod {namespace}/{name}")
        status, answer = api(
            "POST",
            f"/api/v1/namespaces/{namespace}/pods/{name}/eviction",
            {
                "apiVersion": "policy/v1",
                "kind": "Eviction",
                "metadata": {"name": name, "namespace": namespace},
            },
        )
        if status == 429:
            print(
                f'error when evicting pods/"{name}" -n "{namespace}" (will retry after 5s): '
                + answer["message"],
                file=sys.stderr,
            )
            print(
                f'There are pending pods in node "{node}" when an error occurred: error when evicting '
                f'pods/"{name}" -n "{namespace}": global timeout reached: {timeout}',
                file=sys.stderr,
            )
            return fail(
                f'error: unable to drain node "{node}" due to error: global timeout reached: {timeout}'
            )
        if status >= 300:
            return fail(f'error when evicting pods/"{name}" -n "{namespace}": {answer["message"]}')
        print(f"pod/{name} evicted")
    print(f"node/{node} drained")
    return 0


def main(args: list[str]) -> int:
    if args[:1] != ["kubectl"] or len(args) < 3:
        return fail(f"stand-in kubectl: unsupported: {' '.join(args)}")
    command, rest = args[1], args[2:]
    if command == "drain":
        timeout = next((a.split("=", 1)[1] for a in rest if a.startswith("--timeout=")), "0s")
        return drain(rest[0], timeout)
    if command in ("cordon", "uncordon"):
        return cordon(rest[0], command == "cordon")
    if command == "get" and rest[0] == "node":
        status, node = api("GET", f"/api/v1/nodes/{rest[1]}")
        if status != 200:
            return fail(f'Error from server (NotFound): nodes "{rest[1]}" not found')
        print("true" if (node.get("spec") or {}).get("unschedulable") else "", end="")
        return 0
    if command == "wait":
        name = next(a for a in rest if a.startswith("node/")).removeprefix("node/")
        _, node = api("GET", f"/api/v1/nodes/{name}")
        conditions = (node.get("status") or {}).get("conditions") or []
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
            print(f"node/{name} condition met")
            return 0
        return fail(f"error: timed out waiting for the condition on nodes/{name}")
    if command == "delete" and rest[0] == "pod":
        namespace = rest[rest.index("--namespace") + 1]
        name = next(a for a in rest[1:] if not a.startswith("--") and a != namespace)
        status, _ = api("DELETE", f"/api/v1/namespaces/{namespace}/pods/{name}")
        if status != 200:
            return fail(f'Error from server (NotFound): pods "{name}" not found')
        print(f'pod "{name}" deleted')
        return 0
    return fail(f"stand-in kubectl: unsupported: {' '.join(args)}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
