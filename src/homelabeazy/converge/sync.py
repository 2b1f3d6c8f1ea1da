"""When ArgoCD applies an object: its sync position, and how findings locate it.

ArgoCD's root Application applies child Applications wave by wave, waiting for each wave's health
(our Application health customisation makes that wait real). Inside one Application a sync runs
phase by phase (PreSync, Sync, PostSync), inside a phase resource wave by resource wave, and inside
a wave by kind (Namespaces and CRDs first). Helm hooks map onto ArgoCD hooks (`pre-install` ->
PreSync, `post-install` -> PostSync, `helm.sh/hook-weight` -> wave); hooks ArgoCD does not
support (`test`, `pre-delete`, rollback hooks) and `Skip` hooks are never applied during a sync.
What K3s provides exists before anything; what `homelab up` bootstraps exists before ArgoCD syncs.
"""

from __future__ import annotations

from dataclasses import dataclass

from homelabeazy.converge.state import PHASES, Check, DesiredObject, DesiredState, Finding, Phase

HOOK = "argocd.argoproj.io/hook"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
HELM_HOOK = "helm.sh/hook"
HELM_WEIGHT = "helm.sh/hook-weight"

_HELM_PHASES: dict[str, Phase] = {
    "crd-install": "PreSync",
    "pre-install": "PreSync",
    "pre-upgrade": "PreSync",
    "post-install": "PostSync",
    "post-upgrade": "PostSync",
}
_STAGES = {"cluster": 0, "bootstrap": 1}
"""K3s built-ins, then what `homelab up` applies; every ArgoCD Application comes after both."""


def sync_phase(obj: DesiredObject) -> Phase | None:
    """The phase ArgoCD applies `obj` in during a sync, or None when a sync never applies it."""
    hook = obj.annotations.get(HOOK)
    if hook is not None:
        types = [t.strip() for t in str(hook).split(",")]
        return next((p for p in PHASES if p in types), None)
    helm_hook = obj.annotations.get(HELM_HOOK)
    if helm_hook is not None:
        types = [t.strip() for t in str(helm_hook).split(",")]
        found = {_HELM_PHASES[t] for t in types if t in _HELM_PHASES}
        return next((p for p in PHASES if p in found), None)
    return "Sync"


def resource_wave(obj: DesiredObject) -> int:
    """`argocd.argoproj.io/sync-wave`, else the Helm hook weight, else 0 (unparsable counts as 0)."""
    for key in (SYNC_WAVE, HELM_WEIGHT):
        value = obj.annotations.get(key)
        if value is not None:
            try:
                return int(str(value).strip())
            except ValueError:
                return 0
    return 0


@dataclass(frozen=True)
class Position:
    """Where in the whole bring-up an object is applied."""

    stage: int
    """0: K3s built-in, 1: bootstrap, 2: an ArgoCD Application."""
    app_wave: int
    application: str
    phase: int
    wave: int

    @property
    def step(self) -> tuple[int, int]:
        """(phase, resource wave) inside its Application."""
        return (self.phase, self.wave)

    def before(self, other: Position) -> bool:
        """Applied and healthy before `other` is applied: an earlier stage, an earlier Application
        wave, or an earlier (phase, wave) of the same Application. Same-wave Applications race."""
        if self.stage != other.stage:
            return self.stage < other.stage
        if self.stage < 2 or self.application == other.application:
            return self.stage == 2 and self.step < other.step
        return self.app_wave < other.app_wave

    def same_step(self, other: Position) -> bool:
        """Applied in the same step (the bootstrap and K3s count as one step each)."""
        if self.stage != other.stage:
            return False
        return self.stage < 2 or (self.application == other.application and self.step == other.step)

    def not_after(self, other: Position) -> bool:
        """Before `other`, or in its very step (where ArgoCD's kind order decides)."""
        return self.before(other) or self.same_step(other)


def position(obj: DesiredObject) -> Position:
    """The object's position (a never-applied hook gets the last phase; callers skip those)."""
    phase = sync_phase(obj)
    index = PHASES.index(phase) if phase is not None else len(PHASES)
    stage = _STAGES.get(obj.origin.source, 2)
    return Position(stage, obj.origin.wave, obj.origin.application, index, resource_wave(obj))


def applied(state: DesiredState) -> list[DesiredObject]:
    """The objects a sync really applies (hooks ArgoCD skips are left out)."""
    return [o for o in state.objects if sync_phase(o) is not None]


@dataclass(frozen=True)
class Locator:
    """Turns a problem with an object into a finding that names its file, Application and the
    homelab.yaml entry behind it (`services.<name>` or `apps[<i>]`)."""

    state: DesiredState
    apps: tuple[str, ...]
    """Names of the homelab's apps, in homelab.yaml order."""

    def config_path(self, obj: DesiredObject) -> str | None:
        """The dotted homelab.yaml path of the entry whose Application applies `obj`."""
        info = self.state.application(obj.origin.application)
        owner = info.owner if info is not None else None
        if owner is None:
            return None
        if owner in self.apps:
            return f"apps[{self.apps.index(owner)}]"
        return f"services.{owner}"

    def finding(self, check: Check, obj: DesiredObject, message: str, hint: str) -> Finding:
        """A finding about `obj`."""
        return Finding(
            check=check,
            message=message,
            file=obj.origin.file,
            object=obj.ident,
            application=obj.origin.application,
            config_path=self.config_path(obj),
            hint=hint,
        )
