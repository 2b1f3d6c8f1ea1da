"""A tiny in-memory S3 endpoint on loopback: enough for Terraform's S3 backend (path style).

Lists (always empty of workspaces), GET/HEAD/PUT/DELETE of objects, and a log of every request
so a test can see what Terraform did. Started and stopped by the `fake_s3` fixture.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

EMPTY_LIST = (
    b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<Name>bucket</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>"
    b"<IsTruncated>false</IsTruncated></ListBucketResult>"
)
NO_SUCH_KEY = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code>'
    b"<Message>The specified key does not exist.</Message></Error>"
)


@dataclass
class FakeS3:
    """The server's state: stored objects and the requests seen (method, path, Authorization)."""

    url: str = ""
    objects: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)


@contextmanager
def serve() -> Iterator[FakeS3]:
    """Run the fake on 127.0.0.1 (a free port) for the duration of the block."""
    state = FakeS3()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _reply(self, code: int, body: bytes = b"") -> None:
            self.send_response(code)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _record(self) -> str:
            state.requests.append((self.command, self.path, self.headers.get("Authorization", "")))
            return self.path.split("?", 1)[0]

        def do_GET(self) -> None:
            key = self._record()
            if "list-type=2" in self.path:
                self._reply(200, EMPTY_LIST)
            elif key in state.objects:
                self._reply(200, state.objects[key])
            else:
                self._reply(404, NO_SUCH_KEY)

        do_HEAD = do_GET

        def do_PUT(self) -> None:
            key = self._record()
            state.objects[key] = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._reply(200)

        def do_DELETE(self) -> None:
            state.objects.pop(self._record(), None)
            self._reply(204)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
