"""The Kubernetes API, through the official Python client, as plain JSON.

We read and write objects as dicts (they are built as dicts by the renderers and parsed as dicts
by status/drift), so this adapter uses the client's configuration, authentication and transport
but not its generated model classes. Server-side apply finds each kind's REST path by API
discovery, as kubectl does, so any kind (ArgoCD's CRDs included) can be applied.
"""

from __future__ import annotations

import json
import selectors
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import urllib3
from kubernetes import config as kube_config

from homelabeazy.errors import ExternalSystemError
from homelabeazy.ops.probes import failure_text

FIELD_MANAGER = "homelabeazy"


@dataclass(frozen=True)
class ApiResource:
    """A kind's REST name and scope, from discovery."""

    plural: str
    namespaced: bool


def _stream_failure(exc: BaseException) -> str:
    """The WebSocket handshake's own answer ("Handshake status 404 Not Found ..."): the client wraps it
    in an ApiException, and in some releases fails while doing so, leaving it as the context."""
    seen: BaseException | None = exc
    while seen is not None:
        reason = getattr(seen, "reason", None)
        if reason:
            return str(reason).split(" -+-+- ")[0].splitlines()[0]
        seen = seen.__context__
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class KubeApiError(ExternalSystemError):
    """The API server answered an error status; the CLI reports it like any outside failure."""

    def __init__(self, action: str, status: int, reason: str, message: str) -> None:
        self.status = status
        self.reason = reason
        fix = "check the kubeconfig's credentials" if status in (401, 403) else ""
        super().__init__("kubernetes", action, f"HTTP {status} {reason}: {message}".strip(), fix)


@dataclass
class KubeAdapter:
    """A connection to one cluster, from a kubeconfig file."""

    kubeconfig: Path
    timeout: float = 10.0
    _client: Any = None
    _discovery: dict[str, dict[str, ApiResource]] = field(default_factory=dict)

    def _api(self) -> Any:
        if self._client is None:
            try:
                self._client = kube_config.new_client_from_config(config_file=str(self.kubeconfig))
            except Exception as exc:  # the client raises ConfigException, OSError, YAML errors...
                raise ExternalSystemError(
                    "kubernetes",
                    f"reading the kubeconfig {self.kubeconfig}",
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                    "run `homelab up --only configure` to fetch it, or pass --kubeconfig",
                ) from None
        return self._client

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Iterable[tuple[str, str]] = (),
        body: Any = None,
        content_type: str = "application/json",
        raw: bool = False,
    ) -> Any:
        """One API call; returns the decoded JSON answer (or text with `raw`), raises KubeApiError."""
        api = self._api()
        headers = {"Accept": "application/json, */*", "Content-Type": content_type}
        params = list(query)
        # The client's own auth (bearer token or exec plugin; client certificates live in its pool)
        # and its transport, but not its request builder: that changed shape between client
        # releases (param_serialize is 37+ only), and a raw call behaves the same on all of them.
        api.update_params_for_auth(headers, params, ["BearerToken"])
        url = api.configuration.host.rstrip("/") + path + (f"?{urlencode(params)}" if params else "")
        payload = None if body is None else body if isinstance(body, str | bytes) else json.dumps(body)
        try:
            response = api.rest_client.pool_manager.request(
                method,
                url,
                body=payload,
                headers=headers,
                timeout=urllib3.Timeout(total=self.timeout),
                retries=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise ExternalSystemError(
                "kubernetes",
                f"{method} {path}",
                failure_text(exc, self.timeout),
                f"is the cluster up and reachable from here? (kubeconfig {self.kubeconfig})",
            ) from None
        text = response.data.decode("utf-8", "replace") if response.data else ""
        if not 200 <= response.status < 300:
            try:
                message = json.loads(text).get("message", text)
            except (ValueError, AttributeError):
                message = text
            raise KubeApiError(f"{method} {path}", response.status, response.reason or "", str(message)[:200])
        if raw:
            return text
        return json.loads(text) if text else None

    def list_items(self, path: str) -> list[dict[str, Any]]:
        """The `items` of a list endpoint."""
        answer = self.request("GET", path)
        return list(answer.get("items", [])) if isinstance(answer, dict) else []

    def health_check(self, name: str) -> str:
        """One of the API server's readiness checks (`etcd`, ...): `ok`, or what it answered instead.

        The API server answers a failing check with HTTP 500 and the check's own text; anything
        else (unreachable, unauthorised) is an ExternalSystemError like every other request.
        """
        try:
            return str(self.request("GET", f"/readyz/{quote(name)}", raw=True)).strip()
        except KubeApiError as exc:
            if exc.status == 500:
                return exc.answer
            raise

    def service_get(self, namespace: str, service: str, path: str) -> str:
        """GET `path` on a Service through the API server's service proxy (`https:name:port` allowed)."""
        return str(
            self.request(
                "GET",
                f"/api/v1/namespaces/{namespace}/services/{quote(service, safe=':')}/proxy/{path}",
                raw=True,
            )
        )

    def resource(self, api_version: str, kind: str) -> ApiResource:
        """The REST name of `kind` in `api_version`, by discovery (cached per group/version)."""
        if api_version not in self._discovery:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            answer = self.request("GET", base)
            self._discovery[api_version] = {
                r["kind"]: ApiResource(r["name"], bool(r.get("namespaced")))
                for r in answer.get("resources", [])
                if "/" not in r["name"]
            }
        found = self._discovery[api_version].get(kind)
        if found is None:
            raise KubeApiError(
                f"looking up {kind}", 404, "Not Found", f"the server does not serve {kind} in {api_version}"
            )
        return found

    def serves(self, api_version: str, kind: str) -> bool:
        """Whether the API serves `kind` now (fresh discovery: a CRD may have just been installed)."""
        self._discovery.pop(api_version, None)
        try:
            self.resource(api_version, kind)
        except KubeApiError as exc:
            if exc.status == 404:
                self._discovery.pop(api_version, None)
                return False
            raise
        return True

    def object_path(self, manifest: dict[str, Any], default_namespace: str = "default") -> str:
        """The REST path of the object `manifest` describes."""
        api_version = manifest["apiVersion"]
        resource = self.resource(api_version, manifest["kind"])
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        name = manifest["metadata"]["name"]
        if resource.namespaced:
            namespace = manifest["metadata"].get("namespace") or default_namespace
            return f"{base}/namespaces/{namespace}/{resource.plural}/{name}"
        return f"{base}/{resource.plural}/{name}"

    def server_side_apply(
        self, manifests: Iterable[dict[str, Any]], default_namespace: str = "default"
    ) -> int:
        """Server-side apply each manifest (our fields win conflicts); returns how many were applied."""
        count = 0
        for manifest in manifests:
            self.request(
                "PATCH",
                self.object_path(manifest, default_namespace),
                query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
                body=manifest,
                content_type="application/apply-patch+yaml",
            )
            count += 1
        return count

    # ------------------------------------------------------------------ port-forward

    @contextmanager
    def port_forward(self, namespace: str, pod: str, port: int) -> Iterator[int]:
        """A loopback port that reaches `port` inside `pod`, as `kubectl port-forward` does.

        The stream runs through the API server and the kubelet into the pod's own network
        namespace, so NetworkPolicies (which guard the pod's address) do not stand in the way and
        nothing leaves loopback unencrypted on this side. Each connection to the local port opens
        its own stream. The first stream is opened here, so a missing pod or a refused permission
        is an error now, not a reset connection later.
        """
        self._open_stream(namespace, pod, port).close()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        stop = threading.Event()
        accepting = threading.Thread(
            target=self._accept, args=(listener, stop, namespace, pod, port), daemon=True
        )
        accepting.start()
        try:
            yield int(listener.getsockname()[1])
        finally:
            stop.set()
            with suppress(OSError):
                socket.create_connection(listener.getsockname(), timeout=1).close()  # wake accept()
            listener.close()
            accepting.join(5)

    def _open_stream(self, namespace: str, pod: str, port: int) -> Any:
        from kubernetes.client import CoreV1Api  # noqa: PLC0415 - the generated API is heavy
        from kubernetes.stream import portforward  # noqa: PLC0415

        api = CoreV1Api(self._api())
        try:
            return portforward(api.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port))
        except Exception as exc:  # the client wraps every WebSocket failure (and sometimes fails doing so)
            raise ExternalSystemError(
                "kubernetes",
                f"port-forward to {namespace}/{pod}:{port}",
                _stream_failure(exc),
                "is the pod running, and may the kubeconfig's user open pods/portforward?",
            ) from None

    def _accept(
        self, listener: socket.socket, stop: threading.Event, namespace: str, pod: str, port: int
    ) -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if stop.is_set():
                client.close()
                return
            threading.Thread(
                target=self._relay, args=(client, stop, namespace, pod, port), daemon=True
            ).start()

    def _relay(
        self, client: socket.socket, stop: threading.Event, namespace: str, pod: str, port: int
    ) -> None:
        """Copy bytes both ways between a local connection and a fresh stream into the pod."""
        try:
            forward = self._open_stream(namespace, pod, port)
        except ExternalSystemError:
            client.close()
            return
        remote = forward.socket(port)
        remote.setblocking(True)
        pairs = {client.fileno(): (client, remote), remote.fileno(): (remote, client)}
        with selectors.DefaultSelector() as selector:
            for sock, _ in pairs.values():
                selector.register(sock, selectors.EVENT_READ)
            closed = False
            while not closed and not stop.is_set():
                for key, _ in selector.select(timeout=0.5):
                    source, target = pairs[key.fd]
                    try:
                        data = source.recv(65536)
                    except OSError:
                        data = b""
                    if not data:  # either side hung up: the other is done too (HTTP, one request stream)
                        closed = True
                        break
                    with suppress(OSError):
                        target.sendall(data)
        for sock in (client, remote):
            with suppress(OSError):
                sock.close()
        forward.close()
