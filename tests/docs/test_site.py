"""The docs site builds with `mkdocs build --strict`, and a real browser renders its pages.

Integration: MkDocs (the dev extra) builds the site into a temp dir; Debian's headless Chromium
opens the home page, the configuration reference and one guide through an HTTP server this test
starts on 127.0.0.1, dumps each page's DOM and takes a screenshot. Set HOMELAB_DOCS_SCREENSHOTS to
a folder to keep the screenshots (their paths are printed either way).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin

import pytest

from tests.support.docs_reference import ROOT
from tests.support.integration import need_binary, require_tool

pytestmark = pytest.mark.integration

# (URL path, its <h1>, a text the page body must render, screenshot file name)
PAGES = [
    ("", "homelabeazy", "Where to start", "home.png"),
    ("reference/configuration/", "Configuration reference", "services.vault.key_shares", "configuration.png"),
    ("guides/getting-started/", "Getting started", "Bring it up", "getting-started.png"),
]

NAV_LINK = re.compile(
    r'<a href="([^"]*)" class="md-nav__link[^"]*">\s*<span class="md-ellipsis">\s*([^<]*?)\s*<'
)
NAV = {
    "guides/getting-started/": "Getting started",
    "guides/troubleshooting/": "Troubleshooting",
    "reference/configuration/": "Configuration",
    "reference/checks/": "Semantic checks",
    "reference/cli/": "CLI",
}


def mkdocs_build(config: Path, out: Path) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        require_tool("mkdocs-material not installed (pip install -e '.[dev]')")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(config),
            "--site-dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = mkdocs_build(ROOT / "mkdocs.yml", out)
    assert result.returncode == 0, result.stderr
    return out


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves the built site without a log line per request."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_the_site_builds_every_page(site: Path) -> None:
    for page in (
        "index.html",
        "reference/configuration/index.html",
        "reference/checks/index.html",
        "reference/cli/index.html",
        "guides/troubleshooting/index.html",
    ):
        assert (site / page).stat().st_size > 5000, page


def test_a_broken_link_fails_the_strict_build(tmp_path: Path) -> None:
    """--strict is real: a guide linking to a page that does not exist stops the build."""
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    guide = tmp_path / "docs" / "guides" / "operations.md"
    guide.write_text(guide.read_text(encoding="utf-8") + "\nSee [nowhere](nowhere.md).\n", encoding="utf-8")
    result = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "nowhere.md" in result.stderr


def chromium(url: str, screenshot: Path, profile: Path) -> str:
    """The page's DOM after load, and a 1280x900 screenshot of it (headless, loopback only)."""
    binary = need_binary("chromium", "apt-get install chromium")
    result = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--screenshot={screenshot}",
            "--window-size=1280,900",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize(("path", "heading", "body", "shot"), PAGES, ids=[p[3] for p in PAGES])
def test_chromium_renders_the_page(
    server: str, tmp_path: Path, path: str, heading: str, body: str, shot: str
) -> None:
    keep = os.environ.get("HOMELAB_DOCS_SCREENSHOTS")
    folder = Path(keep) if keep else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    screenshot = folder / shot
    dom = chromium(server + path, screenshot, tmp_path / "profile")
    print(f"screenshot: {screenshot}")
    h1 = re.search(r"<h1[^>]*>([^<]*)", dom)
    assert h1 is not None, dom[:500]
    assert h1.group(1).strip() == heading
    assert body in dom
    # Material's navigation rendered: a link for every page of mkdocs.yml's nav, with its title.
    url = server + path
    nav = {urljoin(url, href).removeprefix(server): label for href, label in NAV_LINK.findall(dom)}
    for target, label in NAV.items():
        assert nav.get(target) == label, (target, sorted(nav.items()))
    # A real picture: a PNG well beyond a blank page's size.
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 30_000, len(data)


# --- Mermaid: the diagrams become SVG ----------------------------------------------------------
#
# Material loads Mermaid from a CDN when the page has none, and draws each diagram into a *closed*
# shadow root that --dump-dom cannot see. So this test builds a copy of the site with the pinned
# Mermaid release from the npm registry (cached) as a local script, plus a probe that keeps a
# reference to each shadow root and marks its host with the number of nodes of the SVG drawn there.

MERMAID = "11.17.2"  # the major Material asks the CDN for (mermaid@11)
PROBE = """\
(function () {
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    const root = attach.call(this, init);
    const host = this;
    new MutationObserver(function () {
      const svg = root.querySelector("svg");
      if (svg) host.setAttribute("data-probe-svg-nodes", String(svg.querySelectorAll("g.node").length));
    }).observe(root, { childList: true, subtree: true });
    return root;
  };
})();
"""


def cached_mermaid() -> Path:
    """dist/mermaid.min.js of the pinned release, fetched once with `npm pack` into the cache."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "homelabeazy" / "npm"
    script = cache / f"mermaid-{MERMAID}.min.js"
    if script.is_file():
        return script
    npm = need_binary("npm", "apt-get install npm")
    with tempfile.TemporaryDirectory() as scratch:
        packed = subprocess.run(
            [npm, "pack", f"mermaid@{MERMAID}", "--silent", "--pack-destination", scratch],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if packed.returncode != 0:
            require_tool(
                f"npm pack mermaid@{MERMAID} failed (npm registry unreachable?): {packed.stderr[-500:]}"
            )
        with tarfile.open(Path(scratch) / f"mermaid-{MERMAID}.tgz") as archive:
            member = archive.extractfile("package/dist/mermaid.min.js")
            assert member is not None
            data = member.read()
    cache.mkdir(parents=True, exist_ok=True)
    partial = script.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(script)
    return script


def test_chromium_draws_every_mermaid_diagram_as_svg(tmp_path: Path) -> None:
    binary = need_binary("chromium", "apt-get install chromium")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    assets = tmp_path / "docs" / "assets"
    assets.mkdir()
    shutil.copy(cached_mermaid(), assets / "mermaid.min.js")
    (assets / "probe.js").write_text(PROBE, encoding="utf-8")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    config += "extra_javascript:\n  - assets/mermaid.min.js\n  - assets/probe.js\n"
    (tmp_path / "mkdocs.yml").write_text(config, encoding="utf-8")
    built = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert built.returncode == 0, built.stderr
    guide = (ROOT / "docs" / "guides" / "architecture.md").read_text(encoding="utf-8")
    diagrams = guide.count("```mermaid")
    assert diagrams >= 2
    page = (tmp_path / "site" / "guides" / "architecture" / "index.html").as_uri()
    keep = os.environ.get("HOMELAB_DOCS_SCREENSHOTS")
    screenshot = (Path(keep) if keep else tmp_path) / "architecture.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'p'}",
            "--virtual-time-budget=20000",
            f"--screenshot={screenshot}",
            "--window-size=1280,900",
            "--dump-dom",
            page,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    drawn = [int(n) for n in re.findall(r'data-probe-svg-nodes="(\d+)"', result.stdout)]
    assert len(drawn) == diagrams, result.stdout[-3000:]
    assert all(n >= 5 for n in drawn), drawn
    print(f"screenshot: {screenshot}")
    assert len(screenshot.read_bytes()) > 30_000
