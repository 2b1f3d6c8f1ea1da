"""A small fake Kubernetes API server on loopback, enough for the official Python client.

It keeps objects in memory keyed by REST path, serves lists (also across namespaces:
`/api/v1/pods`), discovery for a few group/versions, create (POST), get, delete, server-side apply
(PATCH application/apply-patch+yaml, recorded), merge patches (what `kubectl cordon` sends),
canned service-proxy answers, the Eviction subresource with the API server's PodDisruptionBudget
rules (tests/support/fake_eviction.py), and pod port-forwarding over the WebSocket channel
protocol to a real server on loopback (`forwards`). Hooks let a test play the controllers:
`before_request` runs before every request (refresh what kubelets and controllers would report),
`on_create`/`on_delete`/`on_patch` after a change (Velero finishing a backup, a StatefulSet
re-creating an evicted pod, the scheduler placing it once its node is uncordoned).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.support.fake_eviction import evict
from tests.support.fake_portforward import serve_portforward

TOKEN = "fake-kube-token"

DISCOVERY: dict[str, list[dict[str, Any]]] = {
    "v1": [
        {"name": "nodes", "kind": "Node", "namespaced": False},
        {"name": "namespaces", "kind": "Namespace", "namespaced": False},
        {"name": "configmaps", "kind": "ConfigMap", "namespaced": True},
        {"name": "secrets", "kind": "Secret", "namespaced": True},
        {"name": "services", "kind": "Service", "namespaced": True},
        {"name": "services/proxy", "kind": "ServiceProxyOptions", "namespaced": True},
    ],
    "apps/v1": [{"name": "deployments", "kind": "Deployment", "namespaced": True}],
    "policy/v1": [{"name": "poddisruptionbudgets", "kind": "PodDisruptionBudget", "namespaced": True}],
    "argoproj.io/v1alpha1": [
        {"name": "applications", "kind": "Application", "namespaced": True},
        {"name": "appprojects", "kind": "AppProject", "namespaced": True},
    ],
    "helm.cattle.io/v1": [{"name": "helmcharts", "kind": "HelmChart", "namespaced": True}],
    "velero.io/v1": [
        {"name": "backups", "kind": "Backup", "namespaced": True},
        {"name": "restores", "kind": "Restore", "namespaced": True},
        {"name": "schedules", "kind": "Schedule", "namespaced": True},
    ],
    "apiextensions.k8s.io/v1": [
        {"name": "customresourcedefinitions", "kind": "CustomResourceDefinition", "namespaced": False}
    ],
}


@dataclass
class FakeKube:
    """State of the fake API server; tests put objects in and read requests out."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    proxy: dict[str, tuple[int, str]] = field(default_factory=dict)
    applied: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    on_create: list[Callable[[str, dict[str, Any]], None]] = field(default_factory=list)
    health: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Answers of the API server's /readyz/<check> endpoints (status, text); unset checks are ok."""
    hidden: set[str] = field(default_factory=set)
    """Group/versions discovery does not serve yet (a CRD not installed); tests reveal them."""
    before_request: list[Callable[[str, str], None]] = field(default_factory=list)
    """(method, path) before each request is answered: a test refreshes what the cluster reports."""
    on_delete: list[Callable[[str, dict[str, Any]], None]] = field(default_factory=list)
    on_patch: list[Callable[[str, dict[str, Any]], None]] = field(default_factory=list)
    forwards: dict[tuple[str, str, int], tuple[str, int]] = field(default_factory=dict)
    """(namespace, pod, port) -> the loopback (host, port) a port-forward to it reaches."""
    timeline: list[tuple[int, str, str]] = field(default_factory=list)
    """(wall-clock ns, method, path) of every request, to order them against other logs."""
    lock: threading.RLock = field(default_factory=threading.RLock)
    port: int = 0

    def put(self, collection: str, obj: dict[str, Any]) -> None:
        """Store `obj` in the collection path (e.g. /api/v1/nodes)."""
        with self.lock:
            self.objects[f"{collection}/{obj['metadata']['name']}"] = obj

    def collection(self, path: str) -> list[dict[str, Any]]:
        """Objects directly under `path`; for `/api/v1/pods` and the like, those of every namespace."""
        prefix = path.rstrip("/") + "/"
        direct = [
            o for p, o in sorted(self.objects.items()) if p.startswith(prefix) and "/" not in p[len(prefix) :]
        ]
        base, _, plural = path.rstrip("/").rpartition("/")
        if direct or "/namespaces/" in path or not plural:
            return direct
        spread = []
        for stored, obj in sorted(self.objects.items()):
            head, _, rest = stored.partition(f"{base}/namespaces/")
            parts = rest.split("/")
            if not head and len(parts) == 3 and parts[1] == plural:
                spread.append(obj)
        return spread

    def get(self, path: str) -> dict[str, Any] | None:
        """The object stored at `path`, if any."""
        with self.lock:
            return self.objects.get(path)

    def delete(self, path: str) -> dict[str, Any] | None:
        """Remove the object at `path` (as the API does) and run the `on_delete` hooks."""
        with self.lock:
            obj = self.objects.pop(path, None)
        if obj is not None:
            for hook in self.on_delete:
                hook(path, obj)
        return obj

    def kubeconfig(self, directory: Path) -> Path:
        """A kubeconfig file pointing the client at this server with a bearer token."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{self.port}"}}],
            "users": [{"name": "fake", "user": {"token": TOKEN}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            "current-context": "fake",
        }
        path = directory / "kubeconfig"
        path.write_text(json.dumps(config))
        path.chmod(0o600)
        return path


def _handler(state: FakeKube) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _status(self, code: int, message: str) -> None:
            self._send(code, {"kind": "Status", "status": "Failure", "message": message, "code": code})

        def _authorised(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._status(401, "Unauthorized")
                return False
            return True

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length", "0"))
            return json.loads(self.rfile.read(length) or b"{}")

        def _begin(self, method: str) -> str:
            path = unquote(urlsplit(self.path).path)
            state.requests.append((method, path))
            state.timeline.append((time.time_ns(), method, path))
            for hook in state.before_request:
                hook(method, path)
            return path

        def do_GET(self) -> None:
            path = self._begin("GET")
            if not self._authorised():
                return
            if path.endswith("/portforward") and self.headers.get("Upgrade", "").lower() == "websocket":
                self._portforward(path)
                return
            if path.startswith("/readyz/"):
                status, text = state.health.get(path.removeprefix("/readyz/"), (200, "ok"))
                self._send(status, text.encode(), "text/plain")
                return
            if "/proxy/" in path:
                status, text = state.proxy.get(path, (503, "no endpoints available for service"))
                self._send(status, text.encode(), "application/json")
                return
            for version, resources in DISCOVERY.items():
                base = "/api/v1" if version == "v1" else f"/apis/{version}"
                if path == base and version in state.hidden:
                    self._status(404, f"{path} not found")
                    return
                if path == base:
                    self._send(
                        200, {"kind": "APIResourceList", "groupVersion": version, "resources": resources}
                    )
                    return
            with state.lock:
                if path in state.objects:
                    self._send(200, state.objects[path])
                    return
                items = state.collection(path)
            if items or path.endswith(("s", "nodes")):
                self._send(200, {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": items})
                return
            self._status(404, f"{path} not found")

        def _portforward(self, path: str) -> None:
            parts = path.strip("/").split("/")  # api v1 namespaces NS pods POD portforward
            ports = parse_qs(urlsplit(self.path).query).get("ports", [""])[0]
            target = state.forwards.get((parts[3], parts[5], int(ports or 0)))
            if target is None:
                self._status(404, f"no port-forward to {parts[3]}/{parts[5]}:{ports}")
                return
            serve_portforward(self, int(ports), target)
            self.close_connection = True

        def do_DELETE(self) -> None:
            path = self._begin("DELETE")
            if not self._authorised():
                return
            if state.delete(path) is None:
                self._status(404, f"{path} not found")
                return
            self._send(200, {"kind": "Status", "status": "Success", "code": 200})

        def do_POST(self) -> None:
            path = self._begin("POST")
            if not self._authorised():
                return
            body = self._body()
            if path.endswith("/eviction"):
                code, message = evict(state, path.removesuffix("/eviction"))
                if code >= 300:
                    self._status(code, message)
                else:
                    self._send(code, {"kind": "Status", "status": "Success", "code": code})
                return
            name = body.get("metadata", {}).get("name")
            if not name:
                self._status(422, "metadata.name is required")
                return
            with state.lock:
                if f"{path}/{name}" in state.objects:
                    self._status(409, f"{name} already exists")
                    return
                state.objects[f"{path}/{name}"] = body
            for hook in state.on_create:
                hook(f"{path}/{name}", body)
            self._send(201, body)

        def do_PATCH(self) -> None:
            parts = urlsplit(self.path)
            path = self._begin("PATCH")
            if not self._authorised():
                return
            content_type = self.headers.get("Content-Type", "")
            body = self._body()
            if content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                with state.lock:
                    current = state.objects.get(path)
                    if current is None:
                        self._status(404, f"{path} not found")
                        return
                    _merge(current, body)
                for hook in state.on_patch:
                    hook(path, current)
                self._send(200, current)
                return
            if content_type != "application/apply-patch+yaml":
                self._status(415, f"unsupported patch type {content_type}")
                return
            with state.lock:
                state.applied.append((path, body, parts.query))
                state.objects[path] = body
            self._send(200, body)

    return Handler


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """A JSON merge patch (RFC 7386): what `kubectl cordon` sends for `spec.unschedulable`."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


class FakeKubeServer:
    """Context manager: start the fake on a free loopback port, stop it on exit."""

    def __init__(self) -> None:
        self.state = FakeKube()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.server.daemon_threads = True
        self.state.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeKube:
        self.thread.start()
        return self.state

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
