"""The real runners of `homelab up`'s stages, written against small protocols.

Terraform, Ansible and the secrets bootstrap are done by their own adapters (ops/terraform.py,
ops/ansible.py, lifecycle/secrets.py); the stages here only need the narrow protocols below, so
each adapter plugs in with no change to the engine. Until one is wired, `UnwiredAdapter` stands
in and fails the stage with a message saying so — it never pretends to have done the work.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ruamel.yaml import YAML

from homelabeazy.errors import ExternalSystemError, HomelabError
from homelabeazy.lifecycle.doctor import Row as DoctorRow
from homelabeazy.lifecycle.doctor import up_tool_names
from homelabeazy.lifecycle.proxmox_preflight import proxmox_problems
from homelabeazy.lifecycle.stages import StageContext
from homelabeazy.model import Homelab, Node
from homelabeazy.ops.probes import Row
from homelabeazy.ops.proxmox import ProxmoxReader
from homelabeazy.render import render_all, writer

# --- the seams other adapters plug into ----------------------------------------------------------

Progress = Callable[[str], None]
"""Where an adapter reports what it is doing now (the stage's live progress line)."""


def quiet(_text: str) -> None:
    """The default Progress: report nothing."""


class TerraformRunner(Protocol):
    """ops/terraform.py: init + apply (and destroy) in a folder; returns a one-line summary."""

    def apply(self, directory: Path, progress: Progress = quiet) -> str:
        """`terraform init` then `terraform apply` (no prompt); idempotent."""
        ...

    def destroy(self, directory: Path, progress: Progress = quiet) -> str:
        """`terraform destroy` (no prompt)."""
        ...


class AnsibleRunner(Protocol):
    """ops/ansible.py: run a playbook against an inventory; returns a one-line summary (ok/changed)."""

    def run(self, playbook: Path, inventory: Path, progress: Progress = quiet) -> str:
        """Run the playbook; raise ExternalSystemError naming the failed host and task."""
        ...


class SecretsRunner(Protocol):
    """lifecycle/secrets.py: wait for Vault, init/unseal it and seed the secrets; idempotent."""

    def bootstrap(self, progress: Progress = quiet) -> str:
        """Bring Vault to initialised + unsealed + seeded; returns a one-line summary."""
        ...


class KubeClient(Protocol):
    """What bootstrap and sync need of the cluster (ops/kube.KubeAdapter provides it)."""

    def server_side_apply(
        self, manifests: Iterable[dict[str, Any]], default_namespace: str = "default"
    ) -> int:
        """Apply each manifest server-side; returns how many."""
        ...

    def list_items(self, path: str) -> list[dict[str, Any]]:
        """The items of a list endpoint."""
        ...

    def serves(self, api_version: str, kind: str) -> bool:
        """Whether the API serves `kind` in `api_version` right now."""
        ...


@dataclass(frozen=True)
class UnwiredAdapter:
    """Stands in for an adapter not wired into this build; fails loudly, never fakes success."""

    system: str

    def _fail(self, action: str) -> str:
        raise ExternalSystemError(
            self.system,
            action,
            f"no {self.system} adapter is wired into this build of homelab",
            "this stage cannot run yet; run it by hand or use a build that includes the adapter",
        )

    def apply(self, directory: Path, progress: Progress = quiet) -> str:  # noqa: ARG002
        """Fails: no terraform adapter."""
        return self._fail(f"apply in {directory}")

    def destroy(self, directory: Path, progress: Progress = quiet) -> str:  # noqa: ARG002
        """Fails: no terraform adapter."""
        return self._fail(f"destroy in {directory}")

    def run(self, playbook: Path, inventory: Path, progress: Progress = quiet) -> str:  # noqa: ARG002
        """Fails: no ansible adapter."""
        return self._fail(f"running {playbook.name} with {inventory.name}")

    def bootstrap(self, progress: Progress = quiet) -> str:  # noqa: ARG002
        """Fails: no secrets adapter."""
        return self._fail("bootstrapping Vault")


def state_dir(homelab: Homelab) -> Path:
    """This homelab's private files outside the repo, never committed.

    `$HOMELAB_STATE_HOME/<name>`, by default under ~/.config/homelabeazy.
    """
    base = os.environ.get("HOMELAB_STATE_HOME") or str(Path.home() / ".config" / "homelabeazy")
    return Path(base) / homelab.name


def kubeconfig_path(homelab: Homelab) -> Path:
    """Where `configure` leaves the cluster's kubeconfig (in the state folder)."""
    return state_dir(homelab) / "kubeconfig"


def k3s_token_path(homelab: Homelab) -> Path:
    """The K3s join token `configure` made (0600, in the state folder); `secrets` stores it in Vault."""
    return state_dir(homelab) / "k3s-token"


# --- preflight -----------------------------------------------------------------------------------


@dataclass
class PreflightStage:
    """Checks everything the later stages need, and reports every problem at once."""

    tools: Callable[[], list[DoctorRow]]
    """`homelab doctor`'s rows for what `up` runs (lifecycle/doctor.py: decide(..., for_up=True))."""
    proxmox: Callable[[], AbstractContextManager[ProxmoxReader]]
    ls_remote: Callable[[str, str], str]
    render_current: Callable[[StageContext], list[str]]
    argocd_remote: Callable[[StageContext], str] | None = None
    """For `gitops.private`: check the remote with ArgoCD's own credentials instead of the user's
    (lifecycle/repo_access.ArgocdRemoteCheck, which creates the deploy key the first time)."""

    def describe(self, ctx: StageContext) -> str:
        """One line for --dry-run."""
        cfg = ctx.homelab.config
        return (
            f"check {', '.join(up_tool_names())} and the Ansible collections; "
            f"Proxmox API {cfg.proxmox.endpoint}: version and token privileges; "
            f"`render --check`; git ls-remote {cfg.gitops.repo_url} {cfg.gitops.revision}"
            + (" with ArgoCD's own credentials" if cfg.gitops.private else "")
        )

    def run(self, ctx: StageContext) -> str:
        """Run each check; raise one error listing every problem with its fix."""
        problems: list[str] = []
        found: list[str] = []
        ctx.progress("checking the local tools (as `homelab doctor` does)")
        for row in self.tools():
            if row.level == "fail":
                problems.append(row.problem)
            elif row.level == "ok" and row.check in up_tool_names():
                found.append(f"{row.check} {row.version}")
        ctx.progress("checking the Proxmox version and API token")
        proxmox_summary = ""
        try:
            with self.proxmox() as proxmox:
                lacking, proxmox_summary = proxmox_problems(proxmox, ctx.homelab)
            problems += lacking
        except HomelabError as exc:  # unreachable, rejected, or the token variable is not set
            problems.append(str(exc))
        ctx.progress("checking the rendered repo")
        stale = self.render_current(ctx)
        if stale:
            shown = ", ".join(stale[:5]) + (f" and {len(stale) - 5} more" if len(stale) > 5 else "")
            problems.append(f"the repo is out of date with homelab.yaml ({shown}): run `homelab render`")
        gitops = ctx.homelab.config.gitops
        ctx.progress("checking the Git remote")
        remote = f"{gitops.revision} on the remote"
        try:
            if gitops.private and self.argocd_remote is not None:
                remote = self.argocd_remote(ctx)
            else:
                self.ls_remote(gitops.repo_url, gitops.revision)
        except HomelabError as exc:  # refused, unreachable, or the token variable is not set
            problems.append(str(exc))
        if problems:
            raise ExternalSystemError(
                "preflight",
                f"{len(problems)} check(s)",
                "\n  " + "\n  ".join(problems),
                "fix each, then re-run",
            )
        return f"{', '.join(found)}; {proxmox_summary}; repo current; {remote}"


def render_current(ctx: StageContext) -> list[str]:
    """Paths `homelab render` would change in the repo (empty when current)."""
    plan = writer.plan(ctx.repo, render_all(ctx.homelab))
    return [*plan.create, *plan.update, *plan.delete, *plan.conflicts]


# --- provision, configure, secrets: thin over the seams -------------------------------------------


@dataclass
class ProvisionStage:
    """terraform init + apply in terraform/."""

    terraform: TerraformRunner

    def describe(self, ctx: StageContext) -> str:
        """One line for --dry-run."""
        return f"terraform init + apply in {ctx.repo / 'terraform'} ({len(ctx.homelab.nodes)} VMs)"

    def run(self, ctx: StageContext) -> str:
        """Apply; the adapter's summary is the stage's."""
        return self.terraform.apply(ctx.repo / "terraform", ctx.progress)


@dataclass
class ConfigureStage:
    """Ansible site.yml; the playbook fetches the kubeconfig, which we then lock down to 0600."""

    ansible: AnsibleRunner
    kubeconfig: Callable[[Homelab], Path] = kubeconfig_path

    def describe(self, ctx: StageContext) -> str:
        """One line for --dry-run."""
        return (
            f"ansible-playbook site.yml -i inventory.yml in {ctx.repo / 'ansible'}; "
            f"kubeconfig to {self.kubeconfig(ctx.homelab)} (0600)"
        )

    def run(self, ctx: StageContext) -> str:
        """Run the playbook, then insist the kubeconfig arrived and is private."""
        ansible = ctx.repo / "ansible"
        summary = self.ansible.run(ansible / "site.yml", ansible / "inventory.yml", ctx.progress)
        path = self.kubeconfig(ctx.homelab)
        if not path.exists():
            raise ExternalSystemError(
                "ansible",
                "fetching the kubeconfig",
                f"{path} was not written",
                "check the playbook's fetch-kubeconfig task output",
            )
        path.chmod(0o600)
        return f"{summary}; kubeconfig at {path}"


@dataclass
class SecretsStage:
    """Vault init/unseal/seed through the secrets adapter."""

    secrets: SecretsRunner

    def describe(self, ctx: StageContext) -> str:
        """One line for --dry-run."""
        return f"wait for Vault, init/unseal it, seed {len(ctx.homelab.secrets)} secret(s)"

    def run(self, ctx: StageContext) -> str:
        """Delegate; the adapter is idempotent."""
        return self.secrets.bootstrap(ctx.progress)


# --- wait ----------------------------------------------------------------------------------------


@dataclass
class WaitStage:
    """Every node answers SSH and cloud-init has finished, within `timeout` seconds."""

    ssh_up: Callable[[str, int], bool]
    booted: Callable[[str, str, int], bool]
    address: Callable[[Node], tuple[str, int]] = lambda node: (str(node.ip), 22)
    timeout: float = 900.0
    interval: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def describe(self, ctx: StageContext) -> str:
        """One line for --dry-run."""
        return f"wait up to {self.timeout:g}s for SSH and cloud-init on {len(ctx.homelab.nodes)} node(s)"

    def run(self, ctx: StageContext) -> str:
        """Poll every node until all are ready or the deadline passes (naming the laggards)."""
        pending = {n.name: n for n in ctx.homelab.nodes}
        user = ctx.homelab.cluster.ssh_user
        deadline = self.clock() + self.timeout
        waiting: dict[str, str] = {}
        while True:
            for name, node in list(pending.items()):
                host, port = self.address(node)
                if not self.ssh_up(host, port):
                    waiting[name] = "no SSH answer"
                elif not self.booted(user, host, port):
                    waiting[name] = "cloud-init still running"
                else:
                    del pending[name]
                    waiting.pop(name, None)
            ready = len(ctx.homelab.nodes) - len(pending)
            ctx.progress(f"{ready}/{len(ctx.homelab.nodes)} nodes ready")
            if not pending:
                return f"{ready} node(s) answer SSH, cloud-init finished"
            if self.clock() >= deadline:
                lagging = ", ".join(f"{n} ({waiting[n]})" for n in sorted(pending))
                raise ExternalSystemError(
                    "nodes",
                    f"waiting {self.timeout:g}s for SSH and cloud-init",
                    lagging,
                    "check the VM consoles in Proxmox (network, cloud-init logs)",
                )
            self.sleep(self.interval)


# --- bootstrap and sync --------------------------------------------------------------------------

# Namespaces and CRDs before the objects that need them; the root Application last.
_KIND_ORDER = {
    "Namespace": 0,
    "CustomResourceDefinition": 1,
    "HelmChart": 2,
    "AppProject": 8,
    "Application": 9,
}
_ARGOCD_API = "argoproj.io/v1alpha1"


def load_manifests(folder: Path) -> list[dict[str, Any]]:
    """Every YAML document under `folder` (sorted by path), ordered so dependencies come first."""
    yaml = YAML(typ="safe")
    docs: list[dict[str, Any]] = []
    for path in sorted(folder.rglob("*.y*ml")):
        for doc in yaml.load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind"):
                docs.append(doc)
    return sorted(docs, key=lambda d: _KIND_ORDER.get(str(d["kind"]), 5))


@dataclass
class BootstrapStage:
    """ArgoCD (a K3s HelmChart at the pinned version) and the root Application, by server-side apply.

    ArgoCD's objects only exist once helm-controller has installed the chart, so everything else
    is applied first and the Applications only when the API serves their kind.
    """

    kube: Callable[[], KubeClient]
    timeout: float = 600.0
    interval: float = 5.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    repo_secret: Callable[[Homelab], dict[str, Any] | None] = lambda _homelab: None
    """ArgoCD's repository Secret for a private repository (lifecycle/repo_access), else None."""

    def describe(self, ctx: StageContext) -> str:
        """One line for --dry-run."""
        folder = ctx.repo / "kubernetes" / "bootstrap"
        count = len(load_manifests(folder)) if folder.is_dir() else 0
        return f"server-side apply {count} manifest(s) from {folder}"

    def run(self, ctx: StageContext) -> str:
        """Apply the install, wait for ArgoCD's API, then apply the Applications."""
        folder = ctx.repo / "kubernetes" / "bootstrap"
        manifests = load_manifests(folder) if folder.is_dir() else []
        if not manifests:
            raise ExternalSystemError(
                "kubernetes", f"reading {folder}", "no manifests found", "run `homelab render` first"
            )
        argo = [m for m in manifests if str(m.get("apiVersion")) == _ARGOCD_API]
        rest = [m for m in manifests if str(m.get("apiVersion")) != _ARGOCD_API]
        secret = self.repo_secret(ctx.homelab)  # before any change: a missing key fails here
        kube = self.kube()
        ctx.progress(f"applying {len(rest)} manifest(s)")
        count = kube.server_side_apply(rest, default_namespace="argocd")
        if argo or secret is not None:
            # The argocd namespace exists once helm-controller has installed the chart.
            self._wait_for_argocd(ctx, kube)
        if secret is not None:
            ctx.progress("applying ArgoCD's repository credentials")
            count += kube.server_side_apply([secret], default_namespace="argocd")
        if argo:
            count += kube.server_side_apply(argo, default_namespace="argocd")
        summary = f"applied {count} manifest(s) (server-side)"
        if secret is not None:
            meta = secret["metadata"]
            summary += f", ArgoCD's repository credentials as Secret {meta['namespace']}/{meta['name']}"
        return summary

    def _wait_for_argocd(self, ctx: StageContext, kube: KubeClient) -> None:
        deadline = self.clock() + self.timeout
        while not kube.serves(_ARGOCD_API, "Application"):
            if self.clock() >= deadline:
                raise ExternalSystemError(
                    "kubernetes",
                    f"waiting {self.timeout:g}s for ArgoCD's Application API",
                    "argoproj.io/v1alpha1 Application is still not served",
                    "see why the install job failed: `kubectl -n kube-system logs job/helm-install-argocd`",
                )
            ctx.progress("waiting for ArgoCD to be installed (helm-controller)")
            self.sleep(self.interval)


def unready_applications(items: list[dict[str, Any]]) -> list[str]:
    """`name (sync, health)` of every Application not yet Synced and Healthy."""
    lagging = []
    for item in sorted(items, key=lambda i: i.get("metadata", {}).get("name", "")):
        status = item.get("status", {})
        sync = status.get("sync", {}).get("status", "Unknown")
        health = status.get("health", {}).get("status", "Unknown")
        if (sync, health) != ("Synced", "Healthy"):
            lagging.append(f"{item['metadata']['name']} ({sync}, {health})")
    return lagging


@dataclass
class SyncStage:
    """Wait until every ArgoCD Application is Synced and Healthy, showing who is still pending."""

    kube: Callable[[], KubeClient]
    timeout: float = 1800.0
    interval: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    path: str = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications"

    def describe(self, ctx: StageContext) -> str:  # noqa: ARG002 - uniform runner signature
        """One line for --dry-run."""
        return f"wait up to {self.timeout:g}s until every ArgoCD Application is Synced and Healthy"

    def run(self, ctx: StageContext) -> str:
        """Poll the Applications; fail at the deadline naming the ones still pending."""
        client = self.kube()
        deadline = self.clock() + self.timeout
        while True:
            items = client.list_items(self.path)
            lagging = unready_applications(items)
            done = len(items) - len(lagging)
            ctx.progress(
                f"{done}/{len(items)} Synced+Healthy"
                + (f"; waiting: {', '.join(lagging)}" if lagging else "")
            )
            if items and not lagging:
                return f"{len(items)} Application(s) Synced and Healthy"
            if self.clock() >= deadline:
                raise ExternalSystemError(
                    "argocd",
                    f"waiting {self.timeout:g}s for Applications",
                    ", ".join(lagging) or "no Applications exist",
                    "look at them in the ArgoCD UI or `kubectl -n argocd get applications`",
                )
            self.sleep(self.interval)


# --- verify --------------------------------------------------------------------------------------


@dataclass
class VerifyStage:
    """`homelab status`: the stage fails when any layer is not healthy.

    Except the layers in `later`: a homelab `up` just built has no backup yet (the first scheduled
    one comes hours later), so their rows are reported but cannot fail the stage; `homelab status`
    still judges them.
    """

    collect: Callable[[Homelab], list[Row]]
    later: frozenset[str] = frozenset()

    def describe(self, ctx: StageContext) -> str:  # noqa: ARG002 - uniform runner signature
        """One line for --dry-run."""
        return "probe every layer (as `homelab status`)"

    def run(self, ctx: StageContext) -> str:
        """Collect; raise listing the unhealthy rows."""
        rows = self.collect(ctx.homelab)
        unhealthy = [r for r in rows if r.health in ("down", "degraded")]
        bad = [r for r in unhealthy if r.layer not in self.later]
        if bad:
            raise ExternalSystemError(
                "status",
                "verifying the homelab",
                "; ".join(f"{r.layer} {r.name}: {r.detail}" for r in bad[:8]),
                "run `homelab status` for the full table",
            )
        pending = [r for r in unhealthy if r.layer in self.later]
        tail = f"; not yet: {', '.join(f'{r.layer} {r.name}' for r in pending)}" if pending else ""
        return f"{len(rows) - len(pending)} check(s) healthy{tail}"
