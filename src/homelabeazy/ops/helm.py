"""Helm, the only place that spawns it: `helm template` and `helm pull` into a chart cache.

`validate --deep` renders every chart exactly as ArgoCD's repo server (and K3s' helm-controller)
would, so the proof uses the real template engine, never a re-implementation of it.

Minimum Helm: 3.16 (`--skip-schema-validation` is the newest flag used; `--kube-version`,
`--api-versions`, `--include-crds` and OCI pulls are older). Tested with Helm 4.1.4, whose
`template` and `pull` flags are the same.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.ops.memo import cache_root, read_json, write_json
from homelabeazy.ops.tools import find_tool, parse_version
from homelabeazy.toolchain import HELM_MIN_VERSION

MIN_HELM = HELM_MIN_VERSION
"""`--skip-schema-validation` appeared in Helm 3.16."""
TIMEOUT = 120.0
CACHE_FORMAT = 1
"""Bump when what the render cache stores changes."""


@dataclass(frozen=True)
class Helm:
    """A located Helm binary of a version this module can drive."""

    path: str
    version: tuple[int, ...]


def find_helm() -> Helm:
    """`$HOMELAB_HELM`, else `helm` beside the running Python or on PATH; version checked once."""
    path = os.environ.get("HOMELAB_HELM") or find_tool("helm")
    if not path or not Path(path).exists():
        raise UsageError(
            "helm not found: `validate --deep` renders every chart with Helm "
            f"{'.'.join(map(str, MIN_HELM))}+; install it on PATH or set HOMELAB_HELM"
        )
    done = _run([path, "version", "--short"], "report its version")
    version = parse_version(done.stdout) or (0,)
    if version < MIN_HELM:
        raise UsageError(
            f"{path} is Helm {'.'.join(map(str, version))}; `validate --deep` needs "
            f"{'.'.join(map(str, MIN_HELM))} or newer (--skip-schema-validation)"
        )
    return Helm(path, version)


def _run(argv: list[str], action: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=TIMEOUT, check=False, cwd=cwd, env=_env()
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ExternalSystemError("helm", action, str(exc)) from exc


def _env() -> dict[str, str]:
    # Helm reads no repositories.yaml or plugins for what is done here; keep the user's HOME so
    # registry logins for OCI pulls still work.
    env = dict(os.environ)
    env.setdefault("HELM_NO_PLUGINS", "1")
    return env


# ----------------------------------------------------------------------------- template


@dataclass(frozen=True)
class TemplateRequest:
    """One `helm template` call, with everything ArgoCD would pass."""

    release: str
    chart_dir: Path
    namespace: str
    kube_version: str
    api_versions: tuple[str, ...] = ()
    value_files: tuple[Path, ...] = ()
    set_values: tuple[tuple[str, str, bool], ...] = ()
    """`--set` (or `--set-string` when the flag is true) parameters, in order."""
    include_crds: bool = True
    skip_schema_validation: bool = False
    skip_tests: bool = False


Document = tuple[str, dict[str, Any]]
"""(template path from Helm's `# Source:` comment, the parsed object)."""


@dataclass(frozen=True)
class TemplateResult:
    """The rendered documents, or Helm's error (a failing chart is a finding, not a crash)."""

    request: TemplateRequest
    documents: tuple[Document, ...] = ()
    error: str = ""
    cached: bool = False


def template_argv(helm: Helm, req: TemplateRequest) -> list[str]:
    """The command line; ArgoCD passes the release name, namespace, versions, values the same way."""
    argv = [helm.path, "template", req.release, str(req.chart_dir), "--namespace", req.namespace]
    argv += ["--kube-version", req.kube_version]
    if req.api_versions:
        argv += ["--api-versions", ",".join(req.api_versions)]
    if req.include_crds:
        argv.append("--include-crds")
    if req.skip_schema_validation:
        argv.append("--skip-schema-validation")
    if req.skip_tests:
        argv.append("--skip-tests")
    for path in req.value_files:
        argv += ["--values", str(path)]
    for key, value, force_string in req.set_values:
        argv += ["--set-string" if force_string else "--set", f"{key}={value}"]
    return argv


def template(helm: Helm, req: TemplateRequest, cache: Path | None = None) -> TemplateResult:
    """Render one chart; a non-zero exit comes back as `error` (Helm's own message, trimmed).

    With `cache`, a successful render is kept under a key of everything that decides its output
    (Helm's version, the arguments, the values' contents, the chart's files), so a warm
    `validate --deep` neither runs Helm nor parses YAML for a chart it has seen.
    """
    key = _render_key(helm, req) if cache is not None else ""
    if cache is not None:
        hit = _cache_read(cache / f"{key}.json")
        if hit is not None:
            return TemplateResult(req, hit, cached=True)
    done = _run(template_argv(helm, req), f"template {req.chart_dir.name}")
    if done.returncode != 0:
        lines = [
            ln.strip()
            for ln in done.stderr.splitlines()
            if ln.strip() and not ln.startswith("level=") and not ln.startswith("Use --debug")
        ]
        text = "; ".join(lines) or f"exit {done.returncode}"
        return TemplateResult(req, error=re.sub(r"; Use --debug flag.*$", "", text))
    documents = parse_stream(done.stdout)
    if cache is not None:
        _cache_write(cache / f"{key}.json", documents)
    return TemplateResult(req, documents)


_SOURCE = re.compile(r"^# Source: (.+)$", re.MULTILINE)
_SPLIT = re.compile(r"^---[ \t]*$", re.MULTILINE)


class _KubeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML as the API server reads it: timestamps and binaries stay strings (JSON round-trips)."""


_KubeLoader.add_constructor("tag:yaml.org,2002:timestamp", _KubeLoader.construct_yaml_str)
_KubeLoader.add_constructor("tag:yaml.org,2002:binary", _KubeLoader.construct_yaml_str)
_KubeLoader.add_constructor("tag:yaml.org,2002:value", _KubeLoader.construct_yaml_str)
"""PyYAML resolves a bare `=` (an operator in CRD enums: `enum: [=, !=, =~, !~]`) to YAML 1.1's
`value` type, which it cannot construct; the API server reads a string."""


def load_documents(text: str) -> list[Any]:
    """Every non-empty YAML document of a stream."""
    return [doc for doc in yaml.load_all(text, Loader=_KubeLoader) if doc is not None]


def parse_stream(stream: str) -> tuple[Document, ...]:
    """The documents of a `helm template` stream with the template each came from."""
    return tuple(doc for chunk in _SPLIT.split(stream) for doc in _parse_chunk(chunk))


@cache
def _parse_chunk(chunk: str) -> tuple[Document, ...]:
    """Parsing dominates a cold build (CRDs are megabytes, and a chart rendered again with more API
    versions repeats most documents): each distinct document text is parsed once per process.
    The documents are shared, so nobody may mutate them."""
    source = _SOURCE.search(chunk)
    name = source.group(1) if source else ""
    return tuple((name, doc) for doc in load_documents(chunk) if isinstance(doc, dict))


def _render_key(helm: Helm, req: TemplateRequest) -> str:
    digest = hashlib.sha256()
    parts: list[Any] = [
        CACHE_FORMAT,
        helm.version,
        dataclasses.replace(req, chart_dir=Path(), value_files=()),
    ]
    parts += [hashlib.sha256(p.read_bytes()).hexdigest() for p in req.value_files]
    parts.append(chart_fingerprint(req.chart_dir))
    digest.update(repr(parts).encode())
    return digest.hexdigest()


@cache
def chart_fingerprint(chart_dir: Path) -> str:
    """Every file's path, size and mtime under the chart (a changed chart renders anew)."""
    digest = hashlib.sha256()
    for path in sorted(chart_dir.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(chart_dir)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _cache_read(path: Path) -> tuple[Document, ...] | None:
    data = read_json(path)
    if not isinstance(data, list):
        return None
    return tuple((str(source), doc) for source, doc in data)


def _cache_write(path: Path, documents: tuple[Document, ...]) -> None:
    write_json(path, documents)


def render_cache_dir() -> Path:
    """Where rendered charts are kept between runs (`$XDG_CACHE_HOME/homelabeazy/rendered`)."""
    return cache_root() / "rendered"


# ----------------------------------------------------------------------------- chart cache


def user_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/homelabeazy/charts` (default ~/.cache)."""
    return cache_root() / "charts"


@dataclass(frozen=True)
class ChartCache:
    """Chart folders laid out as `<chart>-<version>/`: a given folder first, then the user's cache.

    `pull` false keeps it offline: a chart in neither folder is an error instead of a download.
    """

    folder: Path | None
    cache: Path
    pull: bool = True

    @classmethod
    def default(cls, charts: Path | None = None) -> ChartCache:
        """`--charts DIR`, else `$HOMELAB_CHARTS`, then the user's cache dir (pulling on a miss)."""
        env = os.environ.get("HOMELAB_CHARTS")
        folder = charts or (Path(env) if env else None)
        if folder is not None and not folder.is_dir():
            raise UsageError(f"{folder}: no such chart folder (--charts / HOMELAB_CHARTS)")
        return cls(folder, user_cache_dir())

    def locate(self, name: str, version: str) -> Path | None:
        """The chart's folder if a cache holds it."""
        for base in (self.folder, self.cache):
            if base is not None and (base / f"{name}-{version}" / "Chart.yaml").is_file():
                return base / f"{name}-{version}"
        return None

    def get(self, helm: Helm | None, repo: str, name: str, version: str) -> Path:
        """The chart's folder, pulled into the user's cache when no folder holds it."""
        found = self.locate(name, version)
        if found is not None:
            return found
        where = f"{self.folder} or {self.cache}" if self.folder else str(self.cache)
        if not self.pull or helm is None:
            raise ExternalSystemError(
                "helm",
                f"find chart {name} {version} from {repo}",
                f"it is not in {where}",
                f"put it there as {name}-{version}/ or allow `helm pull`",
            )
        return pull(helm, repo, name, version, self.cache)


def pull(helm: Helm, repo: str, name: str, version: str, cache: Path) -> Path:
    """`helm pull` the exact version (HTTP repo or `oci://`) and move it into `cache/<name>-<version>`."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"{name}-{version}"
    with tempfile.TemporaryDirectory(dir=cache, prefix=".pull-") as tmp:
        if repo.startswith("oci://"):
            argv = [helm.path, "pull", f"{repo.rstrip('/')}/{name}"]
        else:
            argv = [helm.path, "pull", "--repo", repo, name]
        argv += ["--version", version, "--untar", "--untardir", tmp, "--destination", tmp]
        done = _run(argv, f"pull chart {name} {version} from {repo}")
        if done.returncode != 0:
            raise ExternalSystemError(
                "helm",
                f"pull chart {name} {version} from {repo}",
                done.stderr.strip() or f"exit {done.returncode}",
                f"check the repository and version, or put the chart in --charts DIR as {name}-{version}/",
            )
        unpacked = Path(tmp) / name
        if not (unpacked / "Chart.yaml").is_file():
            raise ExternalSystemError(
                "helm", f"pull chart {name} {version} from {repo}", f"no {name}/Chart.yaml in the download"
            )
        if not target.exists():
            os.replace(unpacked, target)
    if not (target / "Chart.yaml").is_file():  # pragma: no cover - a concurrent half-written cache
        shutil.rmtree(target, ignore_errors=True)
        raise ExternalSystemError("helm", f"cache chart {name} {version}", f"{target} is incomplete")
    return target
