"""A small fake Kubernetes API server on loopback, enough for the official Python client.

It keeps objects in memory keyed by REST path, serves lists, discovery for a few group/versions,
create (POST), get, server-side apply (PATCH application/apply-patch+yaml, recorded), and canned
service-proxy answers. `on_create` hooks let a test play a controller (Velero finishing a backup).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

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
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def put(self, collection: str, obj: dict[str, Any]) -> None:
        """Store `obj` in the collection path (e.g. /api/v1/nodes)."""
        with self.lock:
            self.objects[f"{collection}/{obj['metadata']['name']}"] = obj

    def collection(self, path: str) -> list[dict[str, Any]]:
        """Objects directly under `path`."""
        prefix = path.rstrip("/") + "/"
        return [
            o for p, o in sorted(self.objects.items()) if p.startswith(prefix) and "/" not in p[len(prefix) :]
        ]

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

        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path)
            state.requests.append(("GET", path))
            if not self._authorised():
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

        def do_POST(self) -> None:
            path = unquote(urlsplit(self.path).path)
            state.requests.append(("POST", path))
            if not self._authorised():
                return
            body = self._body()
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
            path = unquote(parts.path)
            state.requests.append(("PATCH", path))
            if not self._authorised():
                return
            content_type = self.headers.get("Content-Type", "")
            body = self._body()
            if content_type != "application/apply-patch+yaml":
                self._status(415, f"unsupported patch type {content_type}")
                return
            with state.lock:
                state.applied.append((path, body, parts.query))
                state.objects[path] = body
            self._send(200, body)

    return Handler


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
