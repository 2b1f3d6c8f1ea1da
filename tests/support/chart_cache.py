"""A chart cache for `validate --deep` in tests and CI, assembled from the shared upstream charts.

Layout `<chart>-<version>/`, as `--charts DIR` expects. Every chart of `<shared>/charts` (and of
its `extra/`) is a symlink, except external-secrets 1.1.0: its git tree lacks the CRD templates the
published chart has, because the release generates `templates/crds/*.yaml` from
`deploy/crds/bundle.yaml` (upstream hack/helm.generate.sh). The same generation is done here, in
our own code: one template per CRD, named by its singular name, wrapped in the chart's install
switches (`installCRDs`, and `crds.create<Kind>` for the Cluster* and PushSecret kinds), with the
chart's `crds.annotations` (and cert-manager's CA injection when conversion is on) added to its
annotations.

    python -m tests.support.chart_cache OUTDIR      # what the Makefile runs

Idempotent: files are only (re)written when their content changes, so the mtimes the render cache
keys on stay put.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ESO = "external-secrets-1.1.0"
ESO_BUNDLE = "external-secrets-1.1.0-crds/bundle.yaml"
_ANNOTATIONS = (
    "    {{- with .Values.crds.annotations }}\n"
    "    {{- toYaml . | nindent 4}}\n"
    "    {{- end }}\n"
    "    {{- if and .Values.crds.conversion.enabled .Values.webhook.certManager.enabled "
    ".Values.webhook.certManager.addInjectorAnnotations }}\n"
    '    cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/{{ include "external-secrets.fullname" . }}'
    "-webhook\n"
    "    {{- end }}\n"
)


def shared_dir() -> Path:
    """`$HOMELAB_SHARED`, else `../shared` beside this checkout."""
    env = os.environ.get("HOMELAB_SHARED")
    return Path(env) if env else REPO.parent / "shared"


def _write(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _link(target: Path, link: Path) -> None:
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)
    link.symlink_to(target, target_is_directory=True)


def crd_templates(bundle: str) -> dict[str, str]:
    """`templates/crds/<singular>.yaml` -> template text, for every CRD of the bundle."""
    out: dict[str, str] = {}
    for chunk in re.split(r"^---[ \t]*$", bundle, flags=re.MULTILINE):
        doc = yaml.safe_load(chunk)
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            continue
        names = doc["spec"]["names"]
        flag = f"create{names['kind']}"
        if "Cluster" in flag or "PushSecret" in flag:
            guard = f"{{{{- if and (.Values.installCRDs) (.Values.crds.{flag}) }}}}\n"
        else:
            guard = "{{- if .Values.installCRDs }}\n"
        body = chunk.strip("\n") + "\n"
        body = re.sub(r"^(  annotations:\n)", lambda m: m.group(1) + _ANNOTATIONS, body, count=1, flags=re.M)
        body = body.replace("name: kubernetes", 'name: {{ include "external-secrets.fullname" . }}-webhook')
        body = body.replace("namespace: default", "namespace: {{ .Release.Namespace | quote }}")
        out[f"templates/crds/{names['singular']}.yaml"] = guard + body + "{{- end }}\n"
    return out


def _external_secrets(charts: Path, out: Path) -> None:
    target = out / ESO
    if target.is_symlink():
        target.unlink()
    shutil.copytree(charts / ESO, target, symlinks=True, dirs_exist_ok=True, copy_function=_copy_if_changed)
    bundle = (charts / ESO_BUNDLE).read_text(encoding="utf-8")
    for rel, text in crd_templates(bundle).items():
        _write(target / rel, text)


def _missing_dependencies(chart: Path) -> list[tuple[str, str]]:
    """(name, version) of the subcharts Chart.yaml names that `charts/` does not hold unpacked."""
    meta = yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8")) or {}
    missing = []
    for dep in meta.get("dependencies") or ():
        if not (chart / "charts" / str(dep["name"]) / "Chart.yaml").is_file():
            missing.append((str(dep["name"]), str(dep.get("version", ""))))
    return missing


def _overlay(charts: Path, name: str, version: str) -> Path | None:
    """The subchart `<charts>/extra/<name>-<version>`; a version range (`0.12.*`, as Chart.yaml may
    say) takes the newest match. None when the overlay does not hold it."""
    matches = sorted(p for p in (charts / "extra").glob(f"{name}-{version}") if (p / "Chart.yaml").is_file())
    return matches[-1] if matches else None


def unassembled_subcharts(chart: str, shared: Path | None = None) -> list[str]:
    """The subcharts of `<shared>/charts/<chart>` that neither its `charts/` nor the overlay
    `<shared>/charts/extra/` holds: the cache cannot render that chart (Helm refuses it). A chart
    that is not there at all counts as lacking everything (`[chart]`)."""
    charts = (shared or shared_dir()) / "charts"
    folder = charts / chart
    if not (folder / "Chart.yaml").is_file():
        return [chart]
    missing = _missing_dependencies(folder)
    return [name for name, version in missing if _overlay(charts, name, version) is None]


def _with_dependencies(charts: Path, folder: Path, out: Path) -> bool:
    """Assemble a chart whose subcharts are kept apart, in `<shared>/charts/extra/<name>-<version>`
    (kube-prometheus-stack: upstream keeps its fetched subcharts out of git). Returns False when
    the chart needs nothing added (it is linked as it is)."""
    found = [
        (name, path)
        for name, version in _missing_dependencies(folder)
        if (path := _overlay(charts, name, version)) is not None
    ]
    if not found:
        return False
    target = out / folder.name
    if target.is_symlink():
        target.unlink()
    shutil.copytree(folder, target, symlinks=True, dirs_exist_ok=True, copy_function=_copy_if_changed)
    for name, path in found:
        shutil.copytree(
            path, target / "charts" / name, symlinks=True, dirs_exist_ok=True, copy_function=_copy_if_changed
        )
    for sub in (target, *target.rglob("*")):
        sub.chmod(sub.stat().st_mode | 0o200)
    return True


def _copy_if_changed(src: str, dst: str) -> None:
    if Path(dst).exists() and Path(dst).read_bytes() == Path(src).read_bytes():
        return
    shutil.copy2(src, dst)


def build_chart_cache(out: Path, shared: Path | None = None) -> Path:
    """Assemble the cache in `out` (created if needed); returns `out`."""
    charts = (shared or shared_dir()) / "charts"
    if not charts.is_dir():
        raise FileNotFoundError(f"{charts}: no shared chart folder (set HOMELAB_SHARED)")
    out.mkdir(parents=True, exist_ok=True)
    folders = [p for p in charts.iterdir() if (p / "Chart.yaml").is_file()]
    if (charts / "extra").is_dir():
        folders += [p for p in (charts / "extra").iterdir() if (p / "Chart.yaml").is_file()]
    for folder in sorted(folders):
        if folder.name != ESO and not _with_dependencies(charts, folder, out):
            _link(folder.resolve(), out / folder.name)
    _external_secrets(charts, out)
    return out


def main(argv: list[str]) -> int:
    """`python -m tests.support.chart_cache OUTDIR`."""
    if len(argv) != 1:
        print("usage: python -m tests.support.chart_cache OUTDIR", file=sys.stderr)
        return 2
    out = build_chart_cache(Path(argv[0]))
    print(f"chart cache ready in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
