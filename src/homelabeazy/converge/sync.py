"""When ArgoCD applies an object: its sync position, and how findings locate it.

ArgoCD's root Application applies child Applications wave by wave, waiting for each wave's health
(our Application health customisation makes that wait real). Inside one Application a sync runs
phase by phase (PreSync, Sync, PostSync), inside a phase resource wave by resource wave, and inside
a wave by kind (Namespaces and CRDs first); `DesiredObject.phase` and `.resource_wave` say where
gitops-engine puts an object. What K3s provides exists before anything; what `homelab up`
bootstraps (the ArgoCD HelmChart and what its chart renders) exists before ArgoCD syncs.
"""

from __future__ import annotations

from dataclasses import dataclass

from homelabeazy.desired.state import PHASES, Check, DesiredObject, DesiredState, Finding

_STAGES = {"k3s": 0, "bootstrap": 1}
"""K3s built-ins, then what `homelab up` applies; every ArgoCD Application comes after both."""


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
    """The object's position: the first phase it is applied in, and its resource wave."""
    stage = 0 if obj.origin.source == "cluster" else 1 if obj.origin.source == "bootstrap" else 2
    stage = min(stage, _STAGES.get(obj.origin.application, 2))
    return Position(
        stage, obj.origin.wave, obj.origin.application, PHASES.index(obj.phase), obj.resource_wave
    )


def applied(state: DesiredState) -> list[DesiredObject]:
    """The objects a sync really applies (a hand-built state may still hold hooks ArgoCD skips)."""
    return [o for o in state.objects if o.phases]


@dataclass(frozen=True)
class Locator:
    """Turns a problem with an object into a finding that names its file, Application and the
    homelab.yaml entry behind it (`services.<name>` or `apps[<i>]`)."""

    state: DesiredState
    apps: tuple[str, ...]
    """Names of the homelab's apps, in homelab.yaml order."""

    def config_path(self, obj: DesiredObject) -> str | None:
        """The dotted homelab.yaml path of the entry whose Application applies `obj`."""
        return self.config_path_of(obj.origin.application)

    def config_path_of(self, application: str) -> str | None:
        """The dotted homelab.yaml path of the entry behind Application `application`."""
        info = self.state.application(application)
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
