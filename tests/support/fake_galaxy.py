"""A Galaxy server on loopback serving collection tarballs from one folder: the v3 API paths
`ansible-galaxy collection install` reads (API root, collection, its versions, one version's
metadata with the artifact's SHA-256, the download), so the real client installs offline.

Run as `python -m tests.support.fake_galaxy FOLDER` (inside a network namespace, say): it prints
its URL on the first line of stdout, then serves until killed. Tarballs are named as
`ansible-galaxy collection build` names them: `<namespace>-<name>-<version>.tar.gz`.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tarfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TARBALL = re.compile(r"^(?P<ns>[a-z0-9_]+)-(?P<name>[a-z0-9_]+)-(?P<version>[0-9][^/]*)\.tar\.gz$")


def catalog(folder: Path) -> dict[tuple[str, str], dict[str, Path]]:
    """(namespace, name) -> version -> tarball."""
    found: dict[tuple[str, str], dict[str, Path]] = {}
    for path in sorted(folder.glob("*.tar.gz")):
        match = TARBALL.match(path.name)
        if match is not None:
            found.setdefault((match["ns"], match["name"]), {})[match["version"]] = path
    return found


def dependencies(tarball: Path) -> Any:
    """The collection's own dependencies, from the MANIFEST.json inside its artifact."""
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("MANIFEST.json")
        manifest = json.loads(member.read()) if member is not None else {}
    return manifest.get("collection_info", {}).get("dependencies") or {}


def make_handler(folder: Path) -> type[BaseHTTPRequestHandler]:
    collections = catalog(folder)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            del format, args

        def _json(self, data: Any, status: int = 200) -> None:
            body = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            parts = [p for p in path.split("/") if p]
            if parts == ["api"]:
                return self._json({"available_versions": {"v3": "v3/"}})
            if parts[:1] == ["download"] and len(parts) == 2:
                tarball = folder / parts[1]
                if tarball.is_file() and TARBALL.match(parts[1]):
                    body = tarball.read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/gzip")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return None
                return self._json({"detail": "not found"}, 404)
            if parts[:3] == ["api", "v3", "collections"] and len(parts) >= 5:
                versions = collections.get((parts[3], parts[4]))
                if versions is None:
                    return self._json({"detail": "not found"}, 404)
                base = f"/api/v3/collections/{parts[3]}/{parts[4]}"
                if len(parts) == 5:
                    return self._json({"href": base + "/", "created_at": "", "updated_at": ""})
                if len(parts) == 6 and parts[5] == "versions":
                    data = [{"version": v, "href": f"{base}/versions/{v}/"} for v in versions]
                    return self._json({"meta": {"count": len(data)}, "links": {"next": None}, "data": data})
                if len(parts) == 7 and parts[5] == "versions" and parts[6] in versions:
                    tarball = versions[parts[6]]
                    return self._json(
                        {
                            "href": f"{base}/versions/{parts[6]}/",
                            "namespace": {"name": parts[3]},
                            "collection": {"name": parts[4]},
                            "version": parts[6],
                            "download_url": f"/download/{tarball.name}",
                            "artifact": {
                                "filename": tarball.name,
                                "sha256": hashlib.sha256(tarball.read_bytes()).hexdigest(),
                            },
                            "metadata": {"dependencies": dependencies(tarball)},
                            "signatures": [],
                        }
                    )
            return self._json({"detail": "not found"}, 404)

    return Handler


def main(argv: list[str]) -> int:
    folder = Path(argv[0])
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(folder))
    print(f"http://127.0.0.1:{server.server_address[1]}/", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
